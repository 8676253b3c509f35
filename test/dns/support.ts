/**
 * The DNS test table (CoreDNS `test.Case` style: records as zone-file text) and the real-socket
 * clients that run it against the UDP and TCP servers.
 */
import dgram from "node:dgram";
import net from "node:net";
import packet from "dns-packet";
import { type DnsResponse, formatIPv6, formatRecord, ipBytes } from "../../lib/dns/records.js";
import type { SnapshotOptions } from "../../lib/dns/snapshot.js";
import type { Registration } from "../../lib/registration.js";

export const ZONE = "zk.internal.";
export const ZONE_LABELS = ["zk", "internal"];
export const SNAPSHOT_OPTIONS: SnapshotOptions = { zone: ZONE, ttl: 5, serial: 42 };

function reg(r: Partial<Registration> & Pick<Registration, "service" | "id" | "address">) {
  return { port: 8080, ports: {}, metadata: {}, draining: false, ...r } satisfies Registration;
}

/** The registry every table case is asked against. */
export const FIXTURE: Registration[] = [
  reg({
    service: "web.shop",
    id: "web-1",
    address: "10.0.0.5",
    ports: { http: 8080, metrics: 9090 },
    metadata: { instance_status: "UP", version: "1.2" },
  }),
  reg({ service: "web.shop", id: "web-2", address: "10.0.0.6", ports: { http: 8080 }, weight: 5 }),
  reg({ service: "web.shop", id: "web-3", address: "fd00::7" }),
  reg({
    service: "web.shop",
    id: "web-4",
    address: "10.0.0.8",
    metadata: { instance_status: "OUT_OF_SERVICE" },
    draining: true,
  }),
  reg({ service: "api", id: "api-1", address: "10.1.0.1", port: 9000, metadata: { ttl: "30" } }),
  reg({ service: "legacy", id: "legacy-1", address: "Legacy.Example.com", port: 7000 }),
  reg({ service: "bad name", id: "x-1", address: "10.9.0.1" }),
  reg({ service: "api", id: "bad:id", address: "10.1.0.9", port: 9000 }),
];

export interface DnsCase {
  readonly qname: string;
  readonly qtype: string;
  readonly rcode: string;
  readonly answer?: readonly string[];
  readonly ns?: readonly string[];
  readonly extra?: readonly string[];
}

const SOA = "zk.internal. 5 IN SOA ns.zk.internal. hostmaster.zk.internal. 42 3600 600 86400 5";
const WEB1_A = "web-1.web.shop.zk.internal. 5 IN A 10.0.0.5";
const WEB2_A = "web-2.web.shop.zk.internal. 5 IN A 10.0.0.6";
const WEB3_AAAA = "web-3.web.shop.zk.internal. 5 IN AAAA fd00::7";

