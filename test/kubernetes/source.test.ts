/**
 * KubernetesSource end to end against the fake apiserver (real HTTP, real watch streams):
 * convergence, and recovery from every failure the fake can inject.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KubernetesSource, type KubernetesSourceOptions } from "../../lib/kubernetes/source.js";
import { silentLogger } from "../../lib/log.js";
import { createMetrics, type Metrics } from "../../lib/metrics.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { endpoints, node, nodeAddressedService, service, slice } from "./objects.js";
import { waitFor } from "./wait.js";

let fake: FakeApiServer;
let metrics: Metrics;
const sources: KubernetesSource[] = [];

beforeEach(async () => {
  // Bookmarks every 100 ms keep healthy idle watches well inside the 1 s watchdog.
  fake = await FakeApiServer.start({ bookmarkIntervalMs: 100 });
  metrics = createMetrics();
});

afterEach(async () => {
  for (const s of sources.splice(0)) await s.stop();
  await fake.close();
});

function makeSource(opts: Partial<KubernetesSourceOptions> = {}): KubernetesSource {
  const source = new KubernetesSource({
    kubeConfig: fake.kubeConfig(),
    namespaces: "all",
    clusterName: "test",
    defaultFormats: ["curator"],
    basePath: "/services",
    serversetBasePath: "/serversets",
    logger: silentLogger(),
    metrics,
    watchdogMs: 1000,
    backoff: { initialMs: 20, maxMs: 200 },
    coalesceMs: 5,
    ...opts,
  });
  sources.push(source);
  return source;
}

/** The desired state in one line per registration. */
function view(source: KubernetesSource): string[] {
  return source
    .desired()
    .map((r) => `${r.parent}/${r.id} ${r.address}:${r.port}${r.draining ? " draining" : ""}`);
}

async function converge(
  source: KubernetesSource,
  want: string[],
  what = "the desired state",
): Promise<void> {
  await waitFor(
    `${what}: ${JSON.stringify(want)}`,
    () => JSON.stringify(view(source)) === JSON.stringify(want),
  );
}

async function restarts(reason?: string): Promise<number> {
  const m = await metrics.kubernetesRestarts.get();
  return m.values
    .filter((v) => !reason || v.labels.reason === reason)
    .reduce((n, v) => n + v.value, 0);
}

function webSlice(
  ...pods: Array<[pod: string, ip: string, state?: "ready" | "draining" | "not-ready"]>
) {
  return slice("shop", "web-abc", "web", {
    endpoints: pods.map(([pod, address, state]) => ({
      pod,
      address,
      ready: state === undefined || state === "ready",
      serving: state !== "not-ready",
      terminating: state === "draining",
    })),
  });
}

