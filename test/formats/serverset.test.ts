import { describe, expect, it } from "vitest";
import { FormatError } from "../../lib/formats/format-error.js";
import {
  decodeServerSet,
  encodeServerSet,
  isServerSetMember,
} from "../../lib/formats/serverset.js";
import type { Registration } from "../../lib/registration.js";
import { fixture, serverSetFixtures, web } from "./golden.js";

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

function verdict(data: Uint8Array | null, node = "member_0000000007"): Registration | string {
  try {
    return decodeServerSet(data, "svc", node);
  } catch (err) {
    if (err instanceof FormatError) return err.reason;
    throw err;
  }
}

describe("encodeServerSet", () => {
  it.each(serverSetFixtures)("writes the JsonCodec layout byte for byte: $file", (f) => {
    const bytes = encodeServerSet(f.registration, { shard: f.shard });
    expect(bytes.toString("utf8")).toBe(fixture(f.file).toString("utf8"));
  });

  it("writes exactly the four contract keys, whatever the registration carries", () => {
    const parsed = JSON.parse(encodeServerSet(web, { shard: 0 }).toString("utf8"));
    expect(Object.keys(parsed)).toEqual([
      "serviceEndpoint",
      "additionalEndpoints",
      "status",
      "shard",
    ]);
  });

  it("lists every named port, the primary included, on the instance's address", () => {
    const parsed = JSON.parse(encodeServerSet(web, { shard: 2 }).toString("utf8"));
    expect(parsed.serviceEndpoint).toEqual({ host: "10.0.0.5", port: 8080 });
    expect(parsed.additionalEndpoints).toEqual({
      http: { host: "10.0.0.5", port: 8080 },
      metrics: { host: "10.0.0.5", port: 9090 },
    });
    expect(parsed.shard).toBe(2);
  });

  it("writes an empty additionalEndpoints when no port is named", () => {
    const parsed = JSON.parse(encodeServerSet({ ...web, ports: {} }, { shard: 0 }).toString());
    expect(parsed.additionalEndpoints).toEqual({});
  });

  it("draining ⇒ STOPPING, else ALIVE", () => {
    const status = (r: Registration) =>
      JSON.parse(encodeServerSet(r, { shard: 0 }).toString()).status;
    expect(status(web)).toBe("ALIVE");
    expect(status({ ...web, draining: true })).toBe("STOPPING");
  });

  it.each([
    ["a hostname", { address: "web.example.com" }, "address is not an IP literal"],
    ["port 0", { port: 0 }, "bad port"],
    ["a bad named port", { ports: { http: 70000 } }, "bad port"],
  ])("refuses to write %s", (_what, change, reason) => {
    expect(() => encodeServerSet({ ...web, ...change }, { shard: 0 })).toThrow(
      expect.objectContaining({ name: "FormatError", reason }),
    );
  });

  it("refuses a negative or fractional shard", () => {
    expect(() => encodeServerSet(web, { shard: -1 })).toThrow(FormatError);
    expect(() => encodeServerSet(web, { shard: 0.5 })).toThrow(FormatError);
  });
});