/** Every row of the contract's DNS table, against FIXTURE. */
export const CASES: readonly DnsCase[] = [
  // <service>.Z A / AAAA: enabled, non-draining instances only (web-4 drains).
  {
    qname: "web.shop.zk.internal.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["web.shop.zk.internal. 5 IN A 10.0.0.5", "web.shop.zk.internal. 5 IN A 10.0.0.6"],
  },
  {
    qname: "web.shop.zk.internal.",
    qtype: "AAAA",
    rcode: "NOERROR",
    answer: ["web.shop.zk.internal. 5 IN AAAA fd00::7"],
  },
  // Case-insensitive matching.
  {
    qname: "WEB.Shop.ZK.internal.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["web.shop.zk.internal. 5 IN A 10.0.0.5", "web.shop.zk.internal. 5 IN A 10.0.0.6"],
  },
  // <service>.Z SRV: 0 <weight> <port> <instance-id>.<service>.Z, addresses in additional.
  {
    qname: "web.shop.zk.internal.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [
      "web.shop.zk.internal. 5 IN SRV 0 1 8080 web-1.web.shop.zk.internal.",
      "web.shop.zk.internal. 5 IN SRV 0 5 8080 web-2.web.shop.zk.internal.",
      "web.shop.zk.internal. 5 IN SRV 0 1 8080 web-3.web.shop.zk.internal.",
    ],
    extra: [WEB1_A, WEB2_A, WEB3_AAAA],
  },
  // _<port-name>._tcp.<service>.Z SRV.
  {
    qname: "_http._tcp.web.shop.zk.internal.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: [
      "_http._tcp.web.shop.zk.internal. 5 IN SRV 0 1 8080 web-1.web.shop.zk.internal.",
      "_http._tcp.web.shop.zk.internal. 5 IN SRV 0 5 8080 web-2.web.shop.zk.internal.",
    ],
    extra: [WEB1_A, WEB2_A],
  },
  {
    qname: "_metrics._tcp.web.shop.zk.internal.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: ["_metrics._tcp.web.shop.zk.internal. 5 IN SRV 0 1 9090 web-1.web.shop.zk.internal."],
    extra: [WEB1_A],
  },
  { qname: "_http._tcp.web.shop.zk.internal.", qtype: "A", rcode: "NOERROR", ns: [SOA] },
  { qname: "_grpc._tcp.web.shop.zk.internal.", qtype: "SRV", rcode: "NXDOMAIN", ns: [SOA] },
  // `_tcp.<service>` is an empty non-terminal when the service has named ports.
  { qname: "_tcp.web.shop.zk.internal.", qtype: "SRV", rcode: "NOERROR", ns: [SOA] },
  // <instance-id>.<service>.Z A / AAAA / TXT.
  { qname: "web-1.web.shop.zk.internal.", qtype: "A", rcode: "NOERROR", answer: [WEB1_A] },
  {
    qname: "web-1.web.shop.zk.internal.",
    qtype: "TXT",
    rcode: "NOERROR",
    answer: ['web-1.web.shop.zk.internal. 5 IN TXT "instance_status=UP" "version=1.2"'],
  },
  { qname: "web-3.web.shop.zk.internal.", qtype: "AAAA", rcode: "NOERROR", answer: [WEB3_AAAA] },
  { qname: "web-3.web.shop.zk.internal.", qtype: "A", rcode: "NOERROR", ns: [SOA] },
  { qname: "web-2.web.shop.zk.internal.", qtype: "TXT", rcode: "NOERROR", ns: [SOA] },
  // A draining instance keeps its own name (clients holding its SRV target still resolve).
  {
    qname: "web-4.web.shop.zk.internal.",
    qtype: "A",
    rcode: "NOERROR",
    answer: ["web-4.web.shop.zk.internal. 5 IN A 10.0.0.8"],
  },
  // Per-service TTL from metadata `ttl`; invalid instance ids are skipped.
  {
    qname: "api.zk.internal.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: ["api.zk.internal. 30 IN SRV 0 1 9000 api-1.api.zk.internal."],
    extra: ["api-1.api.zk.internal. 30 IN A 10.1.0.1"],
  },
  // A hostname address: SRV targets the hostname, no A.
  {
    qname: "legacy.zk.internal.",
    qtype: "SRV",
    rcode: "NOERROR",
    answer: ["legacy.zk.internal. 5 IN SRV 0 1 7000 legacy.example.com."],
  },
  { qname: "legacy.zk.internal.", qtype: "A", rcode: "NOERROR", ns: [SOA] },
  // Z SOA / NS.
  { qname: "zk.internal.", qtype: "SOA", rcode: "NOERROR", answer: [SOA] },
  {
    qname: "zk.internal.",
    qtype: "NS",
    rcode: "NOERROR",
    answer: ["zk.internal. 5 IN NS ns.zk.internal."],
  },
  { qname: "zk.internal.", qtype: "A", rcode: "NOERROR", ns: [SOA] },
  // A name under Z that does not exist: NXDOMAIN, SOA in authority.
  { qname: "nope.zk.internal.", qtype: "A", rcode: "NXDOMAIN", ns: [SOA] },
  { qname: "x.web-1.web.shop.zk.internal.", qtype: "A", rcode: "NXDOMAIN", ns: [SOA] },
  { qname: "bad name.zk.internal.", qtype: "A", rcode: "NXDOMAIN", ns: [SOA] },
  // Empty non-terminal: NOERROR, no answer, SOA (RFC 8020).
  { qname: "shop.zk.internal.", qtype: "A", rcode: "NOERROR", ns: [SOA] },
  // A name with no data of that type.
  { qname: "web.shop.zk.internal.", qtype: "MX", rcode: "NOERROR", ns: [SOA] },
  { qname: "web.shop.zk.internal.", qtype: "TXT", rcode: "NOERROR", ns: [SOA] },
  // Outside Z, including CoreDNS's `. NS` health probe: REFUSED.
  { qname: ".", qtype: "NS", rcode: "REFUSED" },
  { qname: "internal.", qtype: "SOA", rcode: "REFUSED" },
  { qname: "example.com.", qtype: "A", rcode: "REFUSED" },
  { qname: "zk.internal.example.com.", qtype: "A", rcode: "REFUSED" },
];

