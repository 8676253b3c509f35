import zookeeper from "node-zookeeper-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeCurator } from "../../lib/formats/curator.js";
import { decodeServerSet } from "../../lib/formats/serverset.js";
import { silentLogger } from "../../lib/log.js";
import type { DesiredRegistration } from "../../lib/registration.js";
import { Syncer } from "../../lib/sync/syncer.js";
import { ZkRegistry } from "../../lib/zookeeper/registry.js";
import { ZkSession } from "../../lib/zookeeper/session.js";
import { StaticSource } from "../support/static-source.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { waitUntil } from "../support/wait.js";
import { freshChroot } from "../support/zk-chroot.js";
import { startZooKeeper } from "../support/zookeeper.js";

function reg(
  id: string,
  address: string,
  extra: Partial<DesiredRegistration> = {},
): DesiredRegistration {
  return {
    service: "web.shop",
    id,
    address,
    port: 8080,
    ports: { http: 8080, metrics: 9090 },
    metadata: { "kube-zk-bridge.io/cluster": "default", "k8s.namespace": "shop" },
    draining: false,
    format: "curator",
    parent: "/services/web.shop",
    ...extra,
  };
}
const ss = (id: string, address: string) =>
  reg(id, address, { format: "serverset", parent: "/serversets/web.shop" });

describe("Syncer against a real ZooKeeper", () => {
  let connect: string;
  const cleanups: Array<() => Promise<void>> = [];
  beforeEach(async () => {
    connect = await freshChroot();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function session(conn = connect, sessionTimeoutMs = 4000) {
    const s = new ZkSession({ connect: conn, sessionTimeoutMs, logger: silentLogger() });
    await s.start();
    cleanups.push(() => s.close());
    return s;
  }

  async function bridge(
    source: StaticSource,
    opts: { conn?: string; dryRun?: boolean; payload?: "spring" | "none"; timeout?: number } = {},
  ) {
    const s = await session(opts.conn ?? connect, opts.timeout ?? 4000);
    const registry = new ZkRegistry({
      session: s,
      clusterName: "default",
      basePath: "/services",
      serversetBasePath: "/serversets",
      curatorPayload: opts.payload ?? "spring",
      logger: silentLogger(),
    });
    const syncer = new Syncer({
      source,
      registry,
      session: s,
      logger: silentLogger(),
      dryRun: opts.dryRun ?? false,
    });
    syncer.start();
    cleanups.push(() => syncer.stop());
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

  it("after session expiry every registration comes back", async () => {
    const zk = await startZooKeeper();
    cleanups.push(() => zk.stop());
    const proxy = await startTcpProxy(zk.port);
    cleanups.push(() => proxy.close());
    const obs = await session(zk.connect);
    const want = [reg("web-1", "10.0.0.1"), reg("web-2", "10.0.0.2"), ss("web-1", "10.0.0.1")];
    const { s } = await bridge(new StaticSource(want), { conn: proxy.connect, timeout: 1500 });
    await waitUntil(
      "registered",
      async () => (await children(obs, "/services/web.shop")).length === 2,
    );
    const firstSession = s.sessionId;
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
  });

  it("--dry-run computes the plan and writes nothing", async () => {
    const obs = await session();
    const { syncer } = await bridge(new StaticSource([reg("web-1", "10.0.0.1")]), { dryRun: true });
    await waitUntil("a pass", () => syncer.status().inSync);
    expect(await obs.exists("/services")).toBeNull();
    expect(await obs.exists("/kube-zk-bridge")).toBeNull();
  });
});
