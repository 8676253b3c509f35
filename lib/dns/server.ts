/**
 * The DNS listeners: one UDP socket (udp4, or udp6 for an IPv6 listen address) and one TCP
 * server on the same `host:port`, both answering through a `Responder` from memory.
 * TCP follows RFC 7766: 2-byte length framing, several (pipelined) queries per connection,
 * an idle timeout and a connection cap. Junk never throws out of a handler.
 */
import dgram from "node:dgram";
import net from "node:net";
import type { Logger } from "../log.js";
import { silentLogger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { type ListenAddress, parseListenAddress, toListenAddress } from "./listen-address.js";
import { parseZone } from "./names.js";
import { qtypeName, RCODE, rcodeName } from "./records.js";
import { Responder, type SnapshotSource, type Transport } from "./responder.js";
import { errorReply } from "./wire.js";

export interface DnsServerOptions {
  /**
   * `--dns-listen`: `host:port` text or the config's `{host, port}`; the host is an IP literal
   * (IPv6 → udp6). Port 0 picks a free port, the same for UDP and TCP.
   */
  readonly listen: string | { readonly host: string; readonly port: number };
  /** `--zone`, e.g. `zk.internal.` */
  readonly zone: string;
  /** Usually the catalog. */
  readonly source: SnapshotSource;
  readonly metrics?: Pick<Metrics, "dnsQueries" | "dnsLatency">;
  readonly logger?: Logger;
  /** See `ResponderOptions.maxUdpPayload`; default 1232. */
  readonly maxUdpPayload?: number;
  /** Close a TCP connection idle this long. Default 10 s (RFC 7766 suggests seconds). */
  readonly tcpIdleTimeoutMs?: number;
  /** Refuse TCP connections beyond this many. Default 1000. */
  readonly maxTcpConnections?: number;
}

/** Stop reading a TCP client that does not read its replies once this much is queued. */
const TCP_WRITE_HIGH_WATER = 1 << 20;
const QTYPE_LABELS = ["A", "AAAA", "SRV", "TXT", "NS", "SOA", "ANY", "PTR", "MX", "CNAME"];

type Child = { inc(value?: number): void };

/**
 * Query counts by (transport, qtype, rcode), kept in plain numbers on the hot path and added
 * to the Prometheus counter once a second (and on close): a labelled `inc()` per query cost
 * more than a tenth of the server's CPU. Scrapes see counts at most a second old.
 */
class QueryCounter {
  private readonly cells = new Map<number, { child: Child; n: number }>();
  constructor(private readonly metrics: DnsServerOptions["metrics"]) {}

  count(transport: Transport, qtype: number, rcode: number): void {
    if (!this.metrics) return;
    const key = ((transport === "udp" ? 0 : 1) << 24) | ((rcode + 1) << 17) | (qtype + 1);
    const cell = this.cells.get(key);
    if (cell) {
      cell.n++;
      return;
    }
    const name = qtype < 0 ? "none" : qtypeName(qtype);
    const child = this.metrics.dnsQueries.labels({
      qtype: QTYPE_LABELS.includes(name) ? name : qtype < 0 ? "none" : "other",
      rcode: rcode < 0 ? "DROPPED" : rcodeName(rcode),
      transport,
    });
    this.cells.set(key, { child, n: 1 });
  }

  flush(): void {
    for (const cell of this.cells.values()) {
      if (cell.n > 0) {
        cell.child.inc(cell.n);
        cell.n = 0;
      }
    }
  }
}

export class DnsServer {
  private readonly address: ListenAddress;
  private readonly responder: Responder;
  private readonly logger: Logger;
  private readonly counter: QueryCounter;
  private readonly latency: Metrics["dnsLatency"] | undefined;
  private readonly idleMs: number;
  private readonly maxConnections: number;
  private udp: dgram.Socket | undefined;
  private tcp: net.Server | undefined;
  private readonly connections = new Set<net.Socket>();
  private udpBound = false;
  private tcpBound = false;
  private errorsLogged = 0;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(options: DnsServerOptions) {
    this.address =
      typeof options.listen === "string"
        ? parseListenAddress(options.listen)
        : toListenAddress(options.listen);
    this.responder = new Responder({
      zone: parseZone(options.zone),
      source: options.source,
      ...(options.maxUdpPayload !== undefined ? { maxUdpPayload: options.maxUdpPayload } : {}),
    });
    this.logger = options.logger ?? silentLogger();
    this.counter = new QueryCounter(options.metrics);
    this.latency = options.metrics?.dnsLatency;
    this.idleMs = options.tcpIdleTimeoutMs ?? 10_000;
    this.maxConnections = options.maxTcpConnections ?? 1000;
  }

  /** True while both the UDP socket and the TCP server are bound (for /readyz). */
  get listening(): boolean {
    return this.udpBound && this.tcpBound;
  }

  /** Push buffered query counts to the Prometheus counter now (they also go once a second). */
  flushMetrics(): void {
    this.counter.flush();
  }

  /** For /readyz: same shape as lib/http's ReadinessPart. */
  readiness(): { readonly ready: boolean; readonly detail?: string } {
    return this.listening
      ? { ready: true }
      : { ready: false, detail: `not listening on ${this.address.host}:${this.address.port}` };
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    const a = this.udp?.address();
    return a ? a.port : this.address.port;
  }

  get host(): string {
    return this.address.host;
  }

  /** Bind UDP then TCP on the same port; rejects (and releases both) if either fails. */
  async start(): Promise<void> {
    if (this.udp || this.tcp) throw new Error("DNS server already started");
    const attempts = this.address.port === 0 ? 5 : 1;
    for (let i = 1; ; i++) {
      try {
        const udpPort = await this.bindUdp(this.address.port);
        await this.bindTcp(udpPort);
        this.logger.info(
          { host: this.address.host, port: udpPort },
          "DNS listening on UDP and TCP",
        );
        this.flushTimer = setInterval(() => this.counter.flush(), 1000);
        this.flushTimer.unref();
        return;
      } catch (err) {
        await this.close();
        // With port 0, UDP's free port may be taken for TCP: try another.
        if (i >= attempts || (err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
      }
    }
  }

  private bindUdp(port: number): Promise<number> {
    const socket = dgram.createSocket({
      type: this.address.family === 6 ? "udp6" : "udp4",
      // Replies go to IP literals: skip dns.lookup and its extra tick per send.
      lookup: (address, _options, callback) =>
        (callback as (e: null, a: string, f: number) => void)(null, address, this.address.family),
    });
    this.udp = socket;
    socket.on("message", (msg, rinfo) => this.onUdp(socket, msg, rinfo));
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      socket.once("error", onError);
      socket.bind(port, this.address.host, () => {
        socket.off("error", onError);
        socket.on("error", (err) => this.logError("UDP socket error", err));
        try {
          socket.setRecvBufferSize(4 << 20);
        } catch {
          // Capped by net.core.rmem_max; the default still works.
        }
        this.udpBound = true;
        resolve(socket.address().port);
      });
    });
  }

  private bindTcp(port: number): Promise<void> {
    const server = net.createServer({ noDelay: true }, (sock) => this.onTcpConnection(sock));
    server.maxConnections = this.maxConnections;
    this.tcp = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port, host: this.address.host, exclusive: true }, () => {
        server.off("error", reject);
        server.on("error", (err) => this.logError("TCP server error", err));
        this.tcpBound = true;
        resolve();
      });
    });
  }

  private onUdp(socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const start = this.latency ? performance.now() : 0;
    const reply = this.answer(msg, "udp");
    if (reply) socket.send(reply, rinfo.port, rinfo.address);
    this.account("udp", start);
  }

  private answer(msg: Buffer, transport: Transport): Buffer | undefined {
    try {
      return this.responder.respond(msg, transport);
    } catch (err) {
      // A bug, not bad input (parse never throws): answer SERVFAIL, keep serving.
      this.logError("DNS answer failed", err);
      this.responder.lastRcode = RCODE.SERVFAIL;
      return msg.length >= 12 ? errorReply(msg, RCODE.SERVFAIL) : undefined;
    }
  }

  private account(transport: Transport, start: number): void {
    this.counter.count(transport, this.responder.lastQtype, this.responder.lastRcode);
    if (this.latency) this.latency.observe((performance.now() - start) / 1000);
  }

  private onTcpConnection(sock: net.Socket): void {
    this.connections.add(sock);
    sock.setTimeout(this.idleMs, () => sock.destroy());
    sock.on("close", () => this.connections.delete(sock));
    sock.on("error", () => {
      // Resets and timeouts are the client's business; the socket closes itself.
    });
    let pending: Buffer | undefined;
    sock.on("data", (chunk: Buffer) => {
      let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      let off = 0;
      sock.cork();
      while (buf.length - off >= 2) {
        const len = buf.readUInt16BE(off);
        if (buf.length - off - 2 < len) break;
        const start = this.latency ? performance.now() : 0;
        const reply = this.answer(buf.subarray(off + 2, off + 2 + len), "tcp");
        off += 2 + len;
        if (reply) {
          const prefix = Buffer.allocUnsafe(2);
          prefix.writeUInt16BE(reply.length, 0);
          sock.write(prefix);
          sock.write(reply);
        }
        this.account("tcp", start);
      }
      sock.uncork();
      buf = buf.subarray(off);
      // Copy a partial frame out so the (possibly large) chunk it sits in can be freed.
      pending = buf.length > 0 ? Buffer.from(buf) : undefined;
      if (sock.writableLength > TCP_WRITE_HIGH_WATER) {
        sock.pause();
        sock.once("drain", () => sock.resume());
      }
    });
  }

  private logError(what: string, err: unknown): void {
    // Bounded: a socket error storm must not become a log storm.
    if (this.errorsLogged++ < 100) this.logger.warn({ err }, what);
  }

  /** Stop listening, drop TCP connections. Safe to call more than once. */
  async close(): Promise<void> {
    clearInterval(this.flushTimer);
    this.counter.flush();
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    this.udpBound = false;
    this.tcpBound = false;
    for (const sock of this.connections) sock.destroy();
    this.connections.clear();
    await Promise.all([
      udp &&
        new Promise<void>((resolve) => {
          try {
            udp.close(() => resolve());
          } catch {
            resolve(); // never bound
          }
        }),
      tcp && new Promise<void>((resolve) => tcp.close(() => resolve())),
    ]);
  }
}
