/**
 * Memory of the real built binary (`kube-zk-bridge dns`) by registry size: for each size, a
 * fresh `dns` process reads a real ZooKeeper holding that many Curator instances. Once the
 * catalog is loaded and RSS has settled: VmRSS and VmHWM from /proc and the V8 heap from its
 * /metrics (what an operator sees); then, through the inspector, one full GC and RSS and heap
 * again (what is live). MB per 10,000 registrations from both. Target: ≤ 300 MB RSS at 100,000.
 *
 *   npm run build && flock /tmp/kzb-bench.lock bench/dns/memory.sh \
 *     [--sizes 0,10000,50000,100000] [--instances 10] [--heap-prof]
 *     [--node-args "<extra node flags for the bridge>"]
 *
 * `--heap-prof`: one more bridge at the largest size, its heap sampled from its first line;
 * once loaded and settled, a full GC and what holds the live heap, by allocating function.
 * The bridge runs on CPU 0; this process and ZooKeeper on CPU 1.
 */
import type zookeeper from "node-zookeeper-client";
import { freePort, startZooKeeper, type ZooKeeperServer } from "../../test/support/zookeeper.js";
import { type BridgeProcess, startBridgeProcess, waitLoaded } from "./bridge-process.js";
import { summarizeHeap } from "./heap-profile.js";
import { Inspector } from "./inspector.js";
import { CLIENT_CPU, listArg, markdownTable, numberArg, pinPid } from "./perf.js";
import { benchRegistrations } from "./registry.js";
import { connectZk, writeRegistry } from "./zk-registry.js";

function sizesArg(): number[] {
  const i = process.argv.indexOf("--sizes");
  const raw = i >= 0 ? (process.argv[i + 1] ?? "") : "0,10000,50000,100000";
  const sizes = raw.split(",").map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 0))
    throw new Error(`--sizes: comma-separated whole numbers, got ${raw}`);
  return sizes.sort((a, b) => a - b);
}

const SIZES = sizesArg();
const INSTANCES = numberArg("instances", 10);
const HEAP_PROF = process.argv.includes("--heap-prof");
/** Extra node flags for the bridge, e.g. `--node-args "--max-old-space-size=256"`. */
const NODE_ARGS = listArg("node-args");
const MiB = 2 ** 20;

