/**
 * The fake apiserver, checked through the real @kubernetes/client-node 1.4: typed list calls,
 * its Watch and its informer (ListWatch) must all work against it as against a real apiserver.
 */
import {
  ApiException,
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  type KubernetesObject,
  makeInformer,
  type V1EndpointSlice,
  Watch,
} from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { endpoints, node, service, slice } from "./objects.js";
import { waitFor } from "./wait.js";

interface Seen {
  type: string;
  object: KubernetesObject & { code?: number; reason?: string };
}

/** Opens a client-node watch and records what it delivers and how it ends. */
async function openWatch(
  kc: KubeConfig,
  path: string,
  params: Record<string, string | boolean | number>,
) {
  const events: Seen[] = [];
  let ended: { err: unknown } | undefined;
  const controller = await new Watch(kc).watch(
    path,
    params,
    (type, object) => events.push({ type, object }),
    (err) => {
      ended = { err };
    },
  );
  return {
    events,
    ended: () => ended,
    abort: () => controller.abort(),
  };
}

let fake: FakeApiServer;
let kc: KubeConfig;
const cleanups: Array<() => void> = [];

beforeEach(async () => {
  fake = await FakeApiServer.start({ historyLimit: 50 });
  kc = fake.kubeConfig();
});

afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await fake.close();
});

