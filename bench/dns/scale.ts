/**
 * DNS at scale under churn: the real built binary (`kube-zk-bridge dns`) reading a real
 * ZooKeeper that holds services × instances in Curator JSON, while a churn driver replaces
 * instances at a fixed rate; dnsperf against it and against NSD serving a static zone of the
 * same size, in the same run, with the churn running throughout (both servers are measured
 * with the same load on the load generator's CPU); first `--static-rounds` of the same
 * without churn, to show what the churn itself costs. Also: how stale the bridge's answers were
 * (ZooKeeper ack → DNS answer reflecting the write), and the churn rate actually achieved.
 *
 *   npm run build && flock /tmp/kzb-bench.lock bench/dns/scale.sh \
 *     [--services 10000] [--instances 10] [--churn 1000] [--seconds 10] [--clients 4]
 *     [--rounds 1] [--static-rounds 1] [--samples-per-second 20] [--query-lines 20000] [--cpu-prof]
 *     [--node-args "<extra node flags for the bridge>"]
 *
 * CPUs (2 cores): the bridge and NSD on CPU 0; dnsperf, this process (the churn driver and
 * the staleness probe run on a worker thread of it) and ZooKeeper (it inherits this
 * process's affinity) on CPU 1.
 * `--cpu-prof`: the bridge runs under `node --cpu-prof`; its profile during its peak dnsperf
 * run and during churn alone is summarised at the end (the file is kept).
 * `KZB_BENCH_BIN=<path to a built kube-zk-bridge.js>`: measure another build (A/B).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../test/support/zookeeper.js";
import { flagArg, numberArg, wholeArg, wordsArg } from "../support/args.js";
import type { BridgeProcess } from "../support/bridge.js";
import { BASE_PATH, ZONE } from "../support/bridge-defaults.js";
import { runBench } from "../support/cleanup.js";
import { CLIENT_CPU, PIN, pinPid } from "../support/cpu-pin.js";
import {
  cpuProfArgs,
  formatProfileSummary,
  latestProfile,
  monotonicUs,
  summarizeProfile,
} from "../support/cpu-profile.js";
import { cpuBusy, MB, treeCpuSecondsOf } from "../support/proc.js";
import { percentile } from "../support/stats.js";
import { markdownTable } from "../support/table.js";
import { sleep } from "../support/wait.js";
import { type Client, closeClient, connectClient } from "../support/zk-client.js";
import { type BenchZooKeeper, startBenchZooKeeper } from "../support/zookeeper.js";
import { type ChurnReport, startChurnWorker } from "./churn-worker.js";
import { dnsServer, memoryNow, startDnsBridge, waitLoaded } from "./dns-bridge.js";
import { Inspector } from "./inspector.js";
import { startNsd } from "./nsd.js";
import { bestOf, measure, type Phase, type Row, type Server, table } from "./perf.js";
import { benchRegistrations, benchSnapshot, queryFile, zoneFile } from "./registry.js";
import type { StalenessSample } from "./staleness.js";
import { writeRegistry } from "./zk-registry.js";

const SERVICES = numberArg("services", 10_000);
const INSTANCES = numberArg("instances", 10);
const TOTAL = SERVICES * INSTANCES;
const CHURN = numberArg("churn", TOTAL / 100);
const SECONDS = numberArg("seconds", 10);
const CLIENTS = numberArg("clients", 4);
const ROUNDS = numberArg("rounds", 1);
const STATIC_ROUNDS = wholeArg("static-rounds", 1);
const SAMPLES_PER_SECOND = numberArg("samples-per-second", 20);
const QUERY_LINES = numberArg("query-lines", 20_000);
const CPU_PROF = flagArg("cpu-prof");
/** Extra node flags for the bridge, e.g. `--node-args "--max-old-space-size=256"`. */
const NODE_ARGS = wordsArg("node-args");
const IDLE_SECONDS = 5;
/** Queries name instance slot 0 only: the churn never replaces it, so they keep resolving. */
const STABLE_SLOTS = 1;
const MiB = 2 ** 20;

/** Bridge CPU and profile window of one phase, as this thread saw it. */
interface PhaseWindow {
  name: string;
  startMs: number;
  endMs: number;
  startUs: number;
  endUs: number;
  /** CPU seconds of the bridge and of NSD. */
  cpuAtStart: [number, number];
  cpuAtEnd: [number, number];
  /** /proc/stat per CPU. */
  cpusAtStart: { busy: number; total: number }[];
  cpusAtEnd: { busy: number; total: number }[];
}

