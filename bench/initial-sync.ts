/**
 * Initial sync from a cold start: the real built bridge (a child process) registers
 * `services × endpoints` endpoints from the in-process fake API server into a real ZooKeeper.
 * Measured from outside: time from spawn until every endpoint is registered (ZooKeeper's own
 * `zk_ephemerals_count`, polled over 4lw `mntr`, which costs the bridge nothing), the ZooKeeper
 * requests it took (`zk_packets_received` delta), its peak RSS (VmHWM) and CPU time.
 *
 * Reference in the same run, same ZooKeeper: a plain client connecting and writing the same
 * service znodes and the same number of ephemerals, with the same bytes, in multi batches of
 * 200, 4 in flight. Target (issue 6): the bridge within 2× of the reference time. The
 * reference runs again once the bridge has stopped (its ephemerals gone), to show how much
 * the server itself moved during the run.
 *
 *   npx tsx bench/initial-sync.ts [--services 10000] [--endpoints 10] [--command sync|run]
 *        [--bridge dist/cmd/kube-zk-bridge.js] [--cpu-prof DIR] [--node-args "<node flags>"]
 *        [--alloc]
 *
 * `--alloc`: what the bridge allocated from its first line to all registered, by file and
 * function (V8's sampling heap profiler, collected objects included): unlike its CPU time,
 * this hardly moves with the VM's speed, so it compares builds. The bridge waits for the
 * profiler at start, so its times are then not comparable. On Node 20 it needs
 * `NODE_OPTIONS=--experimental-websocket` (the inspector client uses WebSocket).
 */
import path from "node:path";
import { freePort } from "../test/support/zookeeper.js";
import { summarizeHeap } from "./dns/heap-profile.js";
import { Inspector } from "./dns/inspector.js";
import { choiceArg, flagArg, numberArg } from "./support/args.js";
import { inSync } from "./support/bridge-http.js";
import { logSpan, readBridgeLog } from "./support/bridge-log.js";
import { runBench } from "./support/cleanup.js";
import { SimulatedCluster } from "./support/cluster.js";
import { formatProfileSummary, latestProfile, summarizeProfile } from "./support/cpu-profile.js";
import { cpuSecondsOf, MB, memoryOf } from "./support/proc.js";
import { writeReference } from "./support/reference.js";
import { scratchDir } from "./support/scratch.js";
import { ratio } from "./support/stats.js";
import { allRegistered, spawnSyncBridge } from "./support/sync-bridge.js";
import { markdownTable } from "./support/table.js";
import { waitFor } from "./support/wait.js";
import { packetsReceived, waitForEphemerals } from "./support/zk4lw.js";
import { startBenchZooKeeper } from "./support/zookeeper.js";

const SERVICES = numberArg("services", 10_000);
const PER_SERVICE = numberArg("endpoints", 10);
const COMMAND = choiceArg("command", ["sync", "run"] as const, "sync");
const ALLOC = flagArg("alloc");

const s = (ms: number) => (ms / 1000).toFixed(2);
const perSecond = (n: number, ms: number) => Math.round(n / (ms / 1000)).toLocaleString("en-US");