interface Memory {
  rss: number;
  hwm: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

interface Measured {
  size: number;
  loadMs: number;
  settled: Memory;
  afterGc: Memory;
}

async function memory(bridge: BridgeProcess): Promise<Memory> {
  const m = await bridge.metrics();
  return {
    ...bridge.memory(),
    heapUsed: m.get("kzb_process_nodejs_heap_size_used_bytes") ?? Number.NaN,
    heapTotal: m.get("kzb_process_nodejs_heap_size_total_bytes") ?? Number.NaN,
    external: m.get("kzb_process_nodejs_external_memory_bytes") ?? Number.NaN,
  };
}

/** Once RSS has moved less than 1 MiB over 3 s (or after 30 s). */
async function settle(bridge: BridgeProcess): Promise<Memory> {
  const history: number[] = [];
  const deadline = Date.now() + 30_000;
  for (;;) {
    history.push(bridge.memory().rss);
    const recent = history.slice(-7);
    if (recent.length === 7 && Math.max(...recent) - Math.min(...recent) < MiB) break;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return memory(bridge);
}

/** A full GC through the inspector, a second for the allocator to hand pages back, then memory. */
async function afterFullGc(bridge: BridgeProcess, inspector: Inspector): Promise<Memory> {
  await inspector.send("HeapProfiler.collectGarbage");
  await new Promise((r) => setTimeout(r, 1000));
  return memory(bridge);
}

async function measureSize(zkConnect: string, size: number): Promise<Measured> {
  const port = await freePort();
  const bridge = await startBridgeProcess({
    zkConnect,
    nodeArgs: [...NODE_ARGS, `--inspect=127.0.0.1:${port}`],
  });
  try {
    const loadMs = await waitLoaded(bridge, size);
    const settled = await settle(bridge);
    const inspector = await Inspector.attach(port);
    try {
      return { size, loadMs, settled, afterGc: await afterFullGc(bridge, inspector) };
    } finally {
      inspector.close();
    }
  } finally {
    await bridge.stop();
  }
}

/** A bridge sampled from its first line; after load, settle and a full GC: what holds its heap. */
async function profileHeap(zkConnect: string, size: number): Promise<string> {
  const port = await freePort();
  const bridge = await startBridgeProcess({
    zkConnect,
    nodeArgs: [...NODE_ARGS, `--inspect-brk=127.0.0.1:${port}`],
  });
  try {
    const inspector = await Inspector.attach(port);
    try {
      await inspector.sampleHeapAndRun();
      await waitLoaded(bridge, size);
      await settle(bridge);
      const profile = await inspector.liveHeap();
      return [
        `\n## live heap of the bridge at ${size} instances (sampled from start, one sample per 64 KiB; after a full GC)`,
        summarizeHeap(profile, 30),
      ].join("\n");
    } finally {
      inspector.close();
    }
  } finally {
    await bridge.stop();
  }
}

const mb = (b: number) => (b / MiB).toFixed(0);

function report(rows: Measured[]): void {
  const base = rows.find((r) => r.size === 0);
  const per10k = (r: Measured, pick: (m: Memory) => number) =>
    r.size > 0
      ? (((pick(r.settled) - (base ? pick(base.settled) : 0)) / MiB) * 10_000) / r.size
      : Number.NaN;
  const per10kGc = (r: Measured) =>
    r.size > 0 && base
      ? (((r.afterGc.rss - base.afterGc.rss) / MiB) * 10_000) / r.size
      : Number.NaN;
  const fmt = (x: number) => (Number.isNaN(x) ? "-" : x.toFixed(1));
  console.log(
    `\n## memory of \`kube-zk-bridge dns\` by registered instances (${INSTANCES} per service; MiB)${NODE_ARGS.length ? `; bridge node flags: ${NODE_ARGS.join(" ")}` : ""}`,
  );
  console.log(
    markdownTable(
      [
        "instances",
        "ready s",
        "VmRSS",
        "VmHWM",
        "heap used/total",
        "external",
        "RSS/10k",
        base ? "RSS over empty/10k" : "",
        "after full GC: RSS",
        "heap used/total",
        base ? "RSS over empty/10k" : "",
      ].filter((h) => h !== ""),
      rows.map((r) =>
        [
          String(r.size),
          (r.loadMs / 1000).toFixed(1),
          mb(r.settled.rss),
          mb(r.settled.hwm),
          `${mb(r.settled.heapUsed)}/${mb(r.settled.heapTotal)}`,
          mb(r.settled.external),
          r.size > 0 ? fmt(((r.settled.rss / MiB) * 10_000) / r.size) : "-",
          base ? fmt(per10k(r, (m) => m.rss)) : undefined,
          mb(r.afterGc.rss),
          `${mb(r.afterGc.heapUsed)}/${mb(r.afterGc.heapTotal)}`,
          base ? fmt(per10kGc(r)) : undefined,
        ].filter((c): c is string => c !== undefined),
      ),
    ),
  );
  const largest = rows[rows.length - 1];
  if (largest && largest.size >= 100_000) {
    const s = largest.settled;
    console.log(
      `target: ≤ 300 MB RSS at ${largest.size}: ${s.rss <= 300e6 ? "met" : "NOT met"} (settled ${(s.rss / 1e6).toFixed(0)} MB, peak ${(s.hwm / 1e6).toFixed(0)} MB, after a full GC ${(largest.afterGc.rss / 1e6).toFixed(0)} MB)`,
    );
  }
}

async function main() {
  await pinPid(process.pid, CLIENT_CPU);
  let zk: ZooKeeperServer | undefined;
  let client: zookeeper.Client | undefined;
  const rows: Measured[] = [];
  let heapSummary = "";
  try {
    zk = await startZooKeeper();
    client = await connectZk(zk.connect);
    let written = 0;
    for (const size of SIZES) {
      if (size % INSTANCES !== 0) throw new Error(`size ${size}: not a multiple of --instances`);
      // Grow the registry to `size`: services are numbered, so the new ones come after.
      await writeRegistry(client, benchRegistrations(size / INSTANCES, INSTANCES).slice(written));
      written = size;
      const r = await measureSize(zk.connect, size);
      rows.push(r);
      console.log(
        `${size} instances: ready in ${(r.loadMs / 1000).toFixed(1)} s; RSS ${mb(r.settled.rss)} MiB (peak ${mb(r.settled.hwm)}), heap used ${mb(r.settled.heapUsed)} MiB; after a full GC RSS ${mb(r.afterGc.rss)} MiB, heap used ${mb(r.afterGc.heapUsed)} MiB`,
      );
    }
    if (HEAP_PROF) heapSummary = await profileHeap(zk.connect, written);
  } finally {
    client?.close();
    await zk?.stop();
  }
  report(rows);
  if (heapSummary) console.log(heapSummary);
}

await main();
