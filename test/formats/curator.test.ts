import { describe, expect, it } from "vitest";
import {
  curatorMetadata,
  decodeCurator,
  encodeCurator,
  SPRING_PAYLOAD_CLASS,
} from "../../lib/formats/curator.js";
import { FormatError } from "../../lib/formats/format-error.js";
import type { Registration } from "../../lib/registration.js";
import { curatorFixtures, fixture, REGISTRATION_TIME, web } from "./golden.js";

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/** The decoder's verdict: the registration, or the FormatError reason; anything else fails the test. */
function verdict(data: Uint8Array | null, service = "svc", node = "node-1"): Registration | string {
  try {
    return decodeCurator(data, service, node);
  } catch (err) {
    if (err instanceof FormatError) return err.reason;
    throw err;
  }
}

describe("encodeCurator", () => {
  it.each(curatorFixtures)("writes the bytes Curator 5.4 writes: $file", (f) => {
    const bytes = encodeCurator(f.registration, {
      payload: f.payload,
      registrationTimeUTC: REGISTRATION_TIME,
    });
    expect(bytes.toString("utf8")).toBe(fixture(f.file).toString("utf8"));
    expect(bytes.equals(fixture(f.file))).toBe(true);
  });

  it("is authoritative for status, named ports and weight, whatever the metadata says", () => {
    const r: Registration = {
      ...web,
      draining: true,
      weight: 3,
      ports: { http: 8080 },
      metadata: { instance_status: "UP", "port.old": "1234", weight: "99", app: "x" },
    };
    expect(curatorMetadata(r)).toEqual([
      ["instance_status", "OUT_OF_SERVICE"],
      ["app", "x"],
      ["port.http", "8080"],
      ["weight", "3"],
    ]);
    const undrained = curatorMetadata({ ...r, draining: false, weight: undefined });
    expect(undrained).toEqual([
      ["instance_status", "UP"],
      ["app", "x"],
      ["port.http", "8080"],
    ]);
  });

  it("gives equal bytes for equal registrations built in a different key order", () => {
    const reordered: Registration = {
      ...web,
      ports: { http: 8080, metrics: 9090 },
      metadata: Object.fromEntries(Object.entries(web.metadata).reverse()),
    };
    const opts = { payload: "spring", registrationTimeUTC: 1 } as const;
    expect(encodeCurator(reordered, opts).equals(encodeCurator(web, opts))).toBe(true);
  });

  it("writes valid JSON that keeps every metadata string intact", () => {
    const awkward = ["", "\u0000\u001f\u007f", '"\\/', "\u2028\u2029", "日本語", "😀", "</script>"];
    for (const value of awkward) {
      const bytes = encodeCurator(
        { ...web, metadata: { k: value, [value]: "as key" } },
        { payload: "spring", registrationTimeUTC: 1 },
      );
      const parsed = JSON.parse(bytes.toString("utf8"));
      expect(parsed.payload.metadata.k).toBe(value);
      expect(parsed.payload.metadata[value]).toBe("as key");
    }
  });

  it.each([
    ["a hostname", { address: "web.example.com" }, "address is not an IP literal"],
    ["an empty address", { address: "" }, "missing address"],
    ["port 0", { port: 0 }, "bad port"],
    ["port 65536", { port: 65536 }, "bad port"],
    ["a fractional port", { port: 80.5 }, "bad port"],
    ["a bad named port", { ports: { http: 0 } }, "bad port"],
    ["weight 65536", { weight: 65536 }, "bad weight"],
    ["weight 1.5", { weight: 1.5 }, "bad weight"],
  ])("refuses to write %s", (_what, change, reason) => {
    expect(() =>
      encodeCurator({ ...web, ...change }, { payload: "none", registrationTimeUTC: 1 }),
    ).toThrow(expect.objectContaining({ name: "FormatError", reason }));
  });

  it("refuses a registration time Curator's long cannot hold exactly", () => {
    expect(() =>
      encodeCurator(web, { payload: "none", registrationTimeUTC: Number.MAX_SAFE_INTEGER + 2 }),
    ).toThrow(FormatError);
    expect(() => encodeCurator(web, { payload: "none", registrationTimeUTC: -1 })).toThrow(
      FormatError,
    );
  });
});

describe("decodeCurator round trips", () => {
  it("spring payload: everything comes back; metadata as written", () => {
    for (const r of [web, { ...web, draining: true }, { ...web, address: "2001:db8::7" }]) {
      const bytes = encodeCurator(r, { payload: "spring", registrationTimeUTC: 1 });
      expect(decodeCurator(bytes, r.service, r.id)).toEqual({
        ...r,
        metadata: Object.fromEntries(curatorMetadata(r)),
      });
    }
  });

  it("payload none: only address and port survive (no metadata, status or named ports)", () => {
    const bytes = encodeCurator(
      { ...web, draining: true },
      { payload: "none", registrationTimeUTC: 1 },
    );
    expect(decodeCurator(bytes, web.service, web.id)).toEqual({
      service: web.service,
      id: web.id,
      address: web.address,
      port: web.port,
      ports: {},
      metadata: {},
      draining: false,
    });
  });
});