/** Heap used after a full GC, MiB: what the bridge really holds. */
async function liveHeapMiB(inspector: Inspector): Promise<number> {
  await inspector.send("HeapProfiler.collectGarbage");
  const { usedSize } = await inspector.send<{ usedSize: number }>("Runtime.getHeapUsage");
  return usedSize / MiB;
}

const fmt = (x: number | undefined, digits = 1) =>
  x === undefined || Number.isNaN(x) ? "-" : x.toFixed(digits);

function lagRow(name: string, samples: StalenessSample[]): string[] {
  const sorted = (xs: (number | undefined)[]) =>
    xs.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  const appear = sorted(samples.map((s) => s.appearMs));
  const gone = sorted(samples.map((s) => s.goneMs));
  const timeouts = samples.filter((s) => s.appearMs === undefined || s.goneMs === undefined);
  return [
    name,
    String(samples.length),
    fmt(percentile(appear, 50)),
    fmt(percentile(appear, 90)),
    fmt(percentile(appear, 99)),
    fmt(appear[appear.length - 1]),
    fmt(percentile(gone, 50)),
    fmt(percentile(gone, 99)),
    String(timeouts.length),
  ];
}

function printReport(
  rows: Row[],
  staticNsd: Row | undefined,
  windows: PhaseWindow[],
  churn: ChurnReport,
): void {
  console.log(`\n## dnsperf under churn (${CHURN}/s requested), best of ${ROUNDS}`);
  console.log(table(rows));
  const [b, n] = rows;
  if (b && n) {
    console.log(
      `target: bridge ≥ 0.5 × NSD qps under churn: ${b.qps >= 0.5 * n.qps ? "met" : "NOT met"} (${(b.qps / n.qps).toFixed(2)}); rcodes bridge: ${b.rcodes}; NSD: ${n.rcodes}`,
    );
  }
  if (b && staticNsd) {
    // NSD's answers do not depend on the churn, but under churn it shares CPU 0 with the
    // bridge's background work: its no-churn figure is the stricter reference.
    console.log(
      `bridge under churn / NSD without churn (NSD not sharing CPU 0 with the bridge's churn work): ${(b.qps / staticNsd.qps).toFixed(2)} (${b.qps.toFixed(0)} / ${staticNsd.qps.toFixed(0)} qps)`,
    );
  }

  console.log(
    "\n## churn achieved and CPU use, per phase (% of one CPU; 'other on CPU 0' is what neither server used: anyone else's load)",
  );
  console.log(
    markdownTable([
      [
        "phase",
        "s",
        "churn/s",
        "bridge CPU %",
        "NSD CPU %",
        "CPU 0 busy %",
        "other on CPU 0 %",
        "CPU 1 busy %",
      ],
      ...windows.map((w) => {
        const s = (w.endMs - w.startMs) / 1000;
        const c = churn.phases.find((p) => p.name === w.name);
        const proc = (i: 0 | 1) => (100 * (w.cpuAtEnd[i] - w.cpuAtStart[i])) / s;
        const busy = (cpu: number) => {
          const a = w.cpusAtStart[cpu];
          const b = w.cpusAtEnd[cpu];
          return a && b && b.total > a.total
            ? (100 * (b.busy - a.busy)) / (b.total - a.total)
            : Number.NaN;
        };
        return [
          w.name,
          s.toFixed(1),
          c ? (c.acked / c.seconds).toFixed(0) : "-",
          proc(0).toFixed(0),
          proc(1).toFixed(0),
          fmt(busy(0), 0),
          fmt(Math.max(0, busy(0) - proc(0) - proc(1)), 0),
          fmt(busy(1), 0),
        ];
      }),
    ]),
  );
  console.log(
    `churn overall: ${churn.acked} replacements in ${churn.seconds.toFixed(1)} s = ${(churn.acked / churn.seconds).toFixed(0)}/s (requested ${CHURN}/s), ${churn.failed} failed`,
  );

  const samples = churn.samples;
  console.log(
    "\n## staleness: ZooKeeper ack → bridge answer reflecting the write (ms; the probe polls every 5 ms)",
  );
  const names = [...new Set(samples.map((s) => s.phase))];
  console.log(
    markdownTable([
      [
        "phase",
        "samples",
        "new p50",
        "new p90",
        "new p99",
        "new max",
        "old gone p50",
        "old gone p99",
        "timed out",
      ],
      ...names.map((name) =>
        lagRow(
          name,
          samples.filter((s) => s.phase === name),
        ),
      ),
      lagRow("all", samples),
    ]),
  );
  const writes = samples.map((s) => s.writeMs).sort((x, y) => x - y);
  console.log(
    `ZooKeeper multi round trip (write sent → ack): p50 ${fmt(percentile(writes, 50))} ms, p99 ${fmt(percentile(writes, 99))} ms`,
  );
}