describe("list", () => {
  it("serves core/v1 and discovery/v1 collections, cluster-wide and per namespace", async () => {
    fake.apply(service("shop", "web"));
    fake.apply(service("shop", "api"));
    fake.apply(service("bank", "ledger"));
    fake.apply(
      slice("shop", "web-abc", "web", { endpoints: [{ address: "10.0.0.1", pod: "web-1" }] }),
    );
    fake.apply(
      endpoints("shop", "web", [{ ports: [{ port: 8080 }], ready: [{ ip: "10.0.0.1" }] }]),
    );
    fake.apply(node("n1", ["192.168.0.1"]));
    const core = kc.makeApiClient(CoreV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);

    const all = await core.listServiceForAllNamespaces();
    expect(all.kind).toBe("ServiceList");
    expect(all.items.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`)).toEqual([
      "bank/ledger",
      "shop/api",
      "shop/web",
    ]);
    expect(Number(all.metadata?.resourceVersion)).toBe(Number(fake.resourceVersion));

    const shop = await core.listNamespacedService({ namespace: "shop" });
    expect(shop.items.map((s) => s.metadata?.name)).toEqual(["api", "web"]);

    const slices = await discovery.listEndpointSliceForAllNamespaces({
      labelSelector: "kubernetes.io/service-name=web",
    });
    expect(slices.items).toHaveLength(1);
    expect(slices.items[0]?.endpoints[0]?.addresses).toEqual(["10.0.0.1"]);
    expect(slices.items[0]?.endpoints[0]?.targetRef?.name).toBe("web-1");
    const none = await discovery.listNamespacedEndpointSlice({
      namespace: "shop",
      labelSelector: "kubernetes.io/service-name=api",
    });
    expect(none.items).toEqual([]);

    const eps = await core.listEndpointsForAllNamespaces();
    expect(eps.items[0]?.subsets?.[0]?.addresses?.[0]?.ip).toBe("10.0.0.1");
    const nodes = await core.listNode();
    expect(nodes.items[0]?.status?.addresses?.[0]).toEqual({
      type: "InternalIP",
      address: "192.168.0.1",
    });

    const one = await core.readNamespacedService({ namespace: "shop", name: "web" });
    expect(one.metadata?.name).toBe("web");
    await expect(
      core.readNamespacedService({ namespace: "shop", name: "nope" }),
    ).rejects.toMatchObject({
      code: 404,
    });
    expect(fake.requests("list", "services")).toBe(2);
    expect(fake.requests("get", "services")).toBe(2);
  });

  it("bumps one global resourceVersion on every write", async () => {
    const a = fake.apply(service("a", "one"));
    const b = fake.apply(slice("a", "one-x", "one"));
    const c = fake.apply(service("a", "one", { ports: [{ name: "http", port: 81 }] }));
    const rvs = [a, b, c].map((o) => Number(o.metadata.resourceVersion));
    expect(rvs[1]).toBeGreaterThan(rvs[0] ?? 0);
    expect(rvs[2]).toBeGreaterThan(rvs[1] ?? 0);
    expect(c.metadata.uid).toBe(a.metadata.uid);
    const list = await kc.makeApiClient(CoreV1Api).listServiceForAllNamespaces();
    expect(list.items[0]?.metadata?.resourceVersion).toBe(String(rvs[2]));
  });

  it("paginates with limit and continue from a consistent snapshot", async () => {
    for (let i = 0; i < 7; i++) fake.apply(service("ns", `svc-${i}`));
    const core = kc.makeApiClient(CoreV1Api);
    const first = await core.listServiceForAllNamespaces({ limit: 3 });
    expect(first.items.map((s) => s.metadata?.name)).toEqual(["svc-0", "svc-1", "svc-2"]);
    expect(first.metadata?.remainingItemCount).toBe(4);
    // Writes between pages are not seen by the rest of this list.
    fake.apply(service("ns", "svc-00"));
    fake.remove("Service", "ns", "svc-5");
    const names = first.items.map((s) => s.metadata?.name);
    let token = first.metadata?._continue;
    while (token) {
      const page = await core.listServiceForAllNamespaces({ limit: 3, _continue: token });
      expect(page.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
      names.push(...page.items.map((s) => s.metadata?.name));
      token = page.metadata?._continue;
    }
    expect(names).toEqual(["svc-0", "svc-1", "svc-2", "svc-3", "svc-4", "svc-5", "svc-6"]);
  });

  it("answers 410 Expired for a continue token whose snapshot was compacted", async () => {
    for (let i = 0; i < 4; i++) fake.apply(service("ns", `svc-${i}`));
    const core = kc.makeApiClient(CoreV1Api);
    const first = await core.listServiceForAllNamespaces({ limit: 2 });
    fake.expireHistory();
    const err = await core
      .listServiceForAllNamespaces({ limit: 2, _continue: first.metadata?._continue ?? "" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiException);
    expect((err as ApiException<string>).code).toBe(410);
    expect(JSON.parse((err as ApiException<string>).body)).toMatchObject({
      kind: "Status",
      reason: "Expired",
    });
  });

  it("fails the next n requests with a Status body, then recovers", async () => {
    const core = kc.makeApiClient(CoreV1Api);
    fake.failNext(2, 503);
    for (let i = 0; i < 2; i++) {
      const err = (await core.listNode().catch((e: unknown) => e)) as ApiException<string>;
      expect(err.code).toBe(503);
      expect(JSON.parse(err.body)).toMatchObject({
        kind: "Status",
        code: 503,
        reason: "ServiceUnavailable",
      });
    }
    await expect(core.listNode()).resolves.toMatchObject({ kind: "NodeList" });
  });

  it("rejects what it does not serve with a Status, not a crash", async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await expect(
      core.listNamespacedService({ namespace: "x", labelSelector: "app in (a,b)" }),
    ).rejects.toMatchObject({
      code: 400,
    });
    const res = await fetch(`${fake.url}/apis/apps/v1/deployments`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ kind: "Status", reason: "NotFound" });
  });
});

describe("watch", () => {
  it("streams ADDED, MODIFIED and DELETED after the given resourceVersion", async () => {
    fake.apply(service("shop", "old"));
    const rv = fake.resourceVersion;
    fake.apply(service("shop", "web"));
    const w = await openWatch(kc, "/api/v1/namespaces/shop/services", { resourceVersion: rv });
    cleanups.push(w.abort);
    fake.apply(service("shop", "web", { ports: [{ name: "http", port: 81 }] }));
    fake.apply(service("other", "ignored"));
    fake.remove("Service", "shop", "web");
    await waitFor("three events", () => w.events.length >= 3);
    expect(w.events.map((e) => `${e.type} ${e.object.metadata?.name}`)).toEqual([
      "ADDED web",
      "MODIFIED web",
      "DELETED web",
    ]);
    expect(w.events[2]?.object.kind).toBe("Service");
    expect(w.events[2]?.object.metadata?.resourceVersion).toBe(fake.resourceVersion);
  });

  it("starts with synthetic ADDED for everything when no resourceVersion is given", async () => {
    fake.apply(node("n1", ["192.168.0.1"]));
    fake.apply(node("n2", ["192.168.0.2"]));
    const w = await openWatch(kc, "/api/v1/nodes", {});
    cleanups.push(w.abort);
    await waitFor("two events", () => w.events.length >= 2);
    expect(w.events.map((e) => `${e.type} ${e.object.metadata?.name}`)).toEqual([
      "ADDED n1",
      "ADDED n2",
    ]);
  });

  it("turns a label-selector transition into ADDED / DELETED, as the watch cache does", async () => {
    const rv = fake.resourceVersion;
    const w = await openWatch(kc, "/apis/discovery.k8s.io/v1/endpointslices", {
      resourceVersion: rv,
      labelSelector: "kubernetes.io/service-name=web",
    });
    cleanups.push(w.abort);
    fake.apply(slice("shop", "s1", "api"));
    fake.apply(slice("shop", "s1", "web"));
    fake.apply(slice("shop", "s1", "api"));
    await waitFor("two events", () => w.events.length >= 2);
    expect(w.events.map((e) => e.type)).toEqual(["ADDED", "DELETED"]);
    const deleted = w.events[1]?.object as V1EndpointSlice;
    expect(deleted.metadata?.labels?.["kubernetes.io/service-name"]).toBe("web");
    expect(deleted.metadata?.resourceVersion).toBe(fake.resourceVersion);
  });

  it("answers a resume from a compacted resourceVersion with ERROR 410 Expired, then ends", async () => {
    fake.apply(service("shop", "web"));
    const rv = fake.resourceVersion;
    fake.expireHistory();
    const w = await openWatch(kc, "/api/v1/services", { resourceVersion: rv });
    await waitFor("the stream to end", () => w.ended() !== undefined);
    expect(w.ended()?.err).toBeNull();
    expect(w.events).toHaveLength(1);
    expect(w.events[0]?.type).toBe("ERROR");
    expect(w.events[0]?.object).toMatchObject({ kind: "Status", code: 410, reason: "Expired" });
  });

  it("replays only a bounded history: an old resume is expired", async () => {
    const rv = fake.resourceVersion;
    for (let i = 0; i < 100; i++) fake.apply(service("ns", `s${i}`));
    const w = await openWatch(kc, "/api/v1/services", { resourceVersion: rv });
    await waitFor("the stream to end", () => w.ended() !== undefined);
    expect(w.events[0]?.object).toMatchObject({ code: 410 });
    const recent = await openWatch(kc, "/api/v1/services", {
      resourceVersion: String(Number(fake.resourceVersion) - 5),
    });
    cleanups.push(recent.abort);
    await waitFor("five events", () => recent.events.length >= 5);
    expect(recent.events.map((e) => e.object.metadata?.name)).toEqual([
      "s95",
      "s96",
      "s97",
      "s98",
      "s99",
    ]);
  });

  it("sends bookmarks only to watches that allow them", async () => {
    const rv = fake.resourceVersion;
    const withBookmarks = await openWatch(kc, "/api/v1/services", {
      resourceVersion: rv,
      allowWatchBookmarks: true,
    });
    const without = await openWatch(kc, "/api/v1/services", { resourceVersion: rv });
    cleanups.push(withBookmarks.abort, without.abort);
    fake.apply(service("ns", "a"));
    fake.sendBookmarks();
    fake.apply(service("ns", "b"));
    await waitFor(
      "three events",
      () => withBookmarks.events.length >= 3 && without.events.length >= 2,
    );
    expect(withBookmarks.events.map((e) => e.type)).toEqual(["ADDED", "BOOKMARK", "ADDED"]);
    expect(withBookmarks.events[1]?.object).toEqual({
      kind: "Service",
      apiVersion: "v1",
      metadata: { resourceVersion: String(Number(fake.resourceVersion) - 1) },
    });
    expect(without.events.map((e) => e.type)).toEqual(["ADDED", "ADDED"]);
  });

  it("ends a watch cleanly after timeoutSeconds", async () => {
    const w = await openWatch(kc, "/api/v1/services", { timeoutSeconds: 1 });
    await waitFor("the stream to end", () => w.ended() !== undefined, 5_000);
    expect(w.ended()?.err).toBeNull();
    expect(fake.openWatches).toBe(0);
  });

  it("drops watch connections mid-stream", async () => {
    const w = await openWatch(kc, "/api/v1/services", {});
    await waitFor("the server to hold the watch", () => fake.openWatches === 1);
    fake.dropWatches();
    await waitFor("the client to notice", () => w.ended() !== undefined);
    expect(fake.openWatches).toBe(0);
  });

  it("keeps silenced watches open while they carry nothing", async () => {
    const w = await openWatch(kc, "/api/v1/services", { allowWatchBookmarks: true });
    cleanups.push(w.abort);
    fake.apply(service("ns", "before"));
    await waitFor("the first event", () => w.events.length === 1);
    fake.silence(true);
    fake.apply(service("ns", "during"));
    fake.sendBookmarks();
    const late = await openWatch(kc, "/api/v1/services", {});
    cleanups.push(late.abort);
    fake.silence(false);
    fake.apply(service("ns", "after"));
    // A fresh watch sees the write; the silenced ones never do.
    const fresh = await openWatch(kc, "/api/v1/services", {});
    cleanups.push(fresh.abort);
    await waitFor("the fresh watch's snapshot", () => fresh.events.length === 3);
    fake.apply(service("ns", "last"));
    await waitFor("the fresh watch's live event", () => fresh.events.length === 4);
    expect(w.events).toHaveLength(1);
    expect(late.events).toHaveLength(0);
    expect(w.ended()).toBeUndefined();
    expect(fake.openWatches).toBe(3);
  });

  it("counts lists and watches by resource", async () => {
    const w = await openWatch(kc, "/apis/discovery.k8s.io/v1/endpointslices", {});
    cleanups.push(w.abort);
    await kc.makeApiClient(CoreV1Api).listServiceForAllNamespaces();
    expect(fake.requests("watch")).toBe(1);
    expect(fake.requests("watch", "endpointslices")).toBe(1);
    expect(fake.requests("list", "services")).toBe(1);
    expect(fake.requests("list", "endpointslices")).toBe(0);
  });
});

describe("client-node's informer (ListWatch) against the fake", () => {
  it("lists, watches, and on 410 relists and reports what vanished", async () => {
    fake.apply(slice("shop", "web-1", "web", { endpoints: [{ address: "10.0.0.1" }] }));
    fake.apply(slice("shop", "web-2", "web", { endpoints: [{ address: "10.0.0.2" }] }));
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const informer = makeInformer<V1EndpointSlice>(
      kc,
      "/apis/discovery.k8s.io/v1/endpointslices",
      () => discovery.listEndpointSliceForAllNamespaces(),
    );
    const log: string[] = [];
    informer.on("add", (o) => log.push(`add ${o.metadata?.name}`));
    informer.on("update", (o) => log.push(`update ${o.metadata?.name}`));
    informer.on("delete", (o) => log.push(`delete ${o.metadata?.name}`));
    informer.on("error", (e) => log.push(`error ${String(e)}`));
    await informer.start();
    cleanups.push(() => void informer.stop());
    await waitFor("the initial list", () => log.length === 2);
    await waitFor("the watch", () => fake.openWatches === 1);

    fake.apply(slice("shop", "web-3", "web", { endpoints: [{ address: "10.0.0.3" }] }));
    await waitFor("the watch event", () => log.includes("add web-3"));

    // The watch ends; before the informer resumes, web-1 goes and history is compacted: the resume gets 410.
    const listsBefore = fake.requests("list", "endpointslices");
    fake.endWatches();
    fake.remove("EndpointSlice", "shop", "web-1");
    fake.expireHistory();
    await waitFor("the relist", () => log.includes("delete web-1"));
    expect(fake.requests("list", "endpointslices")).toBe(listsBefore + 1);
    expect(
      informer
        .list()
        .map((s) => s.metadata?.name)
        .sort(),
    ).toEqual(["web-2", "web-3"]);
    expect(log.filter((l) => l.startsWith("error"))).toEqual([]);
  });

  it("stops for good on any other error (why our source restarts informers itself)", async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const informer = makeInformer(kc, "/api/v1/services", () => core.listServiceForAllNamespaces());
    const errors: unknown[] = [];
    informer.on("error", (e) => errors.push(e));
    await informer.start();
    cleanups.push(() => void informer.stop());
    await waitFor("the watch", () => fake.openWatches === 1);
    fake.failNext(1, 500);
    fake.endWatches();
    await waitFor("the error", () => errors.length === 1);
    const watchesAfterError = fake.requests("watch");
    fake.apply(service("ns", "later"));
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.requests("watch")).toBe(watchesAfterError);
    expect(informer.list()).toEqual([]);
  });
});
