import { describe, expect, it } from "vitest";
import { QTYPE, qtypeFromName, RCODE } from "../../lib/dns/records.js";
import {
  buildSnapshot,
  parseTtl,
  type Skipped,
  SnapshotBuilder,
  servedRegistrations,
} from "../../lib/dns/snapshot.js";
import { answer } from "../../lib/dns/zone.js";
import type { Registration } from "../../lib/registration.js";
import {
  CASES,
  CASES_WITHOUT_SNAPSHOT,
  expected,
  FIXTURE,
  renderResponse,
  SNAPSHOT_OPTIONS,
  ZONE_LABELS,
} from "./support.js";

const snapshot = buildSnapshot(FIXTURE, SNAPSHOT_OPTIONS);

describe("pure answerer: the DNS table", () => {
  it.each(CASES)("$qname $qtype → $rcode", (c) => {
    const r = answer({ name: c.qname, type: qtypeFromName(c.qtype) }, ZONE_LABELS, snapshot);
    expect(renderResponse(r)).toEqual(expected(c));
    // AA on every answer from zone data, never on REFUSED.
    expect(r.authoritative).toBe(c.rcode !== "REFUSED");
  });

  it.each(CASES_WITHOUT_SNAPSHOT)("before the first read: $qname $qtype → $rcode", (c) => {
    const r = answer({ name: c.qname, type: qtypeFromName(c.qtype) }, ZONE_LABELS, undefined);
    expect(renderResponse(r)).toEqual(expected(c));
  });

  it("refuses classes other than IN (CHAOS version.bind)", () => {
    const r = answer({ name: "version.bind.", type: QTYPE.TXT, class: 3 }, ZONE_LABELS, snapshot);
    expect(r.rcode).toBe(RCODE.REFUSED);
    const inZone = answer(
      { name: "web.shop.zk.internal.", type: QTYPE.A, class: 3 },
      ZONE_LABELS,
      snapshot,
    );
    expect(inZone.rcode).toBe(RCODE.REFUSED);
  });

  it("does not offer zone transfers", () => {
    const r = answer({ name: "zk.internal.", type: QTYPE.AXFR }, ZONE_LABELS, snapshot);
    expect(r.rcode).toBe(RCODE.NOTIMP);
  });

  it("answers ANY with every record set of the name", () => {
    const r = answer(
      { name: "web-1.web.shop.zk.internal.", type: QTYPE.ANY },
      ZONE_LABELS,
      snapshot,
    );
    expect(r.answer.map((x) => x.type).sort()).toEqual([QTYPE.A, QTYPE.TXT]);
  });
});

function reg(r: Partial<Registration> & Pick<Registration, "service" | "id" | "address">) {
  return { port: 8080, ports: {}, metadata: {}, draining: false, ...r } satisfies Registration;
}

