/**
 * Initial sync: time and ZooKeeper requests for the bridge to register N endpoints from a cold
 * start (the `sync` command's stages, in-process, against a real ZooKeeper and the fake API
 * server), next to the reference measured in the same run: a plain client writing the same
 * number of ephemeral znodes in batched multi-ops (ZooKeeper's raw write ceiling here).
 *
 *   npx tsx bench/sync-initial.ts [services=1000] [endpointsPerService=10]
 *
 * ZooKeeper requests are counted by the server itself (`mntr` zk_packets_received).
 */
import net from "node:net";
import zookeeper from "node-zookeeper-client";
import { startBridge } from "../lib/app.js";
import { parseCommandLine } from "../lib/config.js";
import { createLogger, silentLogger } from "../lib/log.js";
import { service, slice } from "../test/kubernetes/objects.js";
import { FakeApiServer } from "../test/support/fake-apiserver.js";
import { writeKubeconfig } from "../test/support/kubeconfig.js";
import { freePort, startZooKeeper } from "../test/support/zookeeper.js";

const services = Number(process.argv[2] ?? 1000);
const perService = Number(process.argv[3] ?? 10);
const total = services * perService;

async function mntr(port: number): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => s.write("mntr"));
    let text = "";
    s.on("data", (d) => {
      text += d.toString();
    });
    s.on("end", () =>
      resolve(
        Object.fromEntries(
          text
            .trim()
            .split("\n")
            .map((l) => l.split("\t") as [string, string]),
        ),
      ),
    );
    s.on("error", reject);
  });
}
const packets = async (port: number) => Number((await mntr(port)).zk_packets_received);

async function connect(connectString: string): Promise<zookeeper.Client> {
  const c = zookeeper.createClient(connectString, { sessionTimeout: 30_000 });
  await new Promise<void>((r) => {
    c.once("connected", () => r());
    c.connect();
  });
  return c;
}

async function reference(
  zkConnect: string,
  port: number,
): Promise<{ ms: number; requests: number }> {
  const c = await connect(zkConnect);
  await new Promise<void>((r) => c.mkdirp("/ref", () => r()));
  for (let s = 0; s < services; s++)
    await new Promise<void>((r) => c.mkdirp(`/ref/svc-${s}`, () => r()));
  const before = await packets(port);
  const t0 = performance.now();
  const batches: Array<() => Promise<void>> = [];
  for (let start = 0; start < total; start += 200) {
    batches.push(
      () =>
        new Promise<void>((resolve, reject) => {
          const tx = c.transaction();
          for (let i = start; i < Math.min(start + 200, total); i++) {
            tx.create(
              `/ref/svc-${i % services}/n-${i}`,
              Buffer.alloc(400, 120),
              zookeeper.CreateMode.EPHEMERAL,
            );
          }
          tx.commit((e) => (e ? reject(e) : resolve()));
        }),
    );
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < batches.length) await (batches[next++] as () => Promise<void>)();
    }),
  );
  const ms = performance.now() - t0;
  const requests = (await packets(port)) - before;
  c.close();
  return { ms, requests };
}

async function main() {
  const zk = await startZooKeeper({ tickMs: 500 });
  const api = await FakeApiServer.start();
  for (let s = 0; s < services; s++) {
    api.apply(service("bench", `svc-${s}`));
    api.apply(
      slice("bench", `svc-${s}-x`, `svc-${s}`, {
        endpoints: Array.from({ length: perService }, (_, i) => ({
          address: `10.${(s >> 8) & 255}.${s & 255}.${i + 1}`,
          pod: `svc-${s}-${i}`,
        })),
      }),
    );
  }
  const kubeconfig = await writeKubeconfig(api.url);
  const ref = await reference(zk.connect, zk.port);

  const { config } = parseCommandLine(
    [
      "sync",
      "--zk-connect",
      `${zk.connect}`,
      "--kubeconfig",
      kubeconfig,
      "--http-listen",
      `127.0.0.1:${await freePort()}`,
    ],
    {},
  );
  // Progress is read from the server's own counters (4lw `mntr`, not a client request), so
  // watching costs the measured process nothing.
  // The reference client's close() is asynchronous: wait for its ephemerals to go first.
  while (Number((await mntr(zk.port)).zk_ephemerals_count) > 0)
    await new Promise((r) => setTimeout(r, 20));
  const ephemeralsBefore = 0;
  const before = await packets(zk.port);
  const t0 = performance.now();
  const bridge = await startBridge(
    "sync",
    config,
    process.env.BENCH_LOG ? createLogger("info") : silentLogger(),
  );
  // The bridge also holds one ephemeral election node.
  while (Number((await mntr(zk.port)).zk_ephemerals_count) - ephemeralsBefore < total + 1) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const ms = performance.now() - t0;
  const bridgeRequests = (await packets(zk.port)) - before;
  const rss = process.memoryUsage().rss;
  await bridge.close();
  await api.close();
  await zk.stop();

  const rows = [
    ["what", "endpoints", "time (ms)", "ZooKeeper requests", "endpoints/s"],
    [
      "plain client, multi batches of 200, 4 in flight (reference)",
      String(total),
      ref.ms.toFixed(0),
      String(ref.requests),
      (total / (ref.ms / 1000)).toFixed(0),
    ],
    [
      "kube-zk-bridge sync, cold start to all registered",
      String(total),
      ms.toFixed(0),
      String(bridgeRequests),
      (total / (ms / 1000)).toFixed(0),
    ],
  ];
  const w = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i] ?? 0)).join(" | "));
  console.log(
    `\nratio bridge/reference time: ${(ms / ref.ms).toFixed(2)}×; bench process RSS ${(rss / 1e6).toFixed(0)} MB (bridge + fake API server in one process)`,
  );
  console.log(
    "bridge time includes the Kubernetes list, the ZooKeeper tree scan, leader election and parent creation.",
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
