import zookeeper from "node-zookeeper-client";
import { describe, expect, it } from "vitest";
import { decodeCurator } from "../../lib/formats/curator.js";
import { decodeServerSet } from "../../lib/formats/serverset.js";
import type { DesiredRegistration } from "../../lib/registration.js";
import type { ZkSession } from "../../lib/zookeeper/session.js";
import { startPre36Proxy } from "../support/pre-3.6-proxy.js";
import { openSession } from "../support/session.js";
import { StaticSource } from "../support/static-source.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { waitUntil } from "../support/wait.js";
import { startZooKeeper } from "../support/zookeeper.js";
import { desired, perTestChroot, wireSyncer } from "./support.js";

/** web.shop with two named ports and the metadata the source writes. */
const reg = (id: string, address: string, extra: Partial<DesiredRegistration> = {}) =>
  desired(id, address, {
    ports: { http: 8080, metrics: 9090 },
    metadata: { "kube-zk-bridge.io/cluster": "default", "k8s.namespace": "shop" },
    ...extra,
  });
const ss = (id: string, address: string) =>
  reg(id, address, { format: "serverset", parent: "/serversets/web.shop" });

describe("Syncer against a real ZooKeeper", () => {
  const t = perTestChroot();

  async function session(conn = t.connect, sessionTimeoutMs = 4000) {
    const s = await openSession(conn, sessionTimeoutMs);
    t.defer(() => s.close());
    return s;
  }

  async function bridge(
    source: StaticSource,
    opts: { conn?: string; dryRun?: boolean; payload?: "spring" | "none"; timeout?: number } = {},
  ) {
    const s = await session(opts.conn ?? t.connect, opts.timeout ?? 4000);
    const { syncer } = wireSyncer(s, source, { payload: opts.payload, dryRun: opts.dryRun });
    syncer.start();
    t.defer(() => syncer.stop());
    return { s, syncer };
  }

  async function children(obs: ZkSession, path: string) {
    return (await obs.getChildren(path).catch(() => [] as string[])).sort();
  }

  it("registers ephemeral nodes in both formats that decode back to the registration", async () => {
    const obs = await session();
    const src = new StaticSource([
      reg("web-1", "10.0.0.1"),
      reg("web-2", "10.0.0.2"),
      ss("web-1", "10.0.0.1"),
    ]);
    const { s } = await bridge(src);
    await waitUntil("nodes", async () => (await children(obs, "/services/web.shop")).length === 2);
    const { data, stat } = await obs.getData("/services/web.shop/web-1");
    expect(stat.ephemeralOwner.toString("hex")).toBe(s.sessionId);
    expect(decodeCurator(data, "web.shop", "web-1")).toMatchObject({
      address: "10.0.0.1",
      port: 8080,
      draining: false,
    });
    const members = await waitUntil("member", async () => {
      const m = await children(obs, "/serversets/web.shop");
      return m.length === 1 ? m : undefined;
    });
    expect(members[0]).toMatch(/^member_\d{10}$/);
    const member = decodeServerSet(
      (await obs.getData(`/serversets/web.shop/${members[0]}`)).data,
      "web.shop",
      "m",
    );
    expect(member).toMatchObject({ address: "10.0.0.1", port: 8080, draining: false });
  });

  it("updates in place, removes what vanished, and never touches another client's node", async () => {
    const obs = await session();
    await obs.mkdirp("/services/web.shop");
    const foreignData = Buffer.from(
      '{"name":"web.shop","id":"legacy-1","address":"10.9.9.9","port":1}',
    );
    await obs.create("/services/web.shop/legacy-1", foreignData, zookeeper.CreateMode.EPHEMERAL);
    const src = new StaticSource([reg("web-1", "10.0.0.1"), reg("web-2", "10.0.0.2")]);
    const { syncer } = await bridge(src);
    await waitUntil(
      "two of ours",
      async () => (await children(obs, "/services/web.shop")).length === 3,
    );
    const czxid = (await obs.exists("/services/web.shop/web-1"))?.czxid;

    src.set([reg("web-1", "10.0.0.1", { draining: true })]);
    await waitUntil(
      "web-2 removed",
      async () => (await children(obs, "/services/web.shop")).length === 2,
    );
    const web1 = await obs.getData("/services/web.shop/web-1");
    expect(web1.stat.czxid).toEqual(czxid); // updated in place, not re-created
    expect(decodeCurator(web1.data, "web.shop", "web-1").draining).toBe(true);

    src.set([]);
    await waitUntil(
      "all ours removed",
      async () => (await children(obs, "/services/web.shop")).length === 1,
    );
    await syncer.stop();
    expect(await children(obs, "/services/web.shop")).toEqual(["legacy-1"]);
    expect((await obs.getData("/services/web.shop/legacy-1")).data).toEqual(foreignData);
  });

  it("a registry of many chunks lands whole, writes overlapping; a foreign node mid-way costs only itself", async () => {
    const obs = await session();
    // 100 services × 50 endpoints: five planning chunks, some written while others render.
    const regs = Array.from({ length: 5000 }, (_, i) =>
      reg(`web-${i % 50}`, `10.1.${Math.floor(i / 50)}.${i % 50}`, {
        service: `svc-${Math.floor(i / 50)}`,
        parent: `/services/svc-${Math.floor(i / 50)}`,
      }),
    );
    await obs.mkdirp("/services/svc-31");
    await obs.create(
      "/services/svc-31/web-7",
      Buffer.from("theirs"),
      zookeeper.CreateMode.EPHEMERAL,
    );
    const { syncer } = await bridge(new StaticSource(regs));
    // Progress while the chunks are written: never backwards, whole parents (50 each), of all
    // 5,000. The scanned svc-31 is a chunk of its own, read before the rest was planned.
    const seen: number[] = [];
    const totals = new Set<number>();
    await waitUntil(
      "in sync",
      async () => {
        const { inSync, progress } = syncer.status();
        if (progress) {
          totals.add(progress.total);
          if (progress.done !== seen.at(-1)) seen.push(progress.done);
        }
        return inSync;
      },
      20_000,
      1,
    );
    expect([...totals]).toEqual([5000]);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
    expect(seen.every((n) => n % 50 === 0 && n < 5000)).toBe(true);
    expect(syncer.status().progress).toBeUndefined();
    expect(syncer.status().owned).toBe(4999);
    for (const svc of [0, 31, 99]) {
      const names = await children(obs, `/services/svc-${svc}`);
      expect(names).toHaveLength(50);
    }
    expect((await obs.getData("/services/svc-31/web-7")).data).toEqual(Buffer.from("theirs"));
    const sample = await obs.getData("/services/svc-99/web-49");
    expect(decodeCurator(sample.data, "svc-99", "web-49").address).toBe("10.1.99.49");
  });

  it("a registration that cannot be written is skipped; the rest of the pass lands", async () => {
    const obs = await session();
    // A zone-scoped IPv6 literal: net.isIP accepts it, the Curator encoder refuses it.
    const src = new StaticSource([
      reg("web-1", "10.0.0.1"),
      reg("web-bad", "fe80::1%eth0"),
      reg("web-2", "10.0.0.2"),
    ]);
    await bridge(src);
    await waitUntil(
      "the writable two",
      async () => (await children(obs, "/services/web.shop")).length === 2,
    );
    expect(await children(obs, "/services/web.shop")).toEqual(["web-1", "web-2"]);
    // Later changes still flow, and the bad one never blocks them.
    src.set([reg("web-bad", "fe80::1%eth0"), reg("web-3", "10.0.0.3")]);
    await waitUntil(
      "web-3 replaces web-1 and web-2",
      async () => (await children(obs, "/services/web.shop")).join() === "web-3",
    );
  });

  it("deletes nothing until the source has synced; empty parents it made are cleaned up", async () => {
    const obs = await session();
    const src = new StaticSource([
      reg("web-1", "10.0.0.1"),
      reg("a-1", "10.0.0.3", { service: "a.b", parent: "/services/a.b" }),
    ]);
    await bridge(src);
    await waitUntil("a.b", async () => (await children(obs, "/services/a.b")).length === 1);
    src.set([], false);
    await new Promise((r) => setTimeout(r, 500));
    expect(await children(obs, "/services/a.b")).toEqual(["a-1"]);
    src.set([reg("web-1", "10.0.0.1")], true);
    await waitUntil("a.b gone", async () => (await obs.exists("/services/a.b")) === null);
    expect(await children(obs, "/services/web.shop")).toEqual(["web-1"]);
  });

  it("a restarted bridge adopts its predecessor's nodes at once, in every format and payload", async () => {
    const obs = await session();
    const want = [reg("web-1", "10.0.0.1"), ss("web-1", "10.0.0.1")];
    const first = await bridge(new StaticSource(want), { payload: "none" });
    await waitUntil(
      "first",
      async () => (await children(obs, "/serversets/web.shop")).length === 1,
    );
    const oldMember = (await children(obs, "/serversets/web.shop"))[0];
    // The first incarnation "crashes": its session stays open on the server, it writes no more.
    await first.syncer.stop();
    const second = await bridge(new StaticSource(want, false), { payload: "none" });
    await waitUntil("adopted", async () => {
      const stat = await obs.exists("/services/web.shop/web-1");
      return stat?.ephemeralOwner.toString("hex") === second.s.sessionId;
    });
    await waitUntil("member adopted", async () => {
      const m = await children(obs, "/serversets/web.shop");
      if (m.length !== 1 || m[0] === oldMember) return false;
      return (
        (await obs.exists(`/serversets/web.shop/${m[0]}`))?.ephemeralOwner.toString("hex") ===
        second.s.sessionId
      );
    });
    await first.s.close(); // the old session ends: nothing of ours goes with it
    expect(await children(obs, "/services/web.shop")).toEqual(["web-1"]);
    expect(await children(obs, "/serversets/web.shop")).toHaveLength(1);
  });

  for (const older of [false, true]) {
    const server = older
      ? "a server older than 3.6 (reads one by one)"
      : "ZooKeeper 3.8 (multiRead)";
    it(`a restart over many parents adopts, removes and creates across scan batches, on ${server}`, async () => {
      const obs = await session();
      const svc = (n: number, e: number) =>
        reg(`web-${e}`, `10.${2 + (n >> 8)}.${n & 255}.${e}`, {
          service: `svc-${n}`,
          parent: `/services/svc-${n}`,
        });
      const range = (from: number, to: number) =>
        Array.from({ length: to - from }, (_, i) => from + i).flatMap((n) =>
          [0, 1, 2, 3, 4].map((e) => svc(n, e)),
        );
      const first = await bridge(new StaticSource(range(0, 300)));
      await waitUntil("first in sync", async () => first.syncer.status().inSync, 20_000);
      await first.syncer.stop(); // its session stays open, holding all 1,500
      await obs.create(
        "/services/svc-250/theirs",
        Buffer.from("x"),
        zookeeper.CreateMode.EPHEMERAL,
      );
      const [hostPort = "", chroot = ""] = t.connect.split(/(?=\/)/);
      const proxy = older ? await startPre36Proxy(Number(hostPort.split(":")[1])) : undefined;
      if (proxy) t.defer(() => proxy.close());
      // Scanned parents: svc-0..199 still wanted (1,000: one batch), svc-200..299 no longer
      // (another batch); svc-300..349 do not exist yet (planned after the scan).
      const second = await bridge(new StaticSource([...range(0, 200), ...range(300, 350)], true), {
        conn: proxy ? `${proxy.connect}${chroot}` : t.connect,
      });
      await waitUntil("second in sync", async () => second.syncer.status().inSync, 20_000);
      expect(second.syncer.status().owned).toBe(1250);
      for (const n of [0, 123, 199, 300, 349]) {
        const names = await children(obs, `/services/svc-${n}`);
        expect(names).toEqual(["web-0", "web-1", "web-2", "web-3", "web-4"]);
        const stat = await obs.exists(`/services/svc-${n}/web-3`);
        expect(stat?.ephemeralOwner.toString("hex")).toBe(second.s.sessionId);
      }
      expect(await obs.exists("/services/svc-200")).toBeNull();
      expect(await children(obs, "/services/svc-250")).toEqual(["theirs"]);
      if (proxy) expect(proxy.refused).toBe(1); // multiRead asked once, then never again
    });
  }

  it("after session expiry every registration comes back", async () => {
    const zk = await startZooKeeper();
    t.defer(() => zk.stop());
    const proxy = await startTcpProxy(zk.port);
    t.defer(() => proxy.close());
    const obs = await session(zk.connect);
    const want = [reg("web-1", "10.0.0.1"), reg("web-2", "10.0.0.2"), ss("web-1", "10.0.0.1")];
    const { s } = await bridge(new StaticSource(want), { conn: proxy.connect, timeout: 1500 });
    await waitUntil(
      "registered",
      async () => (await children(obs, "/services/web.shop")).length === 2,
    );
    const firstSession = s.sessionId;
    const before = (await obs.getData("/services/web.shop/web-1")).data;
    proxy.blackhole(true);
    await waitUntil(
      "expiry removed them",
      async () => (await children(obs, "/services/web.shop")).length === 0,
    );
    proxy.blackhole(false);
    await waitUntil(
      "back",
      async () => (await children(obs, "/services/web.shop")).length === 2,
      30_000,
    );
    await waitUntil(
      "member back",
      async () => (await children(obs, "/serversets/web.shop")).length === 1,
    );
    expect(s.sessionId).not.toEqual(firstSession);
    // Registered again as Curator re-registers: the same bytes, the first registration time.
    expect((await obs.getData("/services/web.shop/web-1")).data).toEqual(before);
  });

  it("--dry-run computes the plan and writes nothing", async () => {
    const obs = await session();
    const { syncer } = await bridge(new StaticSource([reg("web-1", "10.0.0.1")]), { dryRun: true });
    await waitUntil("a pass", () => syncer.status().inSync);
    expect(await obs.exists("/services")).toBeNull();
    expect(await obs.exists("/kube-zk-bridge")).toBeNull();
  });
});