describe("decodeCurator on nodes other clients registered", () => {
  const curatorDefault = {
    name: "orders",
    id: "2b0d5c1e-0a4e-4d8f-9c1b-8f2e1f0a9b77",
    address: "10.1.2.3",
    port: 7000,
    sslPort: null,
    payload: null,
    registrationTimeUTC: 1600000000000,
    serviceType: "DYNAMIC",
    uriSpec: null,
  };

  it("reads a plain Curator instance; id and service come from the znode path", () => {
    expect(verdict(json(curatorDefault), "orders", "node-id")).toEqual({
      service: "orders",
      id: "node-id",
      address: "10.1.2.3",
      port: 7000,
      ports: {},
      metadata: {},
      draining: false,
    });
  });

  it("tolerates unknown fields, a byte order mark and whitespace", () => {
    const text = `\ufeff ${JSON.stringify({ ...curatorDefault, future: { x: [1] }, enabled: true }, null, 2)}\n`;
    expect(verdict(Buffer.from(text))).toMatchObject({ address: "10.1.2.3", draining: false });
  });

  it("takes sslPort as the https port, and as the primary when port is null", () => {
    expect(verdict(json({ ...curatorDefault, sslPort: 7443 }))).toMatchObject({
      port: 7000,
      ports: { https: 7443 },
    });
    expect(verdict(json({ ...curatorDefault, port: null, sslPort: 7443 }))).toMatchObject({
      port: 7443,
      ports: { https: 7443 },
    });
  });

  it("accepts ports as digit strings, as Jackson does", () => {
    expect(verdict(json({ ...curatorDefault, port: "7001" }))).toMatchObject({ port: 7001 });
  });

  it("extracts metadata from any payload class: strings kept, scalars stringified, rest skipped", () => {
    const payload = {
      "@class": "com.example.MyDetails",
      metadata: {
        a: "x",
        n: 5,
        b: false,
        nul: null,
        obj: { y: 1 },
        arr: [1],
        "port.admin": "9000",
      },
    };
    expect(verdict(json({ ...curatorDefault, payload }))).toMatchObject({
      metadata: { a: "x", n: "5", b: "false", "port.admin": "9000" },
      ports: { admin: 9000 },
    });
  });

  it("reads a payload without metadata (Curator's InstanceDetails example) as no metadata", () => {
    const payload = { "@class": "org.example.InstanceDetails", description: "orders v2" };
    expect(verdict(json({ ...curatorDefault, payload }))).toMatchObject({
      metadata: {},
      draining: false,
    });
  });

  it.each([
    [undefined, false],
    ["UP", false],
    ["up", false],
    ["", false],
    ["  ", false],
    ["OUT_OF_SERVICE", true],
    ["DOWN", true],
    ["STARTING", true],
  ])("instance_status %j ⇒ draining %s (Spring's rule)", (status, draining) => {
    const metadata = status === undefined ? {} : { instance_status: status };
    const payload = { "@class": SPRING_PAYLOAD_CLASS, id: "a", name: "b", metadata };
    expect(verdict(json({ ...curatorDefault, payload }))).toMatchObject({ draining });
  });

  it.each([
    [false, true],
    ["false", true],
    [true, false],
  ])("enabled %j ⇒ draining %s", (enabled, draining) => {
    expect(verdict(json({ ...curatorDefault, enabled }))).toMatchObject({ draining });
  });

  it("skips bad named ports and weights instead of dropping the instance", () => {
    const metadata = {
      "port.": "80",
      "port.a": "0",
      "port.b": "x",
      "port.c": "70000",
      weight: "-1",
    };
    const r = verdict(json({ ...curatorDefault, payload: { metadata } }));
    expect(r).toMatchObject({ ports: {}, address: "10.1.2.3" });
    expect(r).not.toHaveProperty("weight");
  });

  it("reads weight 0–65535 from metadata", () => {
    const withWeight = (weight: string) =>
      verdict(json({ ...curatorDefault, payload: { metadata: { weight } } }));
    expect(withWeight("0")).toMatchObject({ weight: 0 });
    expect(withWeight("65535")).toMatchObject({ weight: 65535 });
    expect(withWeight("65536")).not.toHaveProperty("weight");
  });

  it("keeps a __proto__ metadata key as data", () => {
    const text = `{"address":"10.0.0.1","port":80,"payload":{"metadata":{"__proto__":"x","a":"b"}}}`;
    const r = verdict(Buffer.from(text));
    expect(typeof r).toBe("object");
    const metadata = (r as Registration).metadata;
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
    expect(Object.keys(metadata)).toEqual(["__proto__", "a"]);
  });
});