describe("snapshot", () => {
  it("reports what it cannot publish, once per compile, and keeps the rest", () => {
    const skipped: Skipped[] = [];
    const s = buildSnapshot(
      [
        reg({ service: "ok", id: "a", address: "10.0.0.1" }),
        reg({ service: "ok", id: "bad id", address: "10.0.0.2" }),
        reg({ service: "ok", id: "_under", address: "10.0.0.3" }),
        reg({ service: "ok", id: "c", address: "not an address!" }),
        reg({ service: "ok", id: "d", address: "10.0.0.4", port: 0 }),
        reg({ service: "ok", id: "e", address: "10.0.0.5", ports: { "bad.port": 1 } }),
        reg({ service: "ok", id: "f", address: "10.0.0.6", metadata: { big: "x".repeat(300) } }),
        reg({ service: "a..b", id: "g", address: "10.0.0.7" }),
        reg({ service: `${"x".repeat(64)}.y`, id: "h", address: "10.0.0.8" }),
      ],
      SNAPSHOT_OPTIONS,
      (x) => skipped.push(x),
    );
    expect(skipped.map((x) => `${x.reason} ${x.service} ${x.id ?? ""}`.trim()).sort()).toEqual(
      [
        "address ok c",
        "instance-id ok _under",
        "instance-id ok bad id",
        "port ok d",
        "port-name ok e",
        "service-name a..b",
        `service-name ${"x".repeat(64)}.y`,
        "txt-too-long ok f",
      ].sort(),
    );
    const ok = s.services.get("ok");
    expect([...(ok?.instances.values() ?? [])].map((i) => i.id)).toEqual(["a", "e", "f"]);
    // The oversized metadata entry is left out, the instance stays.
    expect(ok?.instances.get("f")?.txt).toEqual([]);
    expect(s.services.size).toBe(1);
  });

  it("merges both trees without duplicates, preferring the curator registration", () => {
    const b = new SnapshotBuilder(SNAPSHOT_OPTIONS);
    b.setSource({ format: "serverset", service: "web" }, [
      reg({ service: "web", id: "member_0000000001", address: "10.0.0.1" }),
      reg({ service: "web", id: "member_0000000002", address: "10.0.0.2" }),
    ]);
    b.setSource({ format: "curator", service: "web" }, [
      reg({ service: "web", id: "web-a", address: "10.0.0.1", metadata: { zone: "a" } }),
    ]);
    const s = b.build();
    const web = s.services.get("web");
    expect([...(web?.instances.values() ?? [])].map((i) => i.id).sort()).toEqual([
      "member_0000000002",
      "web-a",
    ]);
    expect(web?.a.map((x) => x.address).sort()).toEqual(["10.0.0.1", "10.0.0.2"]);
    expect(s.instanceCount).toBe(2);
  });

  it("merges service names that differ only in case", () => {
    const b = new SnapshotBuilder(SNAPSHOT_OPTIONS);
    b.setSource({ format: "curator", service: "Web" }, [
      reg({ service: "Web", id: "a", address: "10.0.0.1" }),
    ]);
    b.setSource({ format: "curator", service: "web" }, [
      reg({ service: "web", id: "b", address: "10.0.0.2" }),
    ]);
    expect(b.build().services.get("web")?.a.length).toBe(2);
  });

  it("skips a second instance with the same id but another endpoint", () => {
    const skipped: Skipped[] = [];
    const b = new SnapshotBuilder(SNAPSHOT_OPTIONS, (x) => skipped.push(x));
    b.setSource({ format: "curator", service: "web" }, [
      reg({ service: "web", id: "a", address: "10.0.0.1" }),
    ]);
    b.setSource({ format: "serverset", service: "web" }, [
      reg({ service: "web", id: "A", address: "10.0.0.2" }),
    ]);
    const web = b.build().services.get("web");
    expect(web?.a.map((x) => x.address)).toEqual(["10.0.0.1"]);
    expect(skipped.map((x) => x.reason)).toEqual(["duplicate-id"]);
  });

  it("rebuilds only changed services, keeps unchanged ones by identity, bumps the serial", () => {
    const b = new SnapshotBuilder(SNAPSHOT_OPTIONS);
    b.setSource({ format: "curator", service: "a.x" }, [
      reg({ service: "a.x", id: "1", address: "10.0.0.1" }),
    ]);
    b.setSource({ format: "curator", service: "b" }, [
      reg({ service: "b", id: "1", address: "10.0.0.2" }),
    ]);
    const s1 = b.build();
    expect(b.build()).toBe(s1); // nothing changed: same snapshot
    b.setSource({ format: "curator", service: "b" }, [
      reg({ service: "b", id: "2", address: "10.0.0.3" }),
    ]);
    const s2 = b.build();
    expect(s2).not.toBe(s1);
    expect(s2.serial).toBe(s1.serial + 1);
    expect(s2.services.get("a.x")).toBe(s1.services.get("a.x"));
    expect(s2.services.get("b")?.a.map((x) => x.address)).toEqual(["10.0.0.3"]);
    // Snapshots are immutable: the old one still answers the old way.
    expect(s1.services.get("b")?.a.map((x) => x.address)).toEqual(["10.0.0.2"]);
    expect(s2.emptyNonTerminals.has("x")).toBe(true);
    b.setSource({ format: "curator", service: "a.x" }, undefined);
    const s3 = b.build();
    expect(s3.services.has("a.x")).toBe(false);
    expect(s3.emptyNonTerminals.has("x")).toBe(false);
    expect(s2.emptyNonTerminals.has("x")).toBe(true);
    const nx = answer({ name: "x.zk.internal.", type: QTYPE.A }, ZONE_LABELS, s3);
    expect(nx.rcode).toBe(RCODE.NXDOMAIN);
    expect(servedRegistrations(s3).map((r) => r.id)).toEqual(["2"]);
  });

  it("takes the smallest valid metadata ttl of a service", () => {
    expect(parseTtl("30")).toBe(30);
    expect(parseTtl("2m")).toBe(120);
    expect(parseTtl("soon")).toBeUndefined();
    const s = buildSnapshot(
      [
        reg({ service: "t", id: "a", address: "10.0.0.1", metadata: { ttl: "60" } }),
        reg({ service: "t", id: "b", address: "10.0.0.2", metadata: { ttl: "20s" } }),
        reg({ service: "t", id: "c", address: "10.0.0.3", metadata: { ttl: "junk" } }),
      ],
      SNAPSHOT_OPTIONS,
    );
    expect(s.services.get("t")?.ttl).toBe(20);
  });

  it("rejects a zone or TTL it could not serve, naming the value", () => {
    expect(() => buildSnapshot([], { zone: ".", ttl: 5 })).toThrow(/root zone/);
    expect(() => buildSnapshot([], { zone: "a b.", ttl: 5 })).toThrow(/a b/);
    expect(() => buildSnapshot([], { zone: "zk.internal.", ttl: -1 })).toThrow(/ttl/);
  });

  it("uses the configured NS name and hostmaster", () => {
    const s = buildSnapshot([], {
      ...SNAPSHOT_OPTIONS,
      nsName: "dns.example.org",
      hostmaster: "ops.example.org.",
    });
    expect(s.zone.soa.mname).toBe("dns.example.org.");
    expect(s.zone.soa.rname).toBe("ops.example.org.");
    expect(s.zone.ns[0]?.target).toBe("dns.example.org.");
  });
});
