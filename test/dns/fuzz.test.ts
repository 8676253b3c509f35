/**
 * Property test: ≥ 100,000 random and mutated packets over UDP and TCP. The server must never
 * crash, stall or hit an internal error; every reply must decode, come from a query we sent
 * (by ID) and echo that query's question bytes.
 */
import dgram from "node:dgram";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DnsServer } from "../../lib/dns/server.js";
import { buildSnapshot } from "../../lib/dns/snapshot.js";
import { decode, FIXTURE, frame, SNAPSHOT_OPTIONS, TcpClient, udpQuery, ZONE } from "./support.js";

const SEED = Number(process.env.DNS_FUZZ_SEED ?? Date.now() % 2 ** 31);
const UDP_PACKETS = 60_000;
const TCP_PACKETS = 45_000;
const BATCH = 250;

/** mulberry32: small, seedable, good enough to pick mutations. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)] as T,
  };
}
type Rng = ReturnType<typeof prng>;

const NAMES = [
  "web.shop.zk.internal",
  "WEB.shop.ZK.internal",
  "_http._tcp.web.shop.zk.internal",
  "web-1.web.shop.zk.internal",
  "shop.zk.internal",
  "api.zk.internal",
  "zk.internal",
  "nope.zk.internal",
  "",
  "example.com",
  `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(50)}.zk.internal`,
];
const QTYPES = [1, 2, 5, 6, 15, 16, 28, 33, 41, 251, 252, 255, 0, 65535];

function encodeName(name: string): Buffer {
  const parts = name === "" ? [] : name.split(".");
  return Buffer.concat([
    ...parts.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "latin1")])),
    Buffer.from([0]),
  ]);
}

function validQuery(r: Rng): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(r.next() < 0.5 ? 0x0100 : 0, 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(r.pick(QTYPES), 0);
  tail.writeUInt16BE(r.next() < 0.9 ? 1 : r.int(65536), 2);
  const parts = [header, encodeName(r.pick(NAMES)), tail];
  if (r.next() < 0.6) {
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(41, 1);
    opt.writeUInt16BE(r.pick([0, 512, 1232, 4096, 65535, r.int(65536)]), 3);
    opt[6] = r.next() < 0.9 ? 0 : r.int(256); // version
    opt.writeUInt16BE(r.next() < 0.5 ? 0x8000 : 0, 7);
    header.writeUInt16BE(1, 10);
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

function mutate(r: Rng, q: Buffer): Buffer {
  let b = Buffer.from(q);
  const rounds = 1 + r.int(3);
  for (let i = 0; i < rounds; i++) {
    switch (r.int(9)) {
      case 0: // flip bits
        if (b.length > 0) b[r.int(b.length)] = (b[r.int(b.length)] as number) ^ (1 << r.int(8));
        break;
      case 1: // overwrite a byte
        if (b.length > 0) b[r.int(b.length)] = r.int(256);
        break;
      case 2: // truncate
        b = b.subarray(0, r.int(b.length + 1));
        break;
      case 3: // append junk
        b = Buffer.concat([b, randomBytes(r, r.int(64))]);
        break;
      case 4: // forged counts (dns-packet would allocate arrays from these)
        if (b.length >= 12) b.writeUInt16BE(r.pick([0, 1, 2, 9, 255, 65535]), 4 + 2 * r.int(4));
        break;
      case 5: // a compression pointer where a label should be
        if (b.length > 14) {
          const at = 12 + r.int(b.length - 13);
          b[at] = 0xc0 | r.int(64);
          b[at + 1] = r.int(256);
        }
        break;
      case 6: // odd label lengths
        if (b.length > 12) b[12 + r.int(Math.min(b.length - 12, 20))] = r.pick([63, 64, 127, 255]);
        break;
      case 7: // random flags/opcode
        if (b.length >= 4) b.writeUInt16BE(r.int(65536) & 0x7fff, 2);
        break;
      case 8: // a second OPT
        b = Buffer.concat([b, Buffer.from([0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0])]);
        if (b.length >= 12) b.writeUInt16BE((b.readUInt16BE(10) + 1) & 0xffff, 10);
        break;
    }
  }
  return b;
}

function randomBytes(r: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = r.int(256);
  return b;
}

/** A packet of one of three kinds, with a unique ID when it has room for one. */
function packetFor(r: Rng, id: number): Buffer {
  const kind = r.next();
  const p =
    kind < 0.2
      ? validQuery(r)
      : kind < 0.85
        ? mutate(r, validQuery(r))
        : randomBytes(r, r.int(600));
  if (p.length >= 2) p.writeUInt16BE(id, 0);
  return p;
}

/** Would the server answer this packet at all (header present, not a response)? */
function expectsReply(p: Buffer): boolean {
  return p.length >= 12 && ((p[2] as number) & 0x80) === 0;
}

/** The question section as sent, if the reply claims to echo one. */
function checkReply(reply: Buffer, sent: Map<number, Buffer>): void {
  const d = decode(reply);
  const query = sent.get(d.id ?? -1);
  if (!query) throw new Error(`reply with unknown id ${d.id}`);
  if (((reply[2] as number) & 0x80) === 0) throw new Error("reply without QR");
  if (reply.readUInt16BE(4) === 1) {
    let end = 12;
    while (reply[end] !== 0) end += (reply[end] as number) + 1;
    end += 5;
    if (!reply.subarray(12, end).equals(query.subarray(12, end))) {
      throw new Error(`reply ${d.id} does not echo the question as asked`);
    }
  }
}

