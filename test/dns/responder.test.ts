/**
 * The responder's cache keeps positive answers across snapshots while the services they were
 * read from are unchanged. Every way an answer can go stale must still be seen at once.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import packet from "dns-packet";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../bench/support/random.js";
import { Responder } from "../../lib/dns/responder.js";
import { type Snapshot, SnapshotBuilder } from "../../lib/dns/snapshot.js";
import type { Registration } from "../../lib/registration.js";
import { SNAPSHOT_OPTIONS, ZONE_LABELS } from "./support.js";

function reg(service: string, id: string, address: string): Registration {
  return { service, id, address, port: 8080, ports: {}, metadata: {}, draining: false };
}

describe("Responder cache across snapshots", () => {
  const builder = new SnapshotBuilder(SNAPSHOT_OPTIONS);
  let current: Snapshot | undefined;
  const responder = new Responder({ zone: ZONE_LABELS, source: { current: () => current } });
  const set = (service: string, regs: Registration[]) =>
    builder.setSource({ format: "curator", service }, regs);

  function ask(name: string, type: "A" | "SOA" = "A"): string {
    const query = packet.encode({
      type: "query",
      id: 7,
      flags: 0,
      questions: [{ type, name, class: "IN" }],
    });
    const reply = responder.respond(Buffer.from(query), "udp");
    if (!reply) return "dropped";
    const decoded = packet.decode(reply);
    const rcode = (decoded.flags ?? 0) & 0xf;
    if (rcode !== 0) return ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN"][rcode] ?? String(rcode);
    return (decoded.answers ?? [])
      .map((a) => {
        const data = (a as { data: unknown }).data;
        return type === "SOA" ? String((data as { serial: number }).serial) : String(data);
      })
      .sort()
      .join(",");
  }

  it("serves fresh answers whenever a service they depend on changed, appeared or vanished", () => {
    set("web.shop", [reg("web.shop", "web-1", "10.0.0.5")]);
    set("api", [reg("api", "api-1", "10.1.0.1")]);
    current = builder.build();
    const serial1 = ask("zk.internal", "SOA");
    expect(ask("web.shop.zk.internal")).toBe("10.0.0.5");
    expect(ask("api.zk.internal")).toBe("10.1.0.1");
    expect(ask("web-1.web.shop.zk.internal")).toBe("10.0.0.5");
    expect(ask("new.web.shop.zk.internal")).toBe("NXDOMAIN");

    // web.shop changes; a service named like web.shop's instance appears (and wins); so does
    // the name that was NXDOMAIN. api is untouched.
    set("web.shop", [reg("web.shop", "web-1", "10.0.0.9")]);
    set("web-1.web.shop", [reg("web-1.web.shop", "x", "10.7.7.7")]);
    set("new.web.shop", [reg("new.web.shop", "n", "10.8.8.8")]);
    current = builder.build();
    expect(ask("web.shop.zk.internal")).toBe("10.0.0.9");
    expect(ask("api.zk.internal")).toBe("10.1.0.1");
    expect(ask("web-1.web.shop.zk.internal")).toBe("10.7.7.7");
    expect(ask("new.web.shop.zk.internal")).toBe("10.8.8.8");
    expect(ask("zk.internal", "SOA")).not.toBe(serial1);

    set("api", []);
    current = builder.build();
    expect(ask("api.zk.internal")).toBe("NXDOMAIN");
    expect(ask("web.shop.zk.internal")).toBe("10.0.0.9");

    current = undefined; // past serve-stale: nothing cached is served
    expect(ask("web.shop.zk.internal")).toBe("SERVFAIL");
  });

  it("re-checks a cached answer by flags alone while no snapshot adds a name", () => {
    set("cheap", [reg("cheap", "c-1", "10.4.0.1")]);
    set("busy", [reg("busy", "b-1", "10.4.0.2")]);
    current = builder.build();
    // An instance answer depends on `c-1.cheap` (absent) and `cheap` (found).
    expect(ask("c-1.cheap.zk.internal")).toBe("10.4.0.1");

    set("busy", [reg("busy", "b-1", "10.4.0.3")]); // replaced: no name added
    current = builder.build();
    const lookups = countLookups(current);
    expect(ask("c-1.cheap.zk.internal")).toBe("10.4.0.1");
    expect(lookups()).toBe(0);

    set("fresh", [reg("fresh", "f-1", "10.4.0.4")]); // a new name: absent ones are looked up
    current = builder.build();
    const after = countLookups(current);
    expect(ask("c-1.cheap.zk.internal")).toBe("10.4.0.1");
    expect(after()).toBe(1);
  });

  it("keeps no old snapshot alive through its cache", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    set("kept", [reg("kept", "k-1", "10.3.0.1")]);
    current = builder.build();
    expect(ask("kept.zk.internal")).toBe("10.3.0.1");
    const old = new WeakRef(current);
    set("other", [reg("other", "o-1", "10.3.0.2")]);
    current = builder.build();
    expect(ask("kept.zk.internal")).toBe("10.3.0.1"); // the cached answer, rechecked
    await new Promise((r) => setImmediate(r));
    gc();
    expect(old.deref()).toBeUndefined();
  });
});

describe("Responder cache between builders", () => {
  let current: Snapshot | undefined;
  const responder = new Responder({ zone: ZONE_LABELS, source: { current: () => current } });
  const ask = (name: string) => {
    const query = packet.encode({ type: "query", id: 1, questions: [{ type: "A", name }] });
    const reply = responder.respond(Buffer.from(query), "udp");
    return reply
      ? (packet.decode(reply).answers ?? [])
          .map((a) => String((a as { data: unknown }).data))
          .join()
      : "";
  };
  const snapshotOf = (builder: SnapshotBuilder, address: string) => {
    builder.setSource({ format: "curator", service: "web" }, [reg("web", "w-1", address)]);
    return builder.build();
  };

  it("starts afresh on a snapshot of another builder", () => {
    const a = snapshotOf(new SnapshotBuilder(SNAPSHOT_OPTIONS), "10.5.0.1");
    const b = snapshotOf(new SnapshotBuilder(SNAPSHOT_OPTIONS), "10.5.0.2");
    current = a;
    expect(ask("web.zk.internal")).toBe("10.5.0.1");
    current = b; // nothing of b's builder ever superseded a's nodes
    expect(ask("web.zk.internal")).toBe("10.5.0.2");
    current = a;
    expect(ask("web.zk.internal")).toBe("10.5.0.1");
  });

  it("starts afresh when handed an older snapshot of the same builder", () => {
    const builder = new SnapshotBuilder(SNAPSHOT_OPTIONS);
    const older = snapshotOf(builder, "10.6.0.1");
    const newer = snapshotOf(builder, "10.6.0.2");
    current = newer;
    expect(ask("web.zk.internal")).toBe("10.6.0.2");
    current = older; // the newer node is not superseded, yet older does not hold it
    expect(ask("web.zk.internal")).toBe("10.6.0.1");
  });
});

/** Counts the service lookups made on `snapshot` from now on. */
function countLookups(snapshot: Snapshot): () => number {
  const services = snapshot.services;
  const get = services.get.bind(services);
  let n = 0;
  Object.defineProperty(services, "get", {
    value: (name: string) => {
      n++;
      return get(name);
    },
  });
  return () => n;
}