describe("decodeCurator on garbage", () => {
  const ok = { address: "10.0.0.1", port: 80 };
  const table: [string, Uint8Array | null, string][] = [
    ["no data", null, "empty node"],
    ["empty", Buffer.alloc(0), "empty node"],
    ["text", Buffer.from("hello"), "not JSON"],
    ["truncated", Buffer.from('{"address":"10.0.0.1","port":8'), "not JSON"],
    ["invalid UTF-8", Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), "not JSON"],
    ["a JSON array", json([ok]), "not a JSON object"],
    ["JSON null", json(null), "not a JSON object"],
    ["a JSON number", json(42), "not a JSON object"],
    ["a JSON string", json("10.0.0.1"), "not a JSON object"],
    ["no address", json({ port: 80 }), "missing address"],
    ["address null", json({ address: null, port: 80 }), "missing address"],
    ["address a number", json({ address: 167772161, port: 80 }), "address is not an IP literal"],
    [
      "address an object",
      json({ address: { a: [1, { b: null }] }, port: 80 }),
      "address is not an IP literal",
    ],
    ["a hostname", json({ address: "web-1.shop.svc", port: 80 }), "address is not an IP literal"],
    ["a bad IPv4", json({ address: "10.0.0.256", port: 80 }), "address is not an IP literal"],
    ["an IPv6 zone", json({ address: "fe80::1%eth0", port: 80 }), "address is not an IP literal"],
    ["padded", json({ address: " 10.0.0.1", port: 80 }), "address is not an IP literal"],
    [
      "a huge address",
      json({ address: "1".repeat(100_000), port: 80 }),
      "address is not an IP literal",
    ],
    ["no port", json({ address: "10.0.0.1" }), "missing port"],
    ["both ports null", json({ address: "10.0.0.1", port: null, sslPort: null }), "missing port"],
    ["port 0", json({ ...ok, port: 0 }), "bad port"],
    ["port 70000", json({ ...ok, port: 70000 }), "bad port"],
    ["port -1", json({ ...ok, port: -1 }), "bad port"],
    ["port 80.5", json({ ...ok, port: 80.5 }), "bad port"],
    ["port '80a'", json({ ...ok, port: "80a" }), "bad port"],
    ["port true", json({ ...ok, port: true }), "bad port"],
    ["port an array", json({ ...ok, port: [80] }), "bad port"],
    ["port 1e400", Buffer.from('{"address":"10.0.0.1","port":1e400}'), "bad port"],
    ["sslPort 70000", json({ ...ok, sslPort: 70000 }), "bad sslPort"],
    ["over 1 MiB", json({ ...ok, pad: "x".repeat(1024 * 1024) }), "too large"],
    [
      "nested 100k deep",
      Buffer.from(`${"[".repeat(100_000)}${"]".repeat(100_000)}`),
      "nested too deeply",
    ],
    [
      "nested objects",
      Buffer.from(`{"address":"10.0.0.1","port":80,"x":${'{"a":'.repeat(50)}1${"}".repeat(50)}}`),
      "nested too deeply",
    ],
    [
      "__proto__ smuggling",
      Buffer.from('{"__proto__":{"address":"10.0.0.1"},"port":80}'),
      "missing address",
    ],
  ];

  it.each(table)("%s ⇒ FormatError", (_what, data, reason) => {
    expect(verdict(data)).toBe(reason);
  });

  it("brackets inside strings do not count as nesting", () => {
    const text = JSON.stringify({ ...ok, payload: { metadata: { k: "[".repeat(1000) } } });
    expect(verdict(Buffer.from(text))).toMatchObject({ metadata: { k: "[".repeat(1000) } });
  });

  it("every truncation and byte flip of a real node decodes or throws FormatError, nothing else", () => {
    const good = fixture("curator-spring.json");
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const outcomes = new Set<string>();
    for (let i = 0; i <= good.length; i++) {
      const v = verdict(good.subarray(0, i));
      outcomes.add(typeof v === "string" ? v : "ok");
    }
    for (let n = 0; n < 2000; n++) {
      const mutated = Buffer.from(good);
      for (let k = 0; k < 3; k++)
        mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
      const v = verdict(mutated);
      outcomes.add(typeof v === "string" ? v : "ok");
    }
    // Both verdicts occur: the mutations reach the decoder's checks, not just JSON.parse.
    expect(outcomes).toContain("ok");
    expect(outcomes).toContain("not JSON");
  });
});