const internalErrors: string[] = [];
const logger = pino(
  { level: "warn" },
  new Writable({
    write(chunk, _enc, cb) {
      internalErrors.push(String(chunk));
      cb();
    },
  }),
);
const server = new DnsServer({
  listen: "127.0.0.1:0",
  zone: ZONE,
  source: { current: () => buildSnapshotOnce() },
  logger,
  tcpIdleTimeoutMs: 500,
});
let snapshot: ReturnType<typeof buildSnapshot> | undefined;
function buildSnapshotOnce() {
  snapshot ??= buildSnapshot(FIXTURE, SNAPSHOT_OPTIONS);
  return snapshot;
}

beforeAll(() => server.start());
afterAll(() => server.close());

/** The server still answers a plain query promptly (retrying: UDP may drop under load). */
async function stillAnswers(): Promise<void> {
  const q = validQueryFixed();
  for (let attempt = 0; ; attempt++) {
    try {
      const r = decode(await udpQuery(server.port, q, 1000));
      expect(r.rcode).toBe("NOERROR");
      return;
    } catch (err) {
      if (attempt >= 4) throw err;
    }
  }
}
function validQueryFixed(): Buffer {
  const b = Buffer.concat([
    Buffer.from([0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]),
    encodeName("api.zk.internal"),
    Buffer.from([0, 1, 0, 1]),
  ]);
  return b;
}

describe(`fuzz (seed ${SEED}; rerun with DNS_FUZZ_SEED=${SEED})`, () => {
  it(`survives ${UDP_PACKETS} random and mutated UDP packets`, async () => {
    const r = prng(SEED);
    const sock = dgram.createSocket("udp4");
    await new Promise<void>((res) => sock.bind(0, "127.0.0.1", () => res()));
    try {
      sock.setRecvBufferSize(4 << 20);
    } catch {
      // capped by the kernel; batches are small enough either way
    }
    let replies = 0;
    let failure: Error | undefined;
    let sent = new Map<number, Buffer>();
    sock.on("message", (msg) => {
      replies++;
      try {
        checkReply(msg, sent);
      } catch (err) {
        failure ??= err as Error;
      }
    });
    const marker = validQueryFixed();
    marker.writeUInt16BE(0, 0);
    for (let done = 0; done < UDP_PACKETS; done += BATCH) {
      // The marker stays known: a retried marker's second reply may arrive in the next batch.
      sent = new Map([[0, marker]]);
      for (let i = 0; i < BATCH; i++) {
        const p = packetFor(r, i + 1);
        if (p.length >= 2) sent.set(i + 1, p);
        sock.send(p, server.port, "127.0.0.1");
      }
      // The marker (ID 0) is answered after the whole batch was read: no stall.
      await new Promise<void>((resolve, reject) => {
        let tries = 0;
        const send = () => sock.send(marker, server.port, "127.0.0.1");
        const timer = setInterval(() => {
          if (++tries > 20) {
            clearInterval(timer);
            reject(new Error(`server stalled after ${done} packets`));
          } else send();
        }, 250);
        const onMsg = (m: Buffer) => {
          if (m.readUInt16BE(0) === 0) {
            clearInterval(timer);
            sock.off("message", onMsg);
            resolve();
          }
        };
        sock.on("message", onMsg);
        send();
      });
      if (failure) throw failure;
    }
    sock.close();
    expect(replies).toBeGreaterThan(UDP_PACKETS / 4);
    expect(internalErrors).toEqual([]);
    await stillAnswers();
  });

  it(`survives ${TCP_PACKETS} framed random and mutated TCP packets, replying to each in order`, async () => {
    const r = prng(SEED ^ 0x5eed);
    const conns = await Promise.all([0, 1, 2].map(() => TcpClient.connect(server.port)));
    for (let done = 0; done < TCP_PACKETS; done += BATCH * 3) {
      await Promise.all(
        conns.map(async (c) => {
          const batch = Array.from({ length: BATCH }, (_, i) => packetFor(r, i + 1));
          const sent = new Map<number, Buffer>();
          const waits: Promise<Buffer>[] = [];
          for (const [i, p] of batch.entries()) {
            if (expectsReply(p)) {
              sent.set(i + 1, p);
              waits.push(c.next(5000));
            }
          }
          c.writeRaw(Buffer.concat(batch.map(frame)));
          const replies = await Promise.all(waits);
          const expectedIds = [...sent.keys()];
          expect(replies.map((x) => x.readUInt16BE(0))).toEqual(expectedIds);
          for (const reply of replies) checkReply(reply, sent);
        }),
      );
    }
    for (const c of conns) c.close();

    // Unframed junk: a length prefix promising more than ever comes, and random streams.
    const junk = await Promise.all([0, 1, 2, 3].map(() => TcpClient.connect(server.port)));
    junk[0]?.writeRaw(Buffer.from([0xff, 0xff, 1, 2, 3]));
    junk[1]?.writeRaw(Buffer.from([0x00]));
    junk[2]?.writeRaw(randomBytes(r, 70_000));
    junk[3]?.writeRaw(Buffer.from([0, 0, 0, 0, 0, 3, 1, 2, 3]));
    await Promise.all(junk.map((c) => c.closed)); // idle timeout (500 ms) closes each
    expect(internalErrors).toEqual([]);
    await stillAnswers();
  });
});
