import { describe, expect, it } from "vitest";
import { QTYPE, RCODE } from "../../lib/dns/records.js";
import { Responder } from "../../lib/dns/responder.js";
import { buildSnapshot } from "../../lib/dns/snapshot.js";
import { DROP, encodeBody, parseQuery } from "../../lib/dns/wire.js";
import { decode, makeQuery, SNAPSHOT_OPTIONS, ZONE_LABELS } from "./support.js";

const base = () => makeQuery("web.shop.zk.internal", "A", { edns: 1232 });

describe("parseQuery checks the header before anything else", () => {
  it("reads a normal query with its OPT", () => {
    const q = parseQuery(base());
    expect(q).toMatchObject({
      qtype: QTYPE.A,
      qclass: 1,
      edns: true,
      udpSize: 1232,
      ednsVersion: 0,
    });
  });

  it("drops what has no header or is a response", () => {
    expect(parseQuery(Buffer.alloc(11))).toBe(DROP);
    const resp = base();
    resp[2] = (resp[2] as number) | 0x80;
    expect(parseQuery(resp)).toBe(DROP);
  });

  it("rejects forged section counts without walking them", () => {
    for (const at of [6, 8, 10]) {
      const q = base();
      q.writeUInt16BE(65535, at);
      expect(parseQuery(q)).toBe(RCODE.FORMERR);
    }
    const none = base();
    none.writeUInt16BE(0, 4);
    expect(parseQuery(none)).toBe(RCODE.FORMERR);
  });

  it("rejects compression pointers and over-long names in the question", () => {
    const ptr = base();
    ptr[12] = 0xc0;
    expect(parseQuery(ptr)).toBe(RCODE.FORMERR);
    const labels = Array.from({ length: 5 }, () => "x".repeat(60)).join(".");
    expect(parseQuery(makeQuery(labels, "A"))).toBe(RCODE.FORMERR);
  });

  it("rejects a second OPT and an OPT not owned by the root", () => {
    const q = base();
    const twice = Buffer.concat([q, q.subarray(q.length - 11)]);
    twice.writeUInt16BE(2, 10);
    expect(parseQuery(twice)).toBe(RCODE.FORMERR);
    const named = Buffer.concat([
      q.subarray(0, q.length - 11),
      Buffer.from([1, 0x61]),
      q.subarray(q.length - 10),
    ]);
    expect(parseQuery(named)).toBe(RCODE.FORMERR);
  });

  it("answers NOTIMP to opcodes other than QUERY", () => {
    const q = base();
    q.writeUInt16BE(5 << 11, 2); // UPDATE
    expect(parseQuery(q)).toBe(RCODE.NOTIMP);
  });
});

describe("encodeBody validates what goes on the wire", () => {
  const qname = Buffer.from([3, 0x77, 0x65, 0x62, 0]);
  const response = (answer: never[]) => ({
    rcode: RCODE.NOERROR,
    authoritative: true,
    answer,
    authority: [],
    additional: [],
  });

  it("refuses TXT strings over 255 bytes, bad addresses and labels over 63", () => {
    const txt = { name: "web.", ttl: 5, type: QTYPE.TXT, strings: ["x".repeat(256)] };
    expect(() => encodeBody(qname, response([txt as never]))).toThrow(/TXT/);
    const a = { name: "web.", ttl: 5, type: QTYPE.A, address: "10.0.0.256" };
    expect(() => encodeBody(qname, response([a as never]))).toThrow(/address/);
    const long = { name: `${"x".repeat(64)}.`, ttl: 5, type: QTYPE.A, address: "10.0.0.1" };
    expect(() => encodeBody(qname, response([long as never]))).toThrow(/label/);
  });

  it("keeps a huge answer under 64 KiB, whole records only", () => {
    const regs = Array.from({ length: 5000 }, (_, i) => ({
      service: "huge",
      id: `instance-with-a-long-name-${i}`,
      address: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
      port: 80,
      ports: {},
      metadata: {},
      draining: false,
    }));
    const snapshot = buildSnapshot(regs, SNAPSHOT_OPTIONS);
    const responder = new Responder({ zone: ZONE_LABELS, source: { current: () => snapshot } });
    const reply = responder.respond(makeQuery("huge.zk.internal", "SRV"), "tcp");
    expect(reply).toBeDefined();
    expect(reply?.length).toBeLessThanOrEqual(65535);
    const d = decode(reply as Buffer);
    expect(d.answers?.length).toBeGreaterThan(100);
    expect(d.answers?.length).toBeLessThan(5000);
    expect(d.rcode).toBe("NOERROR");
  });
});

describe("listen addresses", () => {
  it("parses host:port and [v6]:port, rejecting hostnames and bad ports", async () => {
    const { parseListenAddress, toListenAddress } = await import("../../lib/dns/listen-address.js");
    expect(parseListenAddress("0.0.0.0:1053")).toEqual({ host: "0.0.0.0", port: 1053, family: 4 });
    expect(parseListenAddress("[::]:53")).toEqual({ host: "::", port: 53, family: 6 });
    expect(parseListenAddress(":1053")).toEqual({ host: "0.0.0.0", port: 1053, family: 4 });
    expect(() => parseListenAddress("localhost:53")).toThrow(/IP address/);
    expect(() => parseListenAddress("1.2.3.4:70000")).toThrow(/65535/);
    expect(() => parseListenAddress("1.2.3.4")).toThrow(/host:port/);
    expect(toListenAddress({ host: "::1", port: 0 })).toEqual({ host: "::1", port: 0, family: 6 });
    expect(() => toListenAddress({ host: "dns.example", port: 53 })).toThrow(/IP address/);
  });
});