runBench(async () => {
  const scratch = scratchDir("initial-sync");
  console.error(`logs in ${scratch}`);
  const zk = await startBenchZooKeeper();
  const cluster = await SimulatedCluster.start(SERVICES, PER_SERVICE);
  const total = cluster.total;

  // Warm the ZooKeeper JVM up (JIT) with the same work, untimed, so neither side pays for a
  // cold server; then the reference: the raw ceiling for the same znodes. In full: with the
  // server JVM's C2, a write of 100,000 took 4.6-5.6 s cold and 2.7 s the second time.
  await (
    await writeReference(zk, SERVICES, PER_SERVICE, { withParents: true, root: "/bench-warm" })
  ).close();
  const zkCpu0 = cpuSecondsOf(zk.pid() ?? -1) ?? Number.NaN;
  const refPackets0 = await packetsReceived(zk.port);
  const ref = await writeReference(zk, SERVICES, PER_SERVICE, { withParents: true });
  const refRequests = (await packetsReceived(zk.port)) - refPackets0;
  const zkCpuRef = (cpuSecondsOf(zk.pid() ?? -1) ?? Number.NaN) - zkCpu0;
  await ref.close();
  console.error(`reference: ${total} ephemerals in ${s(ref.ms)} s`);

  const packets0 = await packetsReceived(zk.port);
  const zkCpu1 = cpuSecondsOf(zk.pid() ?? -1) ?? Number.NaN;
  const inspectPort = ALLOC ? await freePort() : 0;
  const { bridge, profDir } = await spawnSyncBridge({
    command: COMMAND,
    zkConnect: zk.connect,
    cluster,
    name: "initial-sync",
    logFile: path.join(scratch, "bridge.log"),
    nodeArgs: ALLOC ? [`--inspect-brk=127.0.0.1:${inspectPort}`] : [],
  });
  const inspector = ALLOC ? await Inspector.attach(inspectPort) : undefined;
  if (inspector) {
    await inspector.send("HeapProfiler.enable");
    await inspector.send("HeapProfiler.startSampling", {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    await inspector.send("Runtime.runIfWaitingForDebugger");
  }
  let firstAt: number | undefined;
  let zkCpuAtFirst = Number.NaN;
  const allAt = await waitForEphemerals(zk.port, allRegistered(total), {
    timeoutMs: 1_800_000,
    check: () => bridge.assertAlive(),
    onSample: (n, at) => {
      if (firstAt === undefined && n > 1) {
        firstAt = at;
        zkCpuAtFirst = cpuSecondsOf(zk.pid() ?? -1) ?? Number.NaN;
      }
    },
    // After the first registration, `mntr` (which costs ZooKeeper ~5 ms each) only near the end.
    nodes: (znodes) => firstAt === undefined || znodes >= total + 1,
  });
  const allocated = await inspector?.send<{ profile: { head: unknown } }>(
    "HeapProfiler.stopSampling",
  );
  inspector?.close();
  const requests = (await packetsReceived(zk.port)) - packets0;
  const zkCpuBridge = (cpuSecondsOf(zk.pid() ?? -1) ?? Number.NaN) - zkCpu1;
  const bridgeCpu = cpuSecondsOf(bridge.pid) ?? Number.NaN;
  const memory = memoryOf(bridge.pid);
  const readyAt = await waitFor("the bridge in sync (/readyz)", () => inSync(bridge), {
    timeoutMs: 600_000,
    intervalMs: 50,
  }).then(() => performance.now());
  const ms = allAt - bridge.spawnedAt;
  await bridge.stop();
  // The reference again, on the server as the bridge left it (its session closed, its
  // ephemerals gone): a server that has done more work may cost more per write.
  const zkCpu2 = cpuSecondsOf(zk.pid() ?? -1) ?? Number.NaN;
  const refAfter = await writeReference(zk, SERVICES, PER_SERVICE, {
    withParents: true,
    root: "/bench-ref-after",
  });
  const zkCpuRefAfter = (cpuSecondsOf(zk.pid() ?? -1) ?? Number.NaN) - zkCpu2;
  await refAfter.close();
  console.error(`reference after the bridge: ${total} ephemerals in ${s(refAfter.ms)} s`);
  const log = readBridgeLog(bridge.logFile);
  const epoch = (perf: number) => bridge.spawnedAtEpoch + (perf - bridge.spawnedAt);
  const changes = logSpan(log, "registry change");
  const stages: Array<[string, number | undefined]> = [
    ["process up: first log line", log[0]?.time],
    ["ZooKeeper session established", logSpan(log, "ZooKeeper session established")?.first],
    ["Kubernetes caches synced (full list)", logSpan(log, "Kubernetes caches synced")?.first],
    ["became leader", logSpan(log, "became leader")?.first],
    ["plan made: first change logged", changes?.first],
    ["last change logged", changes?.last],
    ["first registration in ZooKeeper", firstAt === undefined ? undefined : epoch(firstAt)],
    ["all registered in ZooKeeper", epoch(allAt)],
    ["/readyz 200, in sync", epoch(readyAt)],
  ];

  console.log(
    `\n## Initial sync: ${total.toLocaleString("en-US")} endpoints (${SERVICES.toLocaleString("en-US")} Services × ${PER_SERVICE}), cold start, \`${COMMAND}\`\n`,
  );
  console.log(
    markdownTable([
      [
        "what",
        "time to all registered (s)",
        "endpoints/s",
        "ZooKeeper requests",
        "client CPU (s)",
        "ZooKeeper CPU (s)",
        "client peak RSS (MB)",
      ],
      [
        "plain client: parents + ephemerals, multi 200 × 4 in flight (reference)",
        s(ref.ms),
        perSecond(total, ref.ms),
        refRequests.toLocaleString("en-US"),
        "–",
        zkCpuRef.toFixed(1),
        "–",
      ],
      [
        `kube-zk-bridge ${COMMAND}, spawn → all registered`,
        s(ms),
        perSecond(total, ms),
        requests.toLocaleString("en-US"),
        bridgeCpu.toFixed(1),
        zkCpuBridge.toFixed(1),
        memory ? MB(memory.peakRss) : "–",
      ],
      [
        "the reference again, after the bridge stopped",
        s(refAfter.ms),
        perSecond(total, refAfter.ms),
        "–",
        "–",
        zkCpuRefAfter.toFixed(1),
        "–",
      ],
    ]),
  );
  console.log(
    `\nbridge / reference time: ${ratio(ms, ref.ms)} (target ≤ 2×); against the reference after the bridge: ${ratio(ms, refAfter.ms)}\n\nBridge stages (from its own log lines and ZooKeeper's counters):\n\n${markdownTable(
      [
        ["stage", "s after spawn"],
        ...stages.map(([name, at]) => [
          name,
          at === undefined ? "–" : s(at - bridge.spawnedAtEpoch),
        ]),
      ],
    )}` +
      `\n\nZooKeeper CPU during the bridge's run: ${(zkCpuAtFirst - zkCpu1).toFixed(1)} s before its first registration, ${(zkCpuBridge - (zkCpuAtFirst - zkCpu1)).toFixed(1)} s from then on` +
      `\nbridge RSS: peak ${memory ? MB(memory.peakRss) : "–"} MB (VmHWM), ${MB(memory?.rss ?? 0)} MB when all registered` +
      `\nreference time includes its connect; the bridge's includes Node start-up, the list from the API server and every stage before its first write.`,
  );

  if (allocated) {
    console.log(
      `\n### Allocated by the bridge, first line to all registered (sampled; times above are not comparable under --alloc)\n\n${summarizeHeap(allocated.profile, 25)}`,
    );
  }
  if (profDir) {
    const file = latestProfile(profDir);
    if (file) {
      console.log(
        `\n### Bridge CPU profile, whole run (${file})\n\n${formatProfileSummary(summarizeProfile(file), { top: 25, perUnit: { count: total, name: "endpoint" } })}`,
      );
    }
  }
});
