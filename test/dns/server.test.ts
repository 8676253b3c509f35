/**
 * The same DNS table over real packets to the real UDP and TCP listeners on 127.0.0.1, plus
 * what only the wire shows: ID and question echo, EDNS sizes, truncation, framing.
 */
import dgram from "node:dgram";
import packet from "dns-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DnsServer } from "../../lib/dns/server.js";
import { buildSnapshot, type Snapshot } from "../../lib/dns/snapshot.js";
import { createMetrics } from "../../lib/metrics.js";
import type { Registration } from "../../lib/registration.js";
import {
  CASES,
  CASES_WITHOUT_SNAPSHOT,
  decode,
  expected,
  FIXTURE,
  frame,
  makeQuery,
  renderPacket,
  SNAPSHOT_OPTIONS,
  TcpClient,
  udpQuery,
  ZONE,
} from "./support.js";

const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
const RA = 0x0080;

function many(service: string, n: number): Registration[] {
  return Array.from({ length: n }, (_, i) => ({
    service,
    id: `${service}-${i}`,
    address: `10.2.${i >> 8}.${i & 255}`,
    port: 80,
    ports: {},
    metadata: {},
    draining: false,
  }));
}
/** `mid` overflows 512 bytes but fits 1232; `big` overflows 1232 too. */
const BIG = [...many("mid", 60), ...many("big", 120)];

let current: Snapshot | undefined;
const metrics = createMetrics();
const server = new DnsServer({
  listen: "127.0.0.1:0",
  zone: ZONE,
  source: { current: () => current },
  metrics,
});
let tcp: TcpClient;

beforeAll(async () => {
  await server.start();
  tcp = await TcpClient.connect(server.port);
});
afterAll(async () => {
  tcp.close();
  await server.close();
});

const withSnapshot = buildSnapshot([...FIXTURE, ...BIG], SNAPSHOT_OPTIONS);

describe.each(["udp", "tcp"] as const)("the DNS table over %s", (transport) => {
  const ask = async (q: Buffer) => (transport === "udp" ? udpQuery(server.port, q) : tcp.query(q));

  it.each(CASES_WITHOUT_SNAPSHOT)("before the first read: $qname $qtype → $rcode", async (c) => {
    current = undefined;
    const reply = decode(await ask(makeQuery(c.qname, c.qtype, { edns: 1232 })));
    expect(renderPacket(reply)).toEqual(expected(c));
  });

  it.each(CASES)("$qname $qtype → $rcode", async (c) => {
    current = withSnapshot;
    const id = Math.floor(Math.random() * 65536);
    const raw = await ask(makeQuery(c.qname, c.qtype, { id, edns: 1232 }));
    const reply = decode(raw);
    expect(renderPacket(reply)).toEqual(expected(c));
    expect(reply.id).toBe(id);
    expect(reply.flags & AA).toBe(c.rcode === "REFUSED" ? 0 : AA);
    expect(reply.flags & RA).toBe(0);
    expect(reply.flags & RD).toBe(RD);
    expect(reply.questions).toHaveLength(1);
  });
});

