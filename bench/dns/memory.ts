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
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../test/support/zookeeper.js";
import { flagArg, numberArg, wholeListArg, wordsArg } from "../support/args.js";
import type { BridgeProcess } from "../support/bridge.js";
import { metrics } from "../support/bridge-http.js";
import { runBench } from "../support/cleanup.js";
import { CLIENT_CPU, pinPid } from "../support/cpu-pin.js";
import { MB } from "../support/proc.js";
import { markdownTable } from "../support/table.js";
import { type Client, closeClient, connectClient } from "../support/zk-client.js";
import { type BenchZooKeeper, startBenchZooKeeper } from "../support/zookeeper.js";
import { memoryNow, startDnsBridge, waitLoaded } from "./dns-bridge.js";
import { summarizeHeap } from "./heap-profile.js";
import { Inspector } from "./inspector.js";
import { benchRegistrations } from "./registry.js";
import { writeRegistry } from "./zk-registry.js";

const SIZES = wholeListArg("sizes", [0, 10_000, 50_000, 100_000]).sort((a, b) => a - b);
const INSTANCES = numberArg("instances", 10);
const HEAP_PROF = flagArg("heap-prof");
/** Extra node flags for the bridge, e.g. `--node-args "--max-old-space-size=256"`. */
const NODE_ARGS = wordsArg("node-args");
const MiB = 2 ** 20;

interface Memory {
  rss: number;
  peakRss: number;
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
  const m = await metrics(bridge);
  return {
    ...memoryNow(bridge),
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
    history.push(memoryNow(bridge).rss);
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

async function measureSize(zkConnect: string, size: number, dir: string): Promise<Measured> {
  const port = await freePort();
  const bridge = await startDnsBridge({
    zkConnect,
    logFile: path.join(dir, `bridge-${size}.log`),
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
async function profileHeap(zkConnect: string, size: number, dir: string): Promise<string> {
  const port = await freePort();
  const bridge = await startDnsBridge({
    zkConnect,
    logFile: path.join(dir, "bridge-heap-prof.log"),
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
    markdownTable([
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
      ...rows.map((r) =>
        [
          String(r.size),
          (r.loadMs / 1000).toFixed(1),
          MB(r.settled.rss),
          MB(r.settled.peakRss),
          `${MB(r.settled.heapUsed)}/${MB(r.settled.heapTotal)}`,
          MB(r.settled.external),
          r.size > 0 ? fmt(((r.settled.rss / MiB) * 10_000) / r.size) : "-",
          base ? fmt(per10k(r, (m) => m.rss)) : undefined,
          MB(r.afterGc.rss),
          `${MB(r.afterGc.heapUsed)}/${MB(r.afterGc.heapTotal)}`,
          base ? fmt(per10kGc(r)) : undefined,
        ].filter((c): c is string => c !== undefined),
      ),
    ]),
  );
  const largest = rows[rows.length - 1];
  if (largest && largest.size >= 100_000) {
    const s = largest.settled;
    console.log(
      `target: ≤ 300 MB RSS at ${largest.size}: ${s.rss <= 300e6 ? "met" : "NOT met"} (settled ${(s.rss / 1e6).toFixed(0)} MB, peak ${(s.peakRss / 1e6).toFixed(0)} MB, after a full GC ${(largest.afterGc.rss / 1e6).toFixed(0)} MB)`,
    );
  }
}

async function main() {
  await pinPid(process.pid, CLIENT_CPU);
  const dir = await mkdtemp(path.join(tmpdir(), "kzb-dnsmemory-"));
  let zk: BenchZooKeeper | undefined;
  let client: Client | undefined;
  const rows: Measured[] = [];
  let heapSummary = "";
  try {
    zk = await startBenchZooKeeper();
    client = await connectClient(zk.connect);
    let written = 0;
    for (const size of SIZES) {
      if (size % INSTANCES !== 0) throw new Error(`size ${size}: not a multiple of --instances`);
      // Grow the registry to `size`: services are numbered, so the new ones come after.
      await writeRegistry(client, benchRegistrations(size / INSTANCES, INSTANCES).slice(written));
      written = size;
      const r = await measureSize(zk.connect, size, dir);
      rows.push(r);
      console.log(
        `${size} instances: ready in ${(r.loadMs / 1000).toFixed(1)} s; RSS ${MB(r.settled.rss)} MiB (peak ${MB(r.settled.peakRss)}), heap used ${MB(r.settled.heapUsed)} MiB; after a full GC RSS ${MB(r.afterGc.rss)} MiB, heap used ${MB(r.afterGc.heapUsed)} MiB`,
      );
    }
    if (HEAP_PROF) heapSummary = await profileHeap(zk.connect, written, dir);
  } finally {
    if (client) await closeClient(client);
    await zk?.stop();
    await rm(dir, { recursive: true, force: true });
  }
  report(rows);
  if (heapSummary) console.log(heapSummary);
}

runBench(main);
