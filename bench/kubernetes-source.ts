/**
 * How long the Kubernetes source takes to list and map N Services × M endpoints served by the
 * fake apiserver over real HTTP, and how long one recompute of the desired state takes.
 * The fake runs in this process, so the times include its JSON encoding too.
 * Run: npx tsx bench/kubernetes-source.ts [services=1000] [endpointsPerService=10]
 * Prints a table; never asserts.
 */
import { performance } from "node:perf_hooks";
import { KubernetesSource } from "../lib/kubernetes/source.js";
import { silentLogger } from "../lib/log.js";
import { service, slice } from "../test/kubernetes/objects.js";
import { FakeApiServer } from "../test/support/fake-apiserver.js";

const services = Number(process.argv[2] ?? 1000);
const perService = Number(process.argv[3] ?? 10);

async function once(pageSize: number): Promise<Record<string, string | number>> {
  const fake = await FakeApiServer.start();
  for (let s = 0; s < services; s++) {
    const ns = `ns-${s % 20}`;
    fake.apply(service(ns, `svc-${s}`));
    fake.apply(
      slice(ns, `svc-${s}-abcde`, `svc-${s}`, {
        endpoints: Array.from({ length: perService }, (_, e) => ({
          address: `10.${(s >> 8) & 255}.${s & 255}.${e + 1}`,
          pod: `svc-${s}-pod-${e}`,
          node: `node-${e % 50}`,
          zone: `zone-${e % 3}`,
        })),
      }),
    );
  }
  const source = new KubernetesSource({
    kubeConfig: fake.kubeConfig(),
    namespaces: "all",
    clusterName: "bench",
    defaultFormats: ["curator"],
    basePath: "/services",
    serversetBasePath: "/serversets",
    logger: silentLogger(),
    pageSize,
  });
  const t0 = performance.now();
  await source.start();
  await new Promise<void>((resolve) => {
    const check = () => (source.synced() ? resolve() : setTimeout(check, 1));
    check();
  });
  const synced = performance.now();
  const desired = source.desired();
  const mapped = performance.now();
  // A recompute after one change (the memo is invalidated by any event).
  fake.apply(
    slice("ns-0", "svc-0-abcde", "svc-0", {
      endpoints: [{ address: "10.0.0.99", pod: "svc-0-new" }],
    }),
  );
  await new Promise<void>((resolve) => {
    const check = () =>
      source.desired().some((r) => r.id === "svc-0-new") ? resolve() : setTimeout(check, 1);
    check();
  });
  const r0 = performance.now();
  source.desired();
  const row = {
    pageSize,
    services,
    endpoints: services * perService,
    registrations: desired.length,
    "list+watch to synced (ms)": Math.round(synced - t0),
    "first desired() (ms)": Math.round(mapped - synced),
    "memoized desired() (ms)": Number((performance.now() - r0).toFixed(3)),
    lists: fake.requests("list"),
  };
  await source.stop();
  await fake.close();
  return row;
}

async function recompute(): Promise<number> {
  // Cost of a full remap from warm caches: what every coalesced change costs.
  const { desiredRegistrations } = await import("../lib/kubernetes/desired.js");
  const { slimService, slimEndpointSlice } = await import("../lib/kubernetes/objects.js");
  const svcs = [];
  const slices = [];
  for (let s = 0; s < services; s++) {
    svcs.push(slimService(service("ns", `svc-${s}`)));
    slices.push(
      slimEndpointSlice(
        slice("ns", `svc-${s}-a`, `svc-${s}`, {
          endpoints: Array.from({ length: perService }, (_, e) => ({
            address: `10.1.${s & 255}.${e}`,
            pod: `p-${s}-${e}`,
          })),
        }),
      ),
    );
  }
  const opts = {
    clusterName: "bench",
    serviceNameTemplate: "{service}.{namespace}",
    defaultFormats: ["curator"] as const,
    basePath: "/services",
    serversetBasePath: "/serversets",
  };
  const runs = 10;
  const t0 = performance.now();
  for (let i = 0; i < runs; i++)
    desiredRegistrations({ services: svcs, endpoints: slices, nodes: [] }, opts);
  return (performance.now() - t0) / runs;
}

const rows = [];
// The first run includes JIT warm-up of both the fake (same process) and the source.
for (const pageSize of [500, 500, 100]) rows.push(await once(pageSize));
console.table(rows);
console.log(
  `full remap of ${services * perService} endpoints (pure desiredRegistrations): ${(await recompute()).toFixed(1)} ms`,
);
