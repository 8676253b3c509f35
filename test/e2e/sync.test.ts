/**
 * `kube-zk-bridge sync` as a user runs it: the built binary, a real ZooKeeper, and the fake
 * Kubernetes API server driven through client-node. What the contract promises, end to end.
 */
import zookeeper from "node-zookeeper-client";
import { describe, expect, it } from "vitest";
import { decodeCurator } from "../../lib/formats/curator.js";
import { type EndpointSpec, service, slice } from "../kubernetes/objects.js";
import type { FakeApiServer } from "../support/fake-apiserver.js";
import { openSession } from "../support/session.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { sleep, waitUntil } from "../support/wait.js";
import { startZooKeeper } from "../support/zookeeper.js";
import { ownZooKeeper } from "./support.js";

describe("kube-zk-bridge sync (end to end)", () => {
  const own = ownZooKeeper();
  let api: FakeApiServer;
  let kubeconfig: string;
  let chroot = 0;

  /** A fresh API server and chroot; returns the chroot path. */
  async function world() {
    ({ api, kubeconfig } = await own.cluster());
    const root = `/e2e-${++chroot}`;
    await own.obs.mkdirp(root);
    return root;
  }

  async function bridge(root: string, extra: string[] = [], connect = own.zk.connect) {
    const { proc } = await own.sync({
      zkConnect: `${connect}${root}`,
      kubeconfig,
      sessionTimeout: "6s",
      extra,
    });
    return proc;
  }

  const kids = async (path: string) =>
    (await own.obs.getChildren(path).catch(() => [] as string[])).sort();
  const owner = async (path: string) =>
    (await own.obs.exists(path))?.ephemeralOwner.toString("hex");

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
    const r = decodeCurator((await own.obs.getData(`${dir}/web-1`)).data, "web.shop", "web-1");
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
      const d = decodeCurator((await own.obs.getData(`${dir}/web-2`)).data, "web.shop", "web-2");
      return d.metadata.instance_status === "OUT_OF_SERVICE";
    });
    shop([{ address: "10.0.0.5", pod: "web-1" }]);
    await waitUntil("web-2 removed", async () => (await kids(dir)).length === 1);
    expect(await kids(dir)).toEqual(["web-1"]);

    api.remove("Service", "shop", "web");
    api.remove("EndpointSlice", "shop", "web-abc");
    await waitUntil("service removed", async () => (await own.obs.exists(dir)) === null);
  });

  it("another client's node survives reconcile and shutdown", async () => {
    const root = await world();
    const dir = `${root}/services/web.shop`;
    await own.obs.mkdirp(dir);
    const legacy = Buffer.from('{"name":"web.shop","id":"legacy","address":"10.1.1.1","port":80}');
    await own.obs.create(`${dir}/legacy`, legacy, zookeeper.CreateMode.EPHEMERAL);
    shop([{ address: "10.0.0.5", pod: "web-1" }]);
    const p = await bridge(root);
    await waitUntil("ours", async () => (await kids(dir)).length === 2);
    shop([]);
    await waitUntil("ours removed", async () => (await kids(dir)).length === 1);
    shop([{ address: "10.0.0.5", pod: "web-1" }]);
    await waitUntil("ours again", async () => (await kids(dir)).length === 2);
    expect(await p.stop()).toBe(0);
    expect(await kids(dir)).toEqual(["legacy"]);
    expect((await own.obs.getData(`${dir}/legacy`)).data).toEqual(legacy);
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

  it("a restart whose list is still paging writes the first page at once and drops nothing", async () => {
    const root = await world();
    // 520 Services: a list page holds 500, so the last 20 are on a second page.
    const name = (i: number) => `s${String(i).padStart(3, "0")}`;
    const one = (i: number, pods: number) => {
      api.apply(service("shop", name(i)));
      api.apply(
        slice("shop", `${name(i)}-abc`, name(i), {
          endpoints: Array.from({ length: pods }, (_, p) => ({
            address: `10.${1 + p}.${i >> 8}.${i & 255}`,
            pod: `${name(i)}-${p}`,
          })),
        }),
      );
    };
    for (let i = 0; i < 520; i++) one(i, 1);
    const dir = (i: number) => `${root}/services/${name(i)}.shop`;
    const first = await bridge(root, ["--zk-session-timeout", "60s"]);
    await waitUntil(
      "all 520 registered",
      async () =>
        (await kids(`${root}/services`)).length === 520 && (await kids(dir(519))).length === 1,
      30_000,
    );
    const oldOwner = await owner(`${dir(519)}/${name(519)}-0`);
    await first.stop("SIGKILL"); // its session lingers for 60 s, holding every node

    one(0, 2); // s000 (first page) gets a second pod while no bridge runs
    api.holdListPages(true);
    await bridge(root, ["--zk-session-timeout", "60s"]);
    await waitUntil(
      "s000's new pod, from the first page",
      async () => (await kids(dir(0))).includes(`${name(0)}-1`),
      30_000,
    );
    // The second page is still held: its Services' nodes are adopted as they are, not dropped.
    await waitUntil("s519 adopted", async () => {
      const o = await owner(`${dir(519)}/${name(519)}-0`);
      return o !== undefined && o !== oldOwner;
    });
    expect((await kids(`${root}/services`)).length).toBe(520);
    api.holdListPages(false);
    await sleep(500);
    for (const i of [0, 250, 499, 500, 519]) expect(await kids(dir(i))).not.toHaveLength(0);
    expect(await kids(dir(0))).toEqual([`${name(0)}-0`, `${name(0)}-1`]);
  });

  it("after ZooKeeper restarts, every registration is back", async () => {
    const zk = await startZooKeeper(); // this test's own: it restarts it
    try {
      const root = await world();
      shop([
        { address: "10.0.0.5", pod: "web-1" },
        { address: "10.0.0.6", pod: "web-2" },
      ]);
      const local = await openSession(zk.connect, 10_000);
      await local.mkdirp(root);
      await bridge(root, ["--zk-session-timeout", "2s"], zk.connect);
      const dir = `${root}/services/web.shop`;
      const count = async () => (await local.getChildren(dir).catch(() => [])).length;
      await waitUntil("registered", async () => (await count()) === 2);
      await local.close();
      await zk.kill();
      await sleep(3000); // longer than the session timeout: the server will expire it
      await zk.start();
      const again = await openSession(zk.connect, 10_000);
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
      await zk.stop();
    }
  });

  it("a reconnect within the session timeout causes no churn", async () => {
    const root = await world();
    const proxy = await startTcpProxy(own.zk.port);
    try {
      shop([{ address: "10.0.0.5", pod: "web-1" }]);
      await bridge(root, ["--zk-session-timeout", "8s"], proxy.connect);
      const path = `${root}/services/web.shop/web-1`;
      await waitUntil("registered", async () => (await own.obs.exists(path)) !== null);
      const before = await own.obs.exists(path);
      proxy.blackhole(true);
      await sleep(3500); // the liveness probe notices and drops the link
      proxy.blackhole(false);
      await sleep(3000);
      const after = await own.obs.exists(path);
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
    expect(await own.obs.exists(`${root}/services`)).toBeNull();
  });
});
