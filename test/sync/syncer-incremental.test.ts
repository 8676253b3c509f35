/**
 * The syncer replans only the parents of changed groups. These tests check that the shortcut
 * never changes the outcome (a random walk of group edits must always converge on exactly the
 * desired state) and that it is a shortcut (renders only what changed).
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../bench/support/random.js";
import { decodeCurator } from "../../lib/formats/curator.js";
import type { DesiredGeneration } from "../../lib/kubernetes/desired-state.js";
import type { DesiredRegistration } from "../../lib/registration.js";
import { ShardedMap } from "../../lib/sharded-map.js";
import type { DesiredSource, WriteGate } from "../../lib/sync/syncer.js";
import type { ZkRegistry } from "../../lib/zookeeper/registry.js";
import type { ZkSession } from "../../lib/zookeeper/session.js";
import { openSession } from "../support/session.js";
import { waitUntil } from "../support/wait.js";
import { desired, perTestChroot, wireSyncer } from "./support.js";

/** A source with one group per key, replaced wholesale by `set`; each set is a generation. */
class GroupedSource implements DesiredSource {
  private generation: DesiredGeneration = {
    groups: ShardedMap.empty(),
    previous: undefined,
    changed: undefined,
  };
  private listeners: Array<() => void> = [];
  /** Until true, the syncer may not delete (the caches are still listing). */
  isSynced = true;
  set(key: string, regs: readonly DesiredRegistration[] | undefined): void {
    const groups = this.generation.groups.with(new Map([[key, regs && [...regs]]]));
    this.generation = { groups, previous: this.generation, changed: new Set([key]) };
    for (const l of this.listeners) l();
  }
  /** Sets `synced()`, telling the listeners (the desired state stays the same generation). */
  sync(synced: boolean): void {
    this.isSynced = synced;
    for (const l of this.listeners) l();
  }
  desiredGeneration(): DesiredGeneration {
    return this.generation;
  }
  synced(): boolean {
    return this.isSynced;
  }
  onChange(cb: () => void): void {
    this.listeners.push(cb);
  }
}

/** An instance of the service whose parent is `parent`. */
const reg = (parent: string, id: string, address: string) =>
  desired(id, address, {
    service: parent.slice(parent.lastIndexOf("/") + 1),
    parent,
    metadata: { "kube-zk-bridge.io/cluster": "default" },
  });

/** A leadership stand-in: the test decides who leads and in which term. */
class TestGate extends EventEmitter<{ change: [boolean] }> implements WriteGate {
  leading = true;
  currentTerm = "t1";
  isLeader(): boolean {
    return this.leading;
  }
  term(): string | undefined {
    return this.leading ? this.currentTerm : undefined;
  }
  flip(leading: boolean, term = this.currentTerm): void {
    this.leading = leading;
    this.currentTerm = term;
    this.emit("change", leading);
  }
}

/** Groups g0..g19, each five registrations under its own parent /services/s<g>. */
function twentyGroups(source: GroupedSource): void {
  for (let g = 0; g < 20; g++) {
    source.set(
      `g${g}`,
      Array.from({ length: 5 }, (_, i) => reg(`/services/s${g}`, `i${i}`, `10.1.${g}.${i}`)),
    );
  }
}

/** Counts the registry's renders from now on (`count` can be reset by the test). */
function countRenders(registry: ZkRegistry): { count: number } {
  const counter = { count: 0 };
  const render = registry.render.bind(registry);
  registry.render = (d, prev) => {
    counter.count++;
    return render(d, prev);
  };
  return counter;
}