describe("decodeServerSet", () => {
  it("round trips: the member's name becomes the id; metadata is not carried", () => {
    for (const r of [web, { ...web, draining: true }, { ...web, address: "2001:db8::9" }]) {
      const { weight: _dropped, ...rest } = r;
      expect(
        decodeServerSet(encodeServerSet(r, { shard: 1 }), r.service, "member_0000000001"),
      ).toEqual({
        ...rest,
        id: "member_0000000001",
        metadata: {},
      });
    }
  });

  it("reads a member written by Python's json.dumps (spaces, no shard)", () => {
    const text =
      '{"serviceEndpoint": {"host": "10.2.0.9", "port": 31000}, "additionalEndpoints": {"http": {"host": "10.2.0.9", "port": 31000}, "health": {"host": "10.2.0.9", "port": 31001}}, "status": "ALIVE"}';
    expect(verdict(Buffer.from(text))).toEqual({
      service: "svc",
      id: "member_0000000007",
      address: "10.2.0.9",
      port: 31000,
      ports: { http: 31000, health: 31001 },
      metadata: {},
      draining: false,
    });
  });

  it.each([
    ["ALIVE", false],
    ["STOPPING", true],
    ["STARTING", true],
    ["DEAD", true],
    ["alive", true],
    [undefined, true],
    [7, true],
  ])("status %j ⇒ draining %s (Finagle routes only ALIVE)", (status, draining) => {
    const member = { serviceEndpoint: { host: "10.0.0.1", port: 80 }, status };
    expect(verdict(json(member))).toMatchObject({ draining });
  });

  it("skips additional endpoints on another host or with a bad port", () => {
    const member = {
      serviceEndpoint: { host: "10.0.0.1", port: 80 },
      additionalEndpoints: {
        http: { host: "10.0.0.1", port: 80 },
        elsewhere: { host: "10.0.0.2", port: 81 },
        bad: { host: "10.0.0.1", port: 0 },
        junk: "x",
      },
      status: "ALIVE",
    };
    expect(verdict(json(member))).toMatchObject({ ports: { http: 80 } });
  });

  it("reads the metadata map newer Finagle versions write, and weight from it", () => {
    const member = {
      serviceEndpoint: { host: "10.0.0.1", port: 80 },
      status: "ALIVE",
      metadata: { zone: "a", weight: "5", n: 1 },
    };
    expect(verdict(json(member))).toMatchObject({
      metadata: { zone: "a", weight: "5", n: "1" },
      weight: 5,
    });
  });

  const table: [string, Uint8Array | null, string][] = [
    ["no data", null, "empty node"],
    ["text", Buffer.from("member"), "not JSON"],
    [
      "a JSON array",
      json([{ serviceEndpoint: { host: "10.0.0.1", port: 80 } }]),
      "not a JSON object",
    ],
    ["no serviceEndpoint", json({ status: "ALIVE" }), "missing serviceEndpoint"],
    [
      "serviceEndpoint a string",
      json({ serviceEndpoint: "10.0.0.1:80" }),
      "missing serviceEndpoint",
    ],
    ["no host", json({ serviceEndpoint: { port: 80 } }), "missing address"],
    [
      "a hostname",
      json({ serviceEndpoint: { host: "db-1.local", port: 80 } }),
      "address is not an IP literal",
    ],
    ["no port", json({ serviceEndpoint: { host: "10.0.0.1" } }), "missing port"],
    ["port 0", json({ serviceEndpoint: { host: "10.0.0.1", port: 0 } }), "bad port"],
    ["port 70000", json({ serviceEndpoint: { host: "10.0.0.1", port: 70000 } }), "bad port"],
    [
      "a huge nested port",
      json({ serviceEndpoint: { host: "10.0.0.1", port: { x: "y".repeat(100_000) } } }),
      "bad port",
    ],
    ["nested 100k deep", Buffer.from("{".repeat(100_000)), "nested too deeply"],
  ];

  it.each(table)("%s ⇒ FormatError", (_what, data, reason) => {
    expect(verdict(data)).toBe(reason);
  });

  it("an error's message stays short even for a huge bad value", () => {
    const data = json({ serviceEndpoint: { host: "10.0.0.1", port: "9".repeat(100_000) } });
    let message = "";
    try {
      decodeServerSet(data, "svc", "member_1");
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^bad port: /);
    expect(message.length).toBeLessThan(100);
  });
});

describe("isServerSetMember", () => {
  it.each([
    ["member_0000000012", true],
    ["member_1", true],
    ["member_", false],
    ["member_12a", false],
    ["members_0000000001", false],
    ["web-7d4b9-abcde", false],
    ["status", false],
  ])("%s ⇒ %s", (name, expected) => {
    expect(isServerSetMember(name)).toBe(expected);
  });
});