/** Before the first full read of ZooKeeper. */
export const CASES_WITHOUT_SNAPSHOT: readonly DnsCase[] = [
  { qname: "web.shop.zk.internal.", qtype: "A", rcode: "SERVFAIL" },
  { qname: "zk.internal.", qtype: "SOA", rcode: "SERVFAIL" },
  { qname: ".", qtype: "NS", rcode: "REFUSED" },
];

export interface Rendered {
  rcode: string;
  answer: string[];
  ns: string[];
  extra: string[];
}

/** What a case expects, normalised like `Rendered` (sorted: answer order is not fixed). */
export function expected(c: DnsCase): Rendered {
  return {
    rcode: c.rcode,
    answer: [...(c.answer ?? [])].sort(),
    ns: [...(c.ns ?? [])].sort(),
    extra: [...(c.extra ?? [])].sort(),
  };
}

const RCODE_TEXT: Record<number, string> = {
  0: "NOERROR",
  1: "FORMERR",
  2: "SERVFAIL",
  3: "NXDOMAIN",
  4: "NOTIMP",
  5: "REFUSED",
};

export function renderResponse(r: DnsResponse): Rendered {
  const lines = (rrs: DnsResponse["answer"]) => rrs.map(formatRecord).sort();
  return {
    rcode: RCODE_TEXT[r.rcode] ?? String(r.rcode),
    answer: lines(r.answer),
    ns: lines(r.authority),
    extra: lines(r.additional),
  };
}

type Decoded = ReturnType<typeof packet.decode>;
type DecodedRecord = NonNullable<Decoded["answers"]>[number];

function quote(b: Buffer | string): string {
  let out = '"';
  for (const byte of typeof b === "string" ? Buffer.from(b) : b) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte < 0x20 || byte > 0x7e) out += `\\${byte.toString().padStart(3, "0")}`;
    else out += String.fromCharCode(byte);
  }
  return `${out}"`;
}

const abs = (n: string) => (n === "" || n === "." ? "." : `${n.toLowerCase()}.`);

/** One decoded record as zone-file text; owner names lowercased (case is checked apart). */
export function renderDecoded(rr: DecodedRecord): string | undefined {
  if (rr.type === "OPT") return undefined;
  const head = `${abs(rr.name)} ${rr.ttl} IN ${rr.type}`;
  const d = (rr as { data: unknown }).data;
  switch (rr.type) {
    case "A":
      return `${head} ${d as string}`;
    case "AAAA":
      return `${head} ${formatIPv6(ipBytes(d as string) ?? Buffer.alloc(16))}`;
    case "NS":
      return `${head} ${abs(d as string)}`;
    case "SRV": {
      const s = d as packet.SrvData;
      return `${head} ${s.priority ?? 0} ${s.weight ?? 0} ${s.port} ${abs(s.target)}`;
    }
    case "TXT":
      return `${head} ${(d as Buffer[]).map(quote).join(" ")}`;
    case "SOA": {
      const s = d as packet.SoaData;
      return `${head} ${abs(s.mname)} ${abs(s.rname)} ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`;
    }
    default:
      return `${head} ?`;
  }
}