describe("wire behaviour", () => {
  beforeAll(() => {
    current = withSnapshot;
  });

  it("echoes the question exactly as asked, with the case the client chose", async () => {
    const q = makeQuery("wEb.ShOp.Zk.InTeRnAl", "A", { rd: false });
    const raw = await udpQuery(server.port, q);
    // Question bytes identical; RD copied (clear).
    expect(raw.subarray(12, q.length)).toEqual(q.subarray(12));
    expect(raw.readUInt16BE(2) & RD).toBe(0);
    expect(decode(raw).answers).toHaveLength(2);
  });

  it("fits 512 bytes without OPT: drops the additional section, then truncates with TC", async () => {
    const srv = await udpQuery(server.port, makeQuery("web.shop.zk.internal", "SRV"));
    expect(srv.length).toBeLessThanOrEqual(512);
    expect(decode(srv).additionals).toHaveLength(3);

    const big = await udpQuery(server.port, makeQuery("big.zk.internal", "SRV"));
    expect(big.length).toBeLessThanOrEqual(512);
    const decoded = decode(big);
    expect(decoded.flags & TC).toBe(TC);
    expect(decoded.answers).toHaveLength(0);
    expect(decoded.questions?.[0]?.name).toBe("big.zk.internal");

    // 120 A records (12 + 21 + 120 × 16 bytes) do not fit 512 either.
    const a = decode(await udpQuery(server.port, makeQuery("big.zk.internal", "A")));
    expect(a.flags & TC).toBe(TC);
  });

  it("honours the client's EDNS size up to its own limit and echoes an OPT", async () => {
    // 60 A records: 12 + 21 + 60 × 16 = 993 bytes, over 512, within 1232.
    const plain = decode(await udpQuery(server.port, makeQuery("mid.zk.internal", "A")));
    expect(plain.flags & TC).toBe(TC);
    const a = await udpQuery(server.port, makeQuery("mid.zk.internal", "A", { edns: 4096 }));
    const decoded = decode(a);
    expect(decoded.flags & TC).toBe(0);
    expect(decoded.answers).toHaveLength(60);
    const opt = decoded.additionals?.find((r) => r.type === "OPT") as { udpPayloadSize?: number };
    expect(opt?.udpPayloadSize).toBe(1232);
    // A client offering less than 512 still gets 512.
    const tiny = decode(
      await udpQuery(server.port, makeQuery("mid.zk.internal", "A", { edns: 100 })),
    );
    expect(tiny.flags & TC).toBe(TC);
    // 120 A records (1953 bytes) exceed our 1232 cap whatever the client offers.
    const capped = decode(
      await udpQuery(server.port, makeQuery("big.zk.internal", "A", { edns: 4096 })),
    );
    expect(capped.flags & TC).toBe(TC);

    // SRV with addresses exceeds 1232: TC over UDP, whole answer over TCP.
    const srv = decode(
      await udpQuery(server.port, makeQuery("big.zk.internal", "SRV", { edns: 4096 })),
    );
    expect(srv.flags & TC).toBe(TC);
    const full = decode(await tcp.query(makeQuery("big.zk.internal", "SRV", { edns: 4096 })));
    expect(full.flags & TC).toBe(0);
    expect(full.answers).toHaveLength(120);
    expect(full.additionals?.filter((r) => r.type === "A")).toHaveLength(120);
  });

  it("compresses names", async () => {
    const raw = await tcp.query(makeQuery("big.zk.internal", "SRV"));
    // dns-packet re-encodes without compression; ours saves at least the 240 owner names.
    const uncompressed = packet.encode(decode(raw));
    expect(uncompressed.length - raw.length).toBeGreaterThan(240 * "big.zk.internal.".length);
  });

  it("rotates multi-address answers so clients do not all pick the first", async () => {
    const firsts = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = decode(await udpQuery(server.port, makeQuery("web.shop.zk.internal", "A")));
      firsts.add(String((r.answers?.[0] as { data?: string } | undefined)?.data));
    }
    expect(firsts).toEqual(new Set(["10.0.0.5", "10.0.0.6"]));
  });

  it("answers NOTIMP to other opcodes, FORMERR to junk with a header, BADVERS to EDNS 1", async () => {
    const notify = makeQuery("zk.internal", "SOA");
    notify.writeUInt16BE((notify.readUInt16BE(2) & ~0x7800) | (4 << 11), 2);
    expect(decode(await udpQuery(server.port, notify)).rcode).toBe("NOTIMP");

    const two = makeQuery("zk.internal", "SOA", { id: 777 });
    two.writeUInt16BE(2, 4); // QDCOUNT 2
    const formerr = decode(await udpQuery(server.port, two));
    expect(formerr.rcode).toBe("FORMERR");
    expect(formerr.id).toBe(777);

    const v1 = makeQuery("zk.internal", "SOA", { edns: 1232 });
    v1[v1.length - 5] = 1; // OPT version (name, type, class, ext-rcode, *version*, flags, rdlen)
    const badvers = await udpQuery(server.port, v1);
    // Extended rcode 16 = header 0 + OPT high bits 1.
    expect((badvers[3] as number) & 0x0f).toBe(0);
    expect(badvers[badvers.length - 6]).toBe(1);
  });

  it("drops responses and headerless packets without replying", async () => {
    const sock = dgram.createSocket("udp4");
    const got: Buffer[] = [];
    sock.on("message", (m) => got.push(m));
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    const response = makeQuery("zk.internal", "SOA", { id: 1 });
    response[2] = (response[2] as number) | 0x80; // QR
    sock.send(response, server.port, "127.0.0.1");
    sock.send(Buffer.from([1, 2, 3]), server.port, "127.0.0.1");
    // A marker query afterwards: once it is answered, the two before were handled.
    sock.send(makeQuery("zk.internal", "SOA", { id: 2 }), server.port, "127.0.0.1");
    await expect.poll(() => got.length, { timeout: 2000 }).toBe(1);
    expect(decode(got[0] as Buffer).id).toBe(2);
    sock.close();
  });

  it("serves pipelined queries on one TCP connection, split and joined across segments", async () => {
    const client = await TcpClient.connect(server.port);
    const names = ["web.shop", "api", "nope", "legacy", "zk.internal."];
    const queries = names.map((n, i) =>
      makeQuery(n.endsWith(".") ? n : `${n}.zk.internal`, "SRV", { id: 100 + i }),
    );
    const replies = names.map(() => client.next());
    const stream = Buffer.concat(queries.map(frame));
    // Odd-sized slices: frames split mid-length and mid-body, several per segment.
    for (let at = 0; at < stream.length; at += 7) {
      client.writeRaw(stream.subarray(at, at + 7));
      await new Promise((r) => setImmediate(r));
    }
    const decoded = (await Promise.all(replies)).map((r) => decode(r));
    expect(decoded.map((d) => d.id)).toEqual([100, 101, 102, 103, 104]);
    expect(decoded.map((d) => d.rcode)).toEqual([
      "NOERROR",
      "NOERROR",
      "NXDOMAIN",
      "NOERROR",
      "NOERROR",
    ]);
    client.close();
  });

  it("closes idle TCP connections and caps how many are open", async () => {
    const small = new DnsServer({
      listen: "127.0.0.1:0",
      zone: ZONE,
      source: { current: () => withSnapshot },
      tcpIdleTimeoutMs: 200,
      maxTcpConnections: 1,
    });
    await small.start();
    try {
      const first = await TcpClient.connect(small.port);
      expect(decode(await first.query(makeQuery("api.zk.internal", "A"))).rcode).toBe("NOERROR");
      const second = await TcpClient.connect(small.port);
      await second.closed; // over the cap: closed by the server
      await first.closed; // idle: closed after 200 ms
      const third = await TcpClient.connect(small.port);
      expect(decode(await third.query(makeQuery("api.zk.internal", "A"))).rcode).toBe("NOERROR");
      third.close();
    } finally {
      await small.close();
    }
  });

  it("counts queries by type, rcode and transport and observes latency", async () => {
    server.flushMetrics();
    const before = await metrics.registry.getSingleMetricAsString("kzb_dns_queries_total");
    await udpQuery(server.port, makeQuery("api.zk.internal", "SRV"));
    server.flushMetrics();
    const after = await metrics.registry.getSingleMetricAsString("kzb_dns_queries_total");
    const count = (text: string) =>
      Number(
        /kzb_dns_queries_total\{qtype="SRV",rcode="NOERROR",transport="udp"\} (\d+)/.exec(
          text,
        )?.[1] ?? 0,
      );
    expect(count(after)).toBe(count(before) + 1);
    const latency = await metrics.registry.getSingleMetricAsString(
      "kzb_dns_request_duration_seconds",
    );
    expect(latency).toMatch(/kzb_dns_request_duration_seconds_count [1-9]/);
  });

  it("reports listening, and refuses a port already taken", async () => {
    expect(server.listening).toBe(true);
    const clash = new DnsServer({
      listen: `127.0.0.1:${server.port}`,
      zone: ZONE,
      source: { current: () => undefined },
    });
    await expect(clash.start()).rejects.toThrow(/EADDRINUSE/);
    expect(clash.listening).toBe(false);
  });
});

describe("IPv6", () => {
  it("listens on udp6/tcp6 for an IPv6 address from the config's {host, port}", async () => {
    const v6 = new DnsServer({
      listen: { host: "::1", port: 0 },
      zone: ZONE,
      source: { current: () => withSnapshot },
    });
    await v6.start();
    try {
      expect(v6.readiness()).toEqual({ ready: true });
      const { execFile } = await import("node:child_process");
      const out = await new Promise<string>((resolve, reject) =>
        execFile(
          "dig",
          ["@::1", "-p", String(v6.port), "+short", "web-1.web.shop.zk.internal", "A"],
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        ),
      );
      expect(out.trim()).toBe("10.0.0.5");
    } finally {
      await v6.close();
    }
    expect(v6.readiness().ready).toBe(false);
  });
});