function printProfile(profDir: string, windows: PhaseWindow[]): void {
  const file = latestProfile(profDir);
  if (!file) {
    console.log(`no .cpuprofile in ${profDir}`);
    return;
  }
  for (const [prefix, top] of [
    ["bridge peak (churn)", 25],
    ["idle (churn only)", 15],
    ["bridge peak (no churn)", 15],
  ] as const) {
    const w = windows.find((p) => p.name.startsWith(prefix));
    if (!w) continue;
    console.log(`\n## bridge CPU profile during "${w.name}" (${file})`);
    console.log(
      formatProfileSummary(summarizeProfile(file, { fromUs: w.startUs, toUs: w.endUs }), {
        top,
        inclusive: true,
      }),
    );
  }
}

async function main() {
  const dir = await mkdtemp(path.join(tmpdir(), "kzb-dnsscale-"));
  const profDir = CPU_PROF ? await mkdtemp(path.join(tmpdir(), "kzb-dnsscale-prof-")) : undefined;
  // This process and the ZooKeeper JVM it starts stay off the servers' CPU.
  await pinPid(process.pid, CLIENT_CPU);
  let zk: BenchZooKeeper | undefined;
  let client: Client | undefined;
  let bridge: BridgeProcess | undefined;
  let nsd: Server | undefined;
  let churn: ReturnType<typeof startChurnWorker> | undefined;
  let inspector: Inspector | undefined;
  try {
    console.log(
      `registry: ${SERVICES} services × ${INSTANCES} instances = ${TOTAL} in ZooKeeper (Curator JSON under ${BASE_PATH}); churn ${CHURN}/s (${((100 * CHURN) / TOTAL).toFixed(2)}%/s); dnsperf -c ${CLIENTS} -q 200 -e, ${SECONDS} s per run, ${ROUNDS} round(s), ${QUERY_LINES} query lines;${NODE_ARGS.length ? ` bridge node flags: ${NODE_ARGS.join(" ")};` : ""} pinned: ${PIN} (servers on CPU 0; dnsperf, ZooKeeper, churn driver on CPU 1)`,
    );
    zk = await startBenchZooKeeper();
    client = await connectClient(zk.connect);
    const t = performance.now();
    await writeRegistry(client, benchRegistrations(SERVICES, INSTANCES));
    const writeMs = performance.now() - t;

    const inspectPort = await freePort();
    bridge = await startDnsBridge({
      zkConnect: zk.connect,
      logFile: path.join(dir, "bridge.log"),
      // The inspector only to force a GC now and then (live heap); idle otherwise.
      nodeArgs: [
        `--inspect=127.0.0.1:${inspectPort}`,
        ...NODE_ARGS,
        ...(profDir ? cpuProfArgs(profDir) : []),
      ],
    });
    const loadMs = await waitLoaded(bridge, TOTAL);
    const loaded = memoryNow(bridge);
    // Attached only around the GCs, so no debugger session is open while measuring.
    inspector = await Inspector.attach(inspectPort);
    const liveLoaded = await liveHeapMiB(inspector);
    inspector.close();
    console.log(
      `ZooKeeper written in ${(writeMs / 1000).toFixed(1)} s; bridge ready with ${TOTAL} instances ${(loadMs / 1000).toFixed(1)} s after spawn; RSS ${MB(loaded.rss)} MiB, peak ${MB(loaded.peakRss)} MiB`,
    );

    nsd = await startNsd(dir, zoneFile(benchSnapshot(SERVICES, INSTANCES)));
    const queries = path.join(dir, "queries.txt");
    await writeFile(queries, queryFile(SERVICES, INSTANCES, QUERY_LINES, STABLE_SLOTS));

    const windows: PhaseWindow[] = [];
    const theBridge = dnsServer(bridge);
    const theNsd = nsd;
    const enter = (name: string) => {
      const now = performance.now();
      const us = monotonicUs();
      const cpu: [number, number] = [treeCpuSecondsOf(theBridge.pid), treeCpuSecondsOf(theNsd.pid)];
      const cpus = cpuBusy();
      const prev = windows[windows.length - 1];
      if (prev) {
        prev.endMs = now;
        prev.endUs = us;
        prev.cpuAtEnd = cpu;
        prev.cpusAtEnd = cpus;
      }
      churn?.phase(name);
      windows.push({
        name,
        startMs: now,
        endMs: now,
        startUs: us,
        endUs: us,
        cpuAtStart: cpu,
        cpuAtEnd: cpu,
        cpusAtStart: cpus,
        cpusAtEnd: cpus,
      });
    };
    /** One dnsperf round over both servers, each phase named `<server> <phase> <label>`. */
    const round = async (label: string, best: Map<string, Row>) => {
      for (const server of [theBridge, theNsd]) {
        const row = await measure(
          server,
          queries,
          { clients: CLIENTS, seconds: SECONDS },
          (p: Phase) => enter(p === "done" ? "between runs" : `${server.name} ${p} ${label}`),
        );
        console.log(
          `${label}: ${row.server} ${row.qps.toFixed(0)} qps, ${row.cpuUsPerQuery.toFixed(1)} µs CPU/q, p99@half ${row.p99.toFixed(3)} ms, rcodes ${row.rcodes}`,
        );
        const prev = best.get(row.server);
        best.set(row.server, prev ? bestOf(prev, row) : row);
      }
    };

    // The same registry without churn first: what the churn itself costs.
    const staticBest = new Map<string, Row>();
    for (let r = 1; r <= STATIC_ROUNDS; r++) await round(`(no churn) #${r}`, staticBest);

    churn = startChurnWorker({
      zkConnect: zk.connect,
      services: SERVICES,
      instances: INSTANCES,
      rate: CHURN,
      stableSlots: STABLE_SLOTS,
      samplesPerSecond: SAMPLES_PER_SECOND,
      dnsPort: bridge.dnsPort,
      zone: ZONE,
    });
    await churn.ready;
    enter("idle (churn only)");
    await sleep(IDLE_SECONDS * 1000);
    const best = new Map<string, Row>();
    for (let r = 1; r <= ROUNDS; r++) await round(`(churn) #${r}`, best);
    enter("end");
    windows.pop();
    const report = await churn.stop();
    churn = undefined;
    const after = memoryNow(bridge);
    inspector = await Inspector.attach(inspectPort);
    const liveAfter = await liveHeapMiB(inspector);
    inspector.close();

    const staticRows = [staticBest.get("bridge"), staticBest.get("NSD")].filter(
      (r): r is Row => r !== undefined,
    );
    if (staticRows.length > 0) {
      console.log(`\n## dnsperf, same registry, no churn, best of ${STATIC_ROUNDS}`);
      console.log(table(staticRows));
    }
    const rows = [best.get("bridge"), best.get("NSD")].filter((r): r is Row => r !== undefined);
    printReport(rows, staticBest.get("NSD"), windows, report);
    console.log(
      `bridge memory: after load RSS ${MB(loaded.rss)} MiB, live heap ${liveLoaded.toFixed(0)} MiB (after a full GC); after the run RSS ${MB(after.rss)} MiB, peak ${MB(after.peakRss)} MiB, live heap ${liveAfter.toFixed(0)} MiB after ${report.acked} replacements`,
    );
    const output = bridge
      .logTail()
      .split("\n")
      .filter((l) => !/^(Debugger |For help, see)/.test(l))
      .join("\n")
      .trim();
    if (output)
      console.log(`bridge output (last lines):\n${output.split("\n").slice(-5).join("\n")}`);
    if (profDir) {
      await bridge.stop(); // the profile is written at exit
      printProfile(profDir, windows);
    }
  } finally {
    inspector?.close();
    await churn?.terminate();
    await nsd?.stop();
    await bridge?.stop();
    if (client) await closeClient(client);
    await zk?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

runBench(main);