describe("Syncer: incremental passes", () => {
  const t = perTestChroot();

  async function start(source: GroupedSource, resyncMs?: number, gate?: WriteGate) {
    const session = await openSession(t.connect);
    t.defer(() => session.close());
    return { session, ...wireSyncer(session, source, { resyncMs, gate }) };
  }

  /** `parent → id → address` as ZooKeeper holds it now. */
  async function state(session: ZkSession, parents: Iterable<string>) {
    const out = new Map<string, Map<string, string>>();
    for (const parent of parents) {
      const ids = await session.getChildren(parent).catch(() => [] as string[]);
      if (ids.length === 0) continue;
      const byId = new Map<string, string>();
      for (const id of ids) {
        const { data } = await session.getData(`${parent}/${id}`);
        byId.set(id, decodeCurator(data, parent.slice(parent.lastIndexOf("/") + 1), id).address);
      }
      out.set(parent, byId);
    }
    return out;
  }

  function expected(groups: ShardedMap<readonly DesiredRegistration[]>) {
    const out = new Map<string, Map<string, string>>();
    for (const regs of groups.values()) {
      for (const r of regs) {
        const byId = out.get(r.parent) ?? new Map<string, string>();
        out.set(r.parent, byId);
        byId.set(r.id, r.address);
      }
    }
    return out;
  }

  const show = (m: Map<string, Map<string, string>>) =>
    [...m]
      .map(([p, ids]) => `${p}: ${[...ids].sort().map(([i, a]) => `${i}=${a}`)}`)
      .sort()
      .join("\n");

  it("a random walk of group edits, moves and deletions always converges on the desired state", async () => {
    const source = new GroupedSource();
    const { session, syncer } = await start(source);
    syncer.start();
    t.defer(() => syncer.stop());
    const parents = ["/services/a", "/services/b", "/services/c"];
    const next = seededRandom(7); // seeded, so a failure replays
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
    for (let step = 0; step < 40; step++) {
      // Some steps while the caches are not synced: removes wait for a synced step.
      source.isSynced = step === 39 || next() < 0.7;
      // Groups g0..g4; several share a parent; each has its own ids so none collide.
      const key = `g${Math.floor(next() * 5)}`;
      const roll = next();
      if (roll < 0.15) source.set(key, undefined);
      else {
        const parent = pick(parents);
        const count = Math.floor(next() * 4);
        source.set(
          key,
          Array.from({ length: count }, (_, i) =>
            reg(parent, `${key}-${i}`, `10.0.${step}.${Math.floor(next() * 3)}`),
          ),
        );
      }
      const want = expected(source.desiredGeneration().groups);
      await waitUntil(`step ${step} converged`, async () => {
        const now = await state(session, parents);
        if (source.isSynced) return show(now) === show(want);
        return [...want].every(([p, ids]) =>
          [...ids].every(([id, address]) => now.get(p)?.get(id) === address),
        );
      });
    }
    expect(syncer.status().lastError).toBeUndefined();
  });

  it("after the first pass, a change renders only the changed group's registrations", async () => {
    const source = new GroupedSource();
    twentyGroups(source);
    const { session, registry, syncer } = await start(source);
    const renders = countRenders(registry);
    syncer.start();
    t.defer(() => syncer.stop());
    await waitUntil("all registered", () => syncer.status().owned === 100);
    expect(renders.count).toBeGreaterThanOrEqual(100);

    renders.count = 0;
    source.set("g3", [reg("/services/s3", "i0", "10.9.9.9")]);
    await waitUntil(
      "g3 replaced",
      async () => (await session.getChildren("/services/s3")).length === 1,
    );
    await waitUntil("owned settles", () => syncer.status().owned === 96);
    expect(renders.count).toBe(1);
    const { data } = await session.getData("/services/s3/i0");
    expect(decodeCurator(data, "s3", "i0").address).toBe("10.9.9.9");
  });

  it("once allowed to delete, replans only the parents whose removes it held back", async () => {
    const source = new GroupedSource();
    source.isSynced = false;
    twentyGroups(source);
    const { session, registry, syncer } = await start(source);
    const renders = countRenders(registry);
    syncer.start();
    t.defer(() => syncer.stop());
    await waitUntil("all registered", () => syncer.status().owned === 100);
    source.set("g3", undefined);
    source.set("g7", [reg("/services/s7", "i0", "10.1.7.0")]);
    await waitUntil("g7 written", () => renders.count > 100);
    await new Promise((r) => setTimeout(r, 200));
    // Not synced: nothing removed yet.
    expect((await session.getChildren("/services/s3")).length).toBe(5);
    expect((await session.getChildren("/services/s7")).length).toBe(5);
    expect(syncer.status().inSync).toBe(false);

    renders.count = 0;
    source.sync(true);
    await waitUntil("in sync", () => syncer.status().inSync);
    expect(await session.exists("/services/s3")).toBeNull();
    expect(await session.getChildren("/services/s7")).toEqual(["i0"]);
    expect(syncer.status().owned).toBe(91);
    expect(renders.count).toBe(1); // s7's one registration: the 18 other parents were not replanned
  });

  it("restores nodes deleted behind its back, listing parents instead of rereading every node", async () => {
    const source = new GroupedSource();
    for (let g = 0; g < 5; g++) {
      source.set(
        `g${g}`,
        Array.from({ length: 4 }, (_, i) => reg(`/services/s${g}`, `i${i}`, `10.2.${g}.${i}`)),
      );
    }
    const { session, syncer } = await start(source, 150);
    let reads = 0; // node reads, one by one or in a multiRead
    const getData = session.getData.bind(session);
    session.getData = (path) => {
      reads++;
      return getData(path);
    };
    const multiRead = session.multiRead.bind(session);
    session.multiRead = (batch) => {
      reads += batch.filter((r) => r.op === "getData").length;
      return multiRead(batch);
    };
    syncer.start();
    t.defer(() => syncer.stop());
    await waitUntil("all registered", () => syncer.status().owned === 20);
    const readsAfterScan = reads;

    const other = await openSession(t.connect);
    t.defer(() => other.close());
    await other.remove("/services/s2/i1", -1);
    await other.remove("/services/s4/i3", -1);
    await waitUntil("both restored", async () => {
      const s2 = await other.getChildren("/services/s2");
      const s4 = await other.getChildren("/services/s4");
      return s2.includes("i1") && s4.includes("i3");
    });
    const { data } = await other.getData("/services/s2/i1");
    expect(decodeCurator(data, "s2", "i1").address).toBe("10.2.2.1");
    expect(syncer.status().owned).toBe(20);
    expect(reads).toBe(readsAfterScan);
  });

  it("regaining the lead in its own term skips the rescan; a new term rescans", async () => {
    const source = new GroupedSource();
    for (let g = 0; g < 5; g++) {
      source.set(
        `g${g}`,
        Array.from({ length: 4 }, (_, i) => reg(`/services/s${g}`, `i${i}`, `10.4.${g}.${i}`)),
      );
    }
    const gate = new TestGate();
    const { session, syncer } = await start(source, undefined, gate);
    let reads = 0;
    const multiRead = session.multiRead.bind(session);
    session.multiRead = (batch) => {
      for (const r of batch)
        if (r.op === "getData" && /^\/services\/s\d+\/i\d+$/.test(r.path)) reads++;
      return multiRead(batch);
    };
    syncer.start();
    t.defer(() => syncer.stop());
    await waitUntil("all registered", () => syncer.status().owned === 20 && syncer.status().inSync);

    reads = 0; // a rescan reads every instance node
    gate.flip(false); // e.g. a disconnect: our election node stays first
    expect(syncer.status().inSync).toBe(false);
    gate.flip(true);
    await waitUntil("in sync again, with nothing to write", () => syncer.status().inSync);
    source.set("g0", [reg("/services/s0", "i0", "10.4.9.9")]);
    await waitUntil("g0 replaced", () => syncer.status().owned === 17);
    expect(reads).toBe(0);

    gate.flip(false);
    gate.flip(true, "t2"); // someone else may have led in between
    await waitUntil("rescanned", () => reads >= 17);
  });
});