describe("Responder cache against no cache", () => {
  // Names that collide on purpose: services named like another's instance (`i0.s0`), one DNS
  // name from two spellings (`S1`, `s1`), ports, names that come and go.
  const SERVICES = ["s0", "s1", "S1", "i0.s0", "i1.s0", "deep.i0.s0", "other"];
  const QUESTIONS: Array<[string, "A" | "SRV" | "TXT"]> = [];
  for (const svc of ["s0", "s1", "i0.s0", "i1.s0", "deep.i0.s0", "other", "gone"]) {
    QUESTIONS.push([`${svc}.zk.internal`, "A"], [`${svc}.zk.internal`, "SRV"]);
    for (const id of ["i0", "i1"]) QUESTIONS.push([`${id}.${svc}.zk.internal`, "TXT"]);
    QUESTIONS.push([`_http._tcp.${svc}.zk.internal`, "SRV"]);
  }

  function answers(responder: Responder, name: string, type: string): string {
    const query = packet.encode({ type: "query", id: 3, questions: [{ type, name } as never] });
    const reply = responder.respond(Buffer.from(query), "udp");
    if (!reply) return "dropped";
    const d = packet.decode(reply);
    const records = [...(d.answers ?? []), ...(d.additionals ?? [])].map((a) =>
      JSON.stringify([a.name, a.type, (a as { data?: unknown }).data]),
    );
    return `${(d.flags ?? 0) & 0xf} ${records.sort().join(" ")}`;
  }

  it("answers every question after every snapshot as a responder with nothing cached would", () => {
    for (const seed of [1, 2, 3]) {
      const random = seededRandom(seed);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)] as T;
      const builder = new SnapshotBuilder(SNAPSHOT_OPTIONS);
      let current: Snapshot | undefined;
      const cached = new Responder({ zone: ZONE_LABELS, source: { current: () => current } });
      for (let step = 0; step < 300; step++) {
        // A few sources change between snapshots, sometimes none (a rebuild of the same).
        for (let k = Math.floor(random() * 3); k > 0; k--) {
          const service = pick(SERVICES);
          const n = Math.floor(random() * 3);
          const regs = Array.from(
            { length: n },
            (_, i): Registration => ({
              ...reg(service, `i${i}`, `10.0.${Math.floor(random() * 4)}.${i + 1}`),
              ports: random() < 0.5 ? { http: 8080 } : ({} as Record<string, number>),
            }),
          );
          builder.setSource({ format: random() < 0.8 ? "curator" : "serverset", service }, regs);
        }
        current = builder.build();
        const fresh = new Responder({ zone: ZONE_LABELS, source: { current: () => current } });
        for (const [name, type] of QUESTIONS) {
          if (random() < 0.5) continue; // leave some cached answers unchecked for a while
          expect(answers(cached, name, type), `seed ${seed} step ${step}: ${name} ${type}`).toBe(
            answers(fresh, name, type),
          );
        }
      }
    }
  });
});
