/**
 * What following churn alone costs the `dns` side: no queries, 100,000 Curator instances
 * registered, a driver replacing `--churn` of them per second. Prints the bridge's CPU per
 * thread (main thread, V8's GC helpers, libuv) from /proc over `--seconds`, and µs of CPU per
 * replacement. `--alloc`: what the bridge allocated over that window, by file and function
 * (V8's sampling heap profiler, collected objects included); `--cpu-prof`: a summarised CPU
 * profile of the same window; `--survivors`: like `--alloc`, but only what outlived the young
 * generation (what scavenges copy and promote, the part of allocation that costs GC time).
 * Compare builds with `KZB_BENCH_BIN=<copy of dist>/cmd/kube-zk-bridge.js`;
 * the VM's speed drifts, so alternate them (A B A B) and compare allocation, which does not.
 *
 *   npm run build && flock /tmp/kzb-bench.lock bench/dns/churn-cost.sh \
 *     [--services 10000] [--churn 1000] [--seconds 10] [--alloc | --survivors] [--cpu-prof]
 *     [--node-args "--max-old-space-size=320"]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../test/support/zookeeper.js";
import { flagArg, numberArg, wordsArg } from "../support/args.js";
import { ZONE } from "../support/bridge-defaults.js";
import { runBench } from "../support/cleanup.js";
import { CLIENT_CPU, pinPid } from "../support/cpu-pin.js";
import {
  cpuProfArgs,
  formatProfileSummary,
  latestProfile,
  monotonicUs,
  summarizeProfile,
} from "../support/cpu-profile.js";
import { threadCpuOf } from "../support/proc.js";
import { markdownTable } from "../support/table.js";
import { sleep } from "../support/wait.js";
import { closeClient, connectClient } from "../support/zk-client.js";
import { startBenchZooKeeper } from "../support/zookeeper.js";
import { startChurnWorker } from "./churn-worker.js";
import { startDnsBridge, waitLoaded } from "./dns-bridge.js";
import { summarizeHeap } from "./heap-profile.js";
import { Inspector } from "./inspector.js";
import { benchRegistrations } from "./registry.js";
import { writeRegistry } from "./zk-registry.js";

const SERVICES = numberArg("services", 10_000);
const CHURN = numberArg("churn", 1000);
const SECONDS = numberArg("seconds", 10);
const SURVIVORS = flagArg("survivors");
const ALLOC = flagArg("alloc") || SURVIVORS;
const CPU_PROF = flagArg("cpu-prof");
const NODE_ARGS = wordsArg("node-args");

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "kzb-churn-cost-"));
  await pinPid(process.pid, CLIENT_CPU);
  const zk = await startBenchZooKeeper();
  const client = await connectClient(zk.connect);
  await writeRegistry(client, benchRegistrations(SERVICES, 10));
  const inspectPort = ALLOC ? await freePort() : 0;
  const bridge = await startDnsBridge({
    zkConnect: zk.connect,
    logFile: path.join(dir, "bridge.log"),
    nodeArgs: [
      ...(ALLOC ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
      ...NODE_ARGS,
      ...(CPU_PROF ? cpuProfArgs(dir) : []),
    ],
  });
  let window = { fromUs: 0, toUs: 0 };
  try {
    await waitLoaded(bridge, SERVICES * 10);
    const churn = startChurnWorker({
      zkConnect: zk.connect,
      services: SERVICES,
      instances: 10,
      rate: CHURN,
      stableSlots: 1,
      samplesPerSecond: 1,
      dnsPort: bridge.dnsPort,
      zone: ZONE,
    });
    await churn.ready;
    churn.phase("warm");
    await sleep(3000);
    churn.phase("measure");
    const inspector = ALLOC ? await Inspector.attach(inspectPort) : undefined;
    await inspector?.send("HeapProfiler.startSampling", {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: !SURVIVORS,
    });
    const before = threadCpuOf(bridge.pid);
    window = { fromUs: monotonicUs(), toUs: 0 };
    await sleep(SECONDS * 1000);
    window.toUs = monotonicUs();
    const after = threadCpuOf(bridge.pid);
    if (inspector) {
      const { profile } = await inspector.send<{ profile: { head: unknown } }>(
        "HeapProfiler.stopSampling",
      );
      console.log(
        `${SURVIVORS ? "allocated and outliving the young generation" : "allocated"} by the bridge in ${SECONDS} s (sampled):\n${summarizeHeap(profile, 25)}`,
      );
      inspector.close();
    }
    const report = await churn.stop();
    const measured = report.phases.find((p) => p.name === "measure");
    const rate = measured ? measured.acked / measured.seconds : Number.NaN;

    const rows: string[][] = [["thread", "user %", "sys %"]];
    let total = 0;
    for (const [thread, now] of after) {
      const then = before.get(thread) ?? { user: 0, sys: 0 };
      const user = (now.user - then.user) / SECONDS;
      const sys = (now.sys - then.sys) / SECONDS;
      total += user + sys;
      if (user + sys >= 0.001) rows.push([thread, (100 * user).toFixed(1), (100 * sys).toFixed(1)]);
    }
    console.log(markdownTable(rows));
    console.log(
      `churn ${rate.toFixed(0)}/s achieved; bridge CPU ${(100 * total).toFixed(1)}% of a core = ` +
        `${((1e6 * total) / rate).toFixed(0)} µs per replacement`,
    );
  } finally {
    await bridge.stop();
    const profile = CPU_PROF ? latestProfile(dir) : undefined;
    if (profile) {
      console.log(
        formatProfileSummary(summarizeProfile(profile, window), { top: 40, inclusive: true }),
      );
    }
    await closeClient(client);
    await zk.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

runBench(main);
