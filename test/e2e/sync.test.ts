/**
 * `kube-zk-bridge sync` as a user runs it: the built binary, a real ZooKeeper, and the fake
 * Kubernetes API server driven through client-node. What the contract promises, end to end.
 */
import zookeeper from "node-zookeeper-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { decodeCurator } from "../../lib/formats/curator.js";
import { silentLogger } from "../../lib/log.js";
import { ZkSession } from "../../lib/zookeeper/session.js";
import { type EndpointSpec, service, slice } from "../kubernetes/objects.js";
import { type BridgeProcess, startCli } from "../support/cli.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { writeKubeconfig } from "../support/kubeconfig.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { sleep, waitUntil } from "../support/wait.js";
import { freePort, startZooKeeper, type ZooKeeperServer } from "../support/zookeeper.js";

describe("kube-zk-bridge sync (end to end)", () => {
  let zk: ZooKeeperServer;
  let api: FakeApiServer;
  let kubeconfig: string;
  let obs: ZkSession;
  const procs: BridgeProcess[] = [];
  let chroot = 0;

  beforeAll(async () => {
    zk = await startZooKeeper();
    obs = new ZkSession({ connect: zk.connect, sessionTimeoutMs: 10_000, logger: silentLogger() });
    await obs.start();
  });
  afterAll(async () => {
    await obs.close();
    await zk.stop();
  });
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop("SIGKILL")));
    await api?.close();
  });

  /** A fresh API server and chroot; returns the chroot path. */
  async function world() {
    api = await FakeApiServer.start();
    kubeconfig = await writeKubeconfig(api.url);
    const root = `/e2e-${++chroot}`;
    await obs.mkdirp(root);
    return root;
  }

  async function bridge(root: string, extra: string[] = [], connect = zk.connect) {
    const p = startCli([
      "sync",
      "--zk-connect",
      `${connect}${root}`,
      "--kubeconfig",
      kubeconfig,
      "--http-listen",
      `127.0.0.1:${await freePort()}`,
      "--zk-session-timeout",
      "6s",
      ...extra,
    ]);
    procs.push(p);
    return p;
  }

  const kids = async (path: string) =>
    (await obs.getChildren(path).catch(() => [] as string[])).sort();
  const owner = async (path: string) => (await obs.exists(path))?.ephemeralOwner.toString("hex");

  function shop(endpoints: EndpointSpec[]) {
    api.apply(
      service("shop", "web", {
        ports: [
          { name: "http", port: 80, targetPort: 8080 },
          { name: "metrics", port: 9090, targetPort: 9090 },
        ],
      }),
    );
    api.apply(
      slice("shop", "web-abc", "web", {
        ports: [
          { name: "http", port: 8080 },
          { name: "metrics", port: 9090 },
        ],
        endpoints,
      }),
    );
  }

  it("ready endpoints appear, not-ready never do, draining is marked, removals disappear", async () => {
    const root = await world();
    shop([
      { address: "10.0.0.5", pod: "web-1" },
      { address: "10.0.0.6", pod: "web-2" },
      { address: "10.0.0.7", pod: "web-3", ready: false, serving: false },
    ]);
    await bridge(root);
    const dir = `${root}/services/web.shop`;
    await waitUntil("two instances", async () => (await kids(dir)).length === 2);
    expect(await kids(dir)).toEqual(["web-1", "web-2"]);
    const r = decodeCurator((await obs.getData(`${dir}/web-1`)).data, "web.shop", "web-1");
    expect(r).toMatchObject({
      address: "10.0.0.5",
      port: 8080,
      ports: { http: 8080, metrics: 9090 },
    });
    expect(r.metadata).toMatchObject({
      instance_status: "UP",
      "port.metrics": "9090",
      "kube-zk-bridge.io/cluster": "default",
    });

    // web-2 starts terminating but still serves: draining first; then it leaves the slice.
    shop([
      { address: "10.0.0.5", pod: "web-1" },
      { address: "10.0.0.6", pod: "web-2", ready: false, serving: true, terminating: true },
      { address: "10.0.0.7", pod: "web-3", ready: false, serving: false },
    ]);
    await waitUntil("web-2 draining", async () => {
      const d = decodeCurator((await obs.getData(`${dir}/web-2`)).data, "web.shop", "web-2");
      return d.metadata.instance_status === "OUT_OF_SERVICE";
    });
    shop([{ address: "10.0.0.5", pod: "web-1" }]);
    await waitUntil("web-2 removed", async () => (await kids(dir)).length === 1);
    expect(await kids(dir)).toEqual(["web-1"]);

    api.remove("Service", "shop", "web");
    api.remove("EndpointSlice", "shop", "web-abc");
    await waitUntil("service removed", async () => (await obs.exists(dir)) === null);
  });

  it("another client's node survives reconcile and shutdown", async () => {
    const root = await world();
    const dir = `${root}/services/web.shop`;
    await obs.mkdirp(dir);
    const legacy = Buffer.from('{"name":"web.shop","id":"legacy","address":"10.1.1.1","port":80}');
    await obs.create(`${dir}/legacy`, legacy, zookeeper.CreateMode.EPHEMERAL);
    shop([{ address: "10.0.0.5", pod: "web-1" }]);
    const p = await bridge(root);
    await waitUntil("ours", async () => (await kids(dir)).length === 2);
    shop([]);
    await waitUntil("ours removed", async () => (await kids(dir)).length === 1);
    shop([{ address: "10.0.0.5", pod: "web-1" }]);
    await waitUntil("ours again", async () => (await kids(dir)).length === 2);
    expect(await p.stop()).toBe(0);
    expect(await kids(dir)).toEqual(["legacy"]);
    expect((await obs.getData(`${dir}/legacy`)).data).toEqual(legacy);
  });

  it("after SIGKILL, a restarted bridge takes over its predecessor's nodes at once", async () => {
    const root = await world();
    const dir = `${root}/services/web.shop`;
    shop([
      { address: "10.0.0.5", pod: "web-1" },
      { address: "10.0.0.6", pod: "web-2" },
    ]);
    // A long session: the old nodes would linger 60 s if the new process did not adopt them.
    const first = await bridge(root, [
      "--zk-session-timeout",
      "60s",
      "--format",
      "curator,serverset",
    ]);
    await waitUntil("registered", async () => (await kids(dir)).length === 2);
    const oldOwner = await owner(`${dir}/web-1`);
    await first.stop("SIGKILL");
    await bridge(root, ["--zk-session-timeout", "60s", "--format", "curator,serverset"]);
    await waitUntil(
      "adopted by the new process",
      async () => {
        const o = await owner(`${dir}/web-1`);
        return o !== undefined && o !== oldOwner;
      },
      30_000,
    );
    const members = await kids(`${root}/serversets/web.shop`);
    await waitUntil("members adopted", async () => {
      const m = await kids(`${root}/serversets/web.shop`);
      const owners = await Promise.all(m.map((x) => owner(`${root}/serversets/web.shop/${x}`)));
      return m.length === 2 && owners.every((o) => o !== oldOwner);
    });
    expect(members).toHaveLength(2);
    expect(await kids(dir)).toEqual(["web-1", "web-2"]);
  });

  it("after ZooKeeper restarts, every registration is back", async () => {
    const own = await startZooKeeper();
    try {
      const root = await world();
      shop([
        { address: "10.0.0.5", pod: "web-1" },
        { address: "10.0.0.6", pod: "web-2" },
      ]);
      const local = new ZkSession({
        connect: own.connect,
        sessionTimeoutMs: 10_000,
        logger: silentLogger(),
      });
      await local.start();
      await local.mkdirp(root);
      await bridge(root, ["--zk-session-timeout", "2s"], own.connect);
      const dir = `${root}/services/web.shop`;
      const count = async () => (await local.getChildren(dir).catch(() => [])).length;
      await waitUntil("registered", async () => (await count()) === 2);
      await local.close();
      await own.kill();
      await sleep(3000); // longer than the session timeout: the server will expire it
      await own.start();
      const again = new ZkSession({
        connect: own.connect,
        sessionTimeoutMs: 10_000,
        logger: silentLogger(),
      });
      await again.start();
      try {
        await waitUntil(
          "registrations back",
          async () => (await again.getChildren(dir).catch(() => [])).length === 2,
          40_000,
        );
      } finally {
        await again.close();
      }
    } finally {
      await own.stop();
    }
  });

  it("a reconnect within the session timeout causes no churn", async () => {
    const root = await world();
    const proxy = await startTcpProxy(zk.port);
    try {
      shop([{ address: "10.0.0.5", pod: "web-1" }]);
      await bridge(root, ["--zk-session-timeout", "8s"], proxy.connect);
      const path = `${root}/services/web.shop/web-1`;
      await waitUntil("registered", async () => (await obs.exists(path)) !== null);
      const before = await obs.exists(path);
      proxy.blackhole(true);
      await sleep(3500); // the liveness probe notices and drops the link
      proxy.blackhole(false);
      await sleep(3000);
      const after = await obs.exists(path);
      expect(after?.czxid).toEqual(before?.czxid);
      expect(after?.mzxid).toEqual(before?.mzxid);
      expect(after?.ephemeralOwner).toEqual(before?.ephemeralOwner);
    } finally {
      await proxy.close();
    }
  });

  it("converges after a watch 410, dropped watches and a burst of 500s", async () => {
    const root = await world();
    shop([{ address: "10.0.0.5", pod: "web-1" }]);
    await bridge(root);
    const dir = `${root}/services/web.shop`;
    await waitUntil("registered", async () => (await kids(dir)).length === 1);
    api.expireHistory();
    api.dropWatches();
    shop([
      { address: "10.0.0.5", pod: "web-1" },
      { address: "10.0.0.6", pod: "web-2" },
    ]);
    await waitUntil("after 410", async () => (await kids(dir)).length === 2);
    api.failNext(6, 500);
    api.dropWatches();
    shop([{ address: "10.0.0.6", pod: "web-2" }]);
    await waitUntil("after 500s", async () => (await kids(dir)).join() === "web-2", 40_000);
  });

  it("--dry-run logs the plan and writes nothing", async () => {
    const root = await world();
    shop([{ address: "10.0.0.5", pod: "web-1" }]);
    const p = await bridge(root, ["--dry-run"]);
    await waitUntil("the plan logged", () =>
      p.logs.some(
        (l) =>
          l.msg === "would change registry" && String(l.path).endsWith("/services/web.shop/web-1"),
      ),
    );
    expect(await obs.exists(`${root}/services`)).toBeNull();
  });
});