describe("KubernetesSource", () => {
  it("converges on creates, updates and deletes of Services and slices", async () => {
    const source = makeSource();
    let changes = 0;
    source.onChange(() => changes++);
    await source.start();
    await waitFor("the initial sync", () => source.synced());
    expect(view(source)).toEqual([]);

    fake.apply(service("shop", "web"));
    fake.apply(webSlice(["web-1", "10.0.0.1"]));
    await converge(source, ["/services/web.shop/web-1 10.0.0.1:8080"]);

    fake.apply(
      webSlice(
        ["web-1", "10.0.0.1", "draining"],
        ["web-2", "10.0.0.2"],
        ["web-3", "10.0.0.3", "not-ready"],
      ),
    );
    await converge(source, [
      "/services/web.shop/web-1 10.0.0.1:8080 draining",
      "/services/web.shop/web-2 10.0.0.2:8080",
    ]);

    fake.apply(service("shop", "web", { annotations: { "kube-zk-bridge.io/name": "legacy-web" } }));
    await converge(source, [
      "/services/legacy-web/web-1 10.0.0.1:8080 draining",
      "/services/legacy-web/web-2 10.0.0.2:8080",
    ]);

    fake.remove("EndpointSlice", "shop", "web-abc");
    await converge(source, []);
    fake.apply(webSlice(["web-4", "10.0.0.4"]));
    await converge(source, ["/services/legacy-web/web-4 10.0.0.4:8080"]);
    fake.remove("Service", "shop", "web");
    await converge(source, []);

    expect(changes).toBeGreaterThan(0);
    expect(source.progress()).toMatchObject({
      services: 0,
      endpoints: 1,
      synced: true,
      initialSyncDone: true,
    });
    expect(await restarts()).toBe(0);
  });

  it("is not synced until every initial list has completed", async () => {
    fake.apply(service("shop", "web"));
    fake.apply(webSlice(["web-1", "10.0.0.1"]));
    fake.failNext(4, 500);
    const source = makeSource();
    await source.start();
    expect(source.synced()).toBe(false);
    await waitFor("the injected failures to be used up", () => fake.requests("list") >= 4);
    await waitFor("the initial sync", () => source.synced());
    expect(view(source)).toEqual(["/services/web.shop/web-1 10.0.0.1:8080"]);
    expect(source.progress().initialSyncDone).toBe(true);
    expect(await restarts("error")).toBeGreaterThanOrEqual(4);
  });

  it("keeps a healthy idle watch: bookmarks keep it inside the watchdog", async () => {
    const source = makeSource();
    await source.start();
    await waitFor("the initial sync", () => source.synced());
    const lists = fake.requests("list");
    // Several watchdog periods with no changes at all.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await restarts()).toBe(0);
    expect(fake.requests("list")).toBe(lists);
    expect(source.synced()).toBe(true);
  });

  it("resumes a cleanly ended watch from its resourceVersion without relisting", async () => {
    fake.apply(service("shop", "web"));
    const source = makeSource();
    await source.start();
    await waitFor("the initial sync", () => source.synced());
    const lists = fake.requests("list");
    const watches = fake.requests("watch");
    fake.endWatches();
    fake.apply(webSlice(["web-1", "10.0.0.1"]));
    await converge(source, ["/services/web.shop/web-1 10.0.0.1:8080"]);
    await waitFor("the watches to be reopened", () => fake.requests("watch") >= watches + 2);
    expect(fake.requests("list")).toBe(lists);
    expect(await restarts()).toBe(0);
  });

  it("relists after 410 Expired and sees what it missed, staying synced", async () => {
    fake.apply(service("shop", "web"));
    fake.apply(webSlice(["web-1", "10.0.0.1"]));
    const source = makeSource();
    await source.start();
    await converge(source, ["/services/web.shop/web-1 10.0.0.1:8080"]);
    let unsynced = 0;
    source.onChange(() => {
      if (!source.synced()) unsynced++;
    });
    const slicesListed = fake.requests("list", "endpointslices");
    // The watches end, the slice goes, history is compacted: the resume gets 410.
    fake.endWatches();
    fake.remove("EndpointSlice", "shop", "web-abc");
    fake.expireHistory();
    await converge(source, []);
    expect(fake.requests("list", "endpointslices")).toBe(slicesListed + 1);
    expect(await restarts()).toBe(0);
    expect(unsynced).toBe(0);
  });

  it("restarts dropped watches, relists, and is unsynced until then", async () => {
    fake.apply(service("shop", "web"));
    fake.apply(webSlice(["web-1", "10.0.0.1"]));
    const source = makeSource();
    await source.start();
    await converge(source, ["/services/web.shop/web-1 10.0.0.1:8080"]);
    const seen: boolean[] = [];
    source.onChange(() => seen.push(source.synced()));
    // The lists after the restart fail for a while: synced() must say so meanwhile.
    fake.failNext(6, 500);
    fake.dropWatches();
    fake.apply(webSlice(["web-2", "10.0.0.2"]));
    await waitFor("the failures to be used up", () => fake.failuresLeft === 0);
    await converge(source, ["/services/web.shop/web-2 10.0.0.2:8080"]);
    // Subscribers hear of both transitions: unsynced, then synced again.
    await waitFor("a notification once resynced", () => seen.at(-1) === true);
    expect(seen).toContain(false);
    expect(source.synced()).toBe(true);
    expect(await restarts("error")).toBeGreaterThanOrEqual(2);
    expect(source.progress().informers.every((i) => i.synced)).toBe(true);
  });

  it("restarts a silently dead watch (watchdog) and relists", async () => {
    fake.apply(service("shop", "web"));
    fake.apply(webSlice(["web-1", "10.0.0.1"]));
    const source = makeSource();
    await source.start();
    await converge(source, ["/services/web.shop/web-1 10.0.0.1:8080"]);
    fake.silence(true);
    fake.apply(webSlice(["web-2", "10.0.0.2"]));
    // Only a relist can bring this in: every watch is dead.
    await converge(source, ["/services/web.shop/web-2 10.0.0.2:8080"]);
    expect(await restarts("silent")).toBeGreaterThanOrEqual(1);
    fake.silence(false);
    // Once the watchdog has replaced every dead watch (and relisted), live events flow again.
    await waitFor(
      "no dead watch left, and resynced",
      () => fake.deadWatches === 0 && source.synced(),
    );
    const lists = fake.requests("list");
    fake.apply(webSlice(["web-3", "10.0.0.3"]));
    await converge(source, ["/services/web.shop/web-3 10.0.0.3:8080"]);
    expect(fake.requests("list")).toBe(lists);
  });

  it("stop() closes every watch and leaves no timers or sockets behind", async () => {
    fake.apply(service("shop", "web", { annotations: { "kube-zk-bridge.io/address": "node" } }));
    const before = handles();
    const source = makeSource();
    await source.start();
    await waitFor("the initial sync", () => source.synced());
    await waitFor("three watches (services, slices, nodes)", () => fake.openWatches === 3);
    fake.silence(true);
    await source.stop();
    await waitFor("the server to see the watches closed", () => fake.openWatches === 0);
    await waitFor("handles to be released", () => sameHandles(before, handles()));
  });

  it("stop() during a restart backoff returns at once and cancels the retry", async () => {
    const source = makeSource({ backoff: { initialMs: 60_000, maxMs: 60_000 } });
    const before = handles();
    fake.failNext(100, 503);
    await source.start();
    await waitFor("the first failed lists", () => fake.requests("list") >= 2);
    await source.stop();
    const lists = fake.requests("list");
    await waitFor("handles to be released", () => sameHandles(before, handles()));
    expect(fake.requests("list")).toBe(lists);
    expect(source.synced()).toBe(false);
  });

  it("reads core/v1 Endpoints in legacy mode", async () => {
    fake.apply(service("shop", "web"));
    fake.apply(
      endpoints("shop", "web", [
        {
          ports: [{ name: "http", port: 8080 }],
          ready: [{ ip: "10.0.0.1", pod: "web-1" }],
          notReady: [{ ip: "10.0.0.2", pod: "web-2" }],
        },
      ]),
    );
    const source = makeSource({ endpointsApi: "endpoints" });
    await source.start();
    await converge(source, ["/services/web.shop/web-1 10.0.0.1:8080"]);
    fake.apply(
      endpoints("shop", "web", [
        { ports: [{ name: "http", port: 8080 }], ready: [{ ip: "10.0.0.2", pod: "web-2" }] },
      ]),
    );
    await converge(source, ["/services/web.shop/web-2 10.0.0.2:8080"]);
    expect(fake.requests("list", "endpointslices")).toBe(0);
    expect(fake.requests("watch", "endpoints")).toBeGreaterThanOrEqual(1);
  });

  it("watches only the namespaces it is given, one informer each", async () => {
    for (const ns of ["shop", "bank", "other"]) {
      fake.apply(service(ns, "web"));
      fake.apply(
        slice(ns, "web-abc", "web", { endpoints: [{ address: "10.0.0.1", pod: `web-${ns}` }] }),
      );
    }
    const source = makeSource({ namespaces: ["shop", "bank", "shop"] });
    await source.start();
    await converge(source, [
      "/services/web.bank/web-bank 10.0.0.1:8080",
      "/services/web.shop/web-shop 10.0.0.1:8080",
    ]);
    expect(
      source
        .progress()
        .informers.map((i) => `${i.resource}/${i.namespace}`)
        .sort(),
    ).toEqual(["endpointslices/bank", "endpointslices/shop", "services/bank", "services/shop"]);
  });

  it("watches Nodes only once a Service asks for node addresses", async () => {
    fake.apply(node("n1", ["192.168.1.1"]));
    fake.apply(service("shop", "web"));
    fake.apply(webSlice(["web-1", "10.0.0.1"]));
    const source = makeSource();
    await source.start();
    await converge(source, ["/services/web.shop/web-1 10.0.0.1:8080"]);
    expect(fake.requests("list", "nodes")).toBe(0);

    fake.apply(nodeAddressedService("shop", "web", 30080));
    fake.apply(
      slice("shop", "web-abc", "web", {
        endpoints: [{ address: "10.0.0.1", pod: "web-1", node: "n1" }],
      }),
    );
    await converge(source, ["/services/web.shop/web-1 192.168.1.1:30080"]);
    expect(fake.requests("list", "nodes")).toBe(1);
    expect(source.synced()).toBe(true);
    fake.apply(node("n1", ["192.168.1.9"]));
    await converge(source, ["/services/web.shop/web-1 192.168.1.9:30080"]);
  });

  it("remaps only the Services whose inputs changed: the others keep the same array", async () => {
    fake.apply(node("n1", ["192.168.1.1"]));
    for (const name of ["a", "b"]) {
      fake.apply(service("shop", name));
      fake.apply(
        slice("shop", `${name}-x`, name, {
          endpoints: [{ address: "10.0.0.1", pod: `${name}-1` }],
        }),
      );
    }
    fake.apply(nodeAddressedService("shop", "n", 30080));
    fake.apply(
      slice("shop", "n-x", "n", {
        endpoints: [{ address: "10.0.0.9", pod: "n-1", node: "n1" }],
      }),
    );
    const source = makeSource();
    await source.start();
    await converge(source, [
      "/services/a.shop/a-1 10.0.0.1:8080",
      "/services/b.shop/b-1 10.0.0.1:8080",
      "/services/n.shop/n-1 192.168.1.1:30080",
    ]);
    const before = source.desiredGeneration().groups;
    expect(source.desiredGeneration().groups).toBe(before); // nothing moved: the same map

    // A write to a field the bridge does not keep is no change: a keeps its array below.
    const a = slice("shop", "a-x", "a", { endpoints: [{ address: "10.0.0.1", pod: "a-1" }] });
    fake.apply({ ...a, metadata: { ...a.metadata, annotations: { "example.com/touched": "1" } } });
    fake.apply(slice("shop", "b-x", "b", { endpoints: [{ address: "10.0.0.2", pod: "b-1" }] }));
    await converge(
      source,
      [
        "/services/a.shop/a-1 10.0.0.1:8080",
        "/services/b.shop/b-1 10.0.0.2:8080",
        "/services/n.shop/n-1 192.168.1.1:30080",
      ],
      "b's new address",
    );
    expect([...(source.desiredGeneration().changed ?? ["(everything)"])]).toEqual(["shop/b"]);
    const afterSlice = source.desiredGeneration().groups;
    expect(afterSlice.get("shop/a")).toBe(before.get("shop/a"));
    expect(afterSlice.get("shop/n")).toBe(before.get("shop/n"));
    expect(afterSlice.get("shop/b")).not.toBe(before.get("shop/b"));

    fake.apply(node("n1", ["192.168.1.7"]));
    await converge(
      source,
      [
        "/services/a.shop/a-1 10.0.0.1:8080",
        "/services/b.shop/b-1 10.0.0.2:8080",
        "/services/n.shop/n-1 192.168.1.7:30080",
      ],
      "the node's new address",
    );
    expect([...(source.desiredGeneration().changed ?? ["(everything)"])]).toEqual(["shop/n"]);
    const afterNode = source.desiredGeneration().groups;
    expect(afterNode.get("shop/a")).toBe(before.get("shop/a"));
    expect(afterNode.get("shop/b")).toBe(afterSlice.get("shop/b"));
    expect(afterNode.get("shop/n")).not.toBe(afterSlice.get("shop/n"));
  });

  it("lists in pages", async () => {
    for (let i = 0; i < 7; i++) fake.apply(service("shop", `s${i}`));
    const source = makeSource({ pageSize: 3 });
    await source.start();
    await waitFor("the initial sync", () => source.synced());
    expect(source.progress().services).toBe(7);
    expect(fake.requests("list", "services")).toBe(3);
  });

  describe("a first list shows each page at once; later lists swap in whole", () => {
    const one = (i: number) =>
      slice("shop", `s${i}-abc`, `s${i}`, {
        endpoints: [{ pod: `p${i}`, address: `10.0.0.${i}`, ready: true }],
      });
    const want = (ids: number[]) => ids.map((i) => `/services/s${i}.shop/p${i} 10.0.0.${i}:8080`);
    async function halfListed() {
      for (let i = 0; i < 7; i++) {
        fake.apply(service("shop", `s${i}`));
        fake.apply(one(i));
      }
      fake.holdListPages(true);
      const source = makeSource({ pageSize: 3 });
      await source.start();
      // Services s0-s2 and their slices: the first page of each list, the rest held back.
      await converge(source, want([0, 1, 2]), "the first pages");
      expect(source.synced()).toBe(false);
      return source;
    }

    it("the desired state grows page by page, unsynced until the last", async () => {
      const source = await halfListed();
      fake.holdListPages(false);
      await converge(source, want([0, 1, 2, 3, 4, 5, 6]));
      await waitFor("synced", () => source.synced());
      expect(fake.requests("list")).toBe(6);

      // A relist after a restart: its first page alone must not replace the complete cache.
      fake.holdListPages(true);
      fake.remove("Service", "shop", "s4");
      fake.dropWatches();
      await waitFor("the relists' first pages", () => fake.requests("list") >= 8);
      expect(view(source)).toEqual(want([0, 1, 2, 3, 4, 5, 6]));
      fake.holdListPages(false);
      await converge(source, want([0, 1, 2, 3, 5, 6]));
    });

    it("a first list cut short is redone whole: what went meanwhile goes", async () => {
      const source = await halfListed();
      fake.remove("Service", "shop", "s1");
      fake.remove("EndpointSlice", "shop", "s1-abc");
      fake.failNext(2, 500);
      fake.holdListPages(false); // both held second pages fail
      await converge(source, want([0, 2, 3, 4, 5, 6]));
      await waitFor("synced", () => source.synced());
      expect(await restarts("error")).toBe(2);
    });
  });

  it("skips malformed objects and keeps going", async () => {
    fake.apply(service("shop", "web"));
    fake.apply({
      ...webSlice(["web-1", "10.0.0.1"]),
      endpoints: "garbage",
      ports: [{ port: "x" }],
    });
    fake.apply(
      slice("shop", "web-def", "web", {
        endpoints: [{ address: "not-an-ip" }, { address: "10.0.0.2" }],
      }),
    );
    const source = makeSource();
    await source.start();
    await converge(source, ["/services/web.shop/10-0-0-2 10.0.0.2:8080"]);
    fake.apply({ kind: "Service", metadata: { name: "odd", namespace: "shop" }, spec: "garbage" });
    fake.apply(webSlice(["web-1", "10.0.0.1"]));
    await converge(source, [
      "/services/web.shop/10-0-0-2 10.0.0.2:8080",
      "/services/web.shop/web-1 10.0.0.1:8080",
    ]);
    expect(await restarts()).toBe(0);
  });

  it("rejects a KubeConfig that cannot work, before starting anything", async () => {
    const kc = fake.kubeConfig();
    kc.loadFromOptions({ clusters: [], users: [], contexts: [], currentContext: "none" });
    const source = makeSource({ kubeConfig: kc });
    await expect(source.start()).rejects.toThrow(/no current context/);
    expect(fake.requests("list")).toBe(0);
  });

  it("rejects bad options in the constructor", () => {
    expect(() => makeSource({ serviceNameTemplate: "{svc}" })).toThrow(/unknown placeholder/);
    expect(() => makeSource({ namespaces: [] })).toThrow(/namespaces/);
  });
});

/** Timers and sockets alive now (what would keep the process from exiting). */
function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const h of process.getActiveResourcesInfo()) {
    if (h === "Timeout" || h === "TCPSocketWrap") out[h] = (out[h] ?? 0) + 1;
  }
  return out;
}

function sameHandles(a: Record<string, number>, b: Record<string, number>): boolean {
  return (a.Timeout ?? 0) >= (b.Timeout ?? 0) && (a.TCPSocketWrap ?? 0) >= (b.TCPSocketWrap ?? 0);
}