export function renderPacket(p: Decoded): Rendered {
  const lines = (rrs: Decoded["answers"]) =>
    (rrs ?? [])
      .map(renderDecoded)
      .filter((x): x is string => x !== undefined)
      .sort();
  return {
    rcode: (p as { rcode?: string }).rcode ?? "?",
    answer: lines(p.answers),
    ns: lines(p.authorities),
    extra: lines(p.additionals),
  };
}

export interface QueryOptions {
  id?: number;
  /** Add an OPT advertising this UDP payload size. */
  edns?: number;
  rd?: boolean;
}

export function makeQuery(qname: string, qtype: string, opts: QueryOptions = {}): Buffer {
  return packet.encode({
    type: "query",
    id: opts.id ?? 4242,
    flags: opts.rd === false ? 0 : packet.RECURSION_DESIRED,
    questions: [
      { type: qtype as packet.RecordType, name: qname === "." ? "." : qname.replace(/\.$/, "") },
    ],
    ...(opts.edns !== undefined
      ? { additionals: [{ type: "OPT", name: ".", udpPayloadSize: opts.edns } as packet.Answer] }
      : {}),
  });
}

/** Send one datagram to 127.0.0.1:port and wait for the reply (or reject on timeout). */
export async function udpQuery(port: number, query: Buffer, timeoutMs = 2000): Promise<Buffer> {
  const sock = dgram.createSocket("udp4");
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("UDP query timed out")), timeoutMs);
      sock.on("message", (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      sock.on("error", reject);
      sock.send(query, port, "127.0.0.1");
    });
  } finally {
    sock.close();
  }
}

/** A TCP connection speaking RFC 7766 framing; replies are matched in arrival order. */
export class TcpClient {
  private buffered = Buffer.alloc(0);
  private readonly waiting: ((b: Buffer) => void)[] = [];
  readonly closed: Promise<void>;

  private constructor(private readonly sock: net.Socket) {
    sock.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 2) {
        const len = this.buffered.readUInt16BE(0);
        if (this.buffered.length < 2 + len) break;
        const msg = this.buffered.subarray(2, 2 + len);
        this.buffered = this.buffered.subarray(2 + len);
        this.waiting.shift()?.(msg);
      }
    });
    this.closed = new Promise((resolve) => sock.on("close", () => resolve()));
    sock.on("error", () => {});
  }

  static connect(port: number): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host: "127.0.0.1" }, () => resolve(new TcpClient(sock)));
      sock.once("error", reject);
    });
  }

  /** Write raw bytes (framing is the caller's business). */
  writeRaw(bytes: Buffer): void {
    this.sock.write(bytes);
  }

  /** Promise of the next framed reply. */
  next(timeoutMs = 2000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("TCP reply timed out")), timeoutMs);
      this.waiting.push((b) => {
        clearTimeout(timer);
        resolve(b);
      });
    });
  }

  query(q: Buffer, timeoutMs = 2000): Promise<Buffer> {
    const reply = this.next(timeoutMs);
    this.writeRaw(frame(q));
    return reply;
  }

  close(): void {
    this.sock.destroy();
  }
}

export function frame(q: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(q.length);
  return Buffer.concat([len, q]);
}

export type DecodedReply = Decoded & { id: number; flags: number; rcode: string };

/** dns-packet's decode with the fields tests read made non-optional (rcode as text). */
export function decode(reply: Buffer): DecodedReply {
  const d = packet.decode(reply) as Decoded & { rcode?: string };
  return { ...d, id: d.id ?? -1, flags: d.flags ?? 0, rcode: d.rcode ?? "?" };
}
