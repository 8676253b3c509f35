/**
 * Recovery at scale, with `services × endpoints` registered by the real built bridge (a child
 * process) in a real ZooKeeper:
 *
 *  (a) session expiry: the bridge is frozen with SIGSTOP (a long GC pause or VM freeze, as
 *      ZooKeeper sees it) until ZooKeeper expires its session and drops every ephemeral
 *      (`zk_ephemerals_count` falls, watched over 4lw `mntr` every 5 ms), then SIGCONT at once.
 *      Measured: from the expiry to all endpoints registered again, and to /readyz in sync.
 *      SIGSTOP rather than a black-holing TCP proxy: the expiry then happens at a known moment
 *      on the server, and what is timed is only the bridge's recovery, not its dead-link detection.
 *  (b) ZooKeeper restart: the server is killed and started again on the same port and data
 *      directory (sessions and their ephemerals survive a restart if the client comes back
 *      within its session timeout). Measured: from ZooKeeper serving again (first `mntr` that
 *      answers) to all endpoints present and the bridge in sync (/readyz 200, nothing stale).
 *
 * References, same ZooKeeper, same run (the raw ceiling a plain node-zookeeper-client reaches):
 *  (a) a new session writing the same number of ephemerals, same bytes, under existing parents
 *      in multi batches of 200, 4 in flight (connect included);
 *  (b) that client, holding them, through the same restart: serving → its session resumed, its
 *      connection dropped at the moment the server serves (see dropConnection) so it resumes
 *      at once.
 * Target (issue 6): each within 2× of its reference.
 *
 * ZooKeeper runs with jute.maxbuffer = 8 MiB by default (`--zk-jute-maxbuffer 0`: its own
 * 1 MiB): the bridge's session owns every ephemeral, and its expiry is logged as one transaction
 * listing them all (~4 MB at 100,000), which a restarted server with the default cannot replay
 * (ZOOKEEPER-4306), so (b) would never come back.
 *
 *   npx tsx bench/recovery.ts [--services 10000] [--endpoints 10] [--session-timeout 10]
 *        [--zk-down-ms 2000] [--zk-jute-maxbuffer 8388608] [--command sync|run] [--bridge FILE]
 *        [--cpu-prof DIR] [--node-args "<node flags>"]
 */
import path from "node:path";
import { choiceArg, numberArg, stringArg } from "./support/args.js";
import type { BridgeProcess } from "./support/bridge.js";
import { inSync } from "./support/bridge-http.js";
import { logSpan, readBridgeLog } from "./support/bridge-log.js";
import { runBench } from "./support/cleanup.js";
import { SimulatedCluster } from "./support/cluster.js";
import {
  formatProfileSummary,
  latestProfile,
  monotonicUs,
  summarizeProfile,
} from "./support/cpu-profile.js";
import { cpuSecondsOf, MB, memoryOf } from "./support/proc.js";
import { writeReference } from "./support/reference.js";
import { scratchDir } from "./support/scratch.js";
import { ratio } from "./support/stats.js";
import { allRegistered, spawnSyncBridge } from "./support/sync-bridge.js";
import { markdownTable } from "./support/table.js";
import { sleep, waitFor } from "./support/wait.js";
import { dropConnection } from "./support/zk-client.js";
import {
  ephemeralsCount,
  packetsReceived,
  srvrNodeCount,
  waitForEphemerals,
} from "./support/zk4lw.js";
import { startBenchZooKeeper } from "./support/zookeeper.js";

const SERVICES = numberArg("services", 10_000);
const PER_SERVICE = numberArg("endpoints", 10);
const SESSION_TIMEOUT_S = numberArg("session-timeout", 10);
const ZK_DOWN_MS = numberArg("zk-down-ms", 2000);
const COMMAND = choiceArg("command", ["sync", "run"] as const, "sync");
/** 0: ZooKeeper's default. See BenchZooKeeperOptions.juteMaxBuffer for why the default here is 8 MiB. */
const JUTE_MAX_BUFFER = Number(stringArg("zk-jute-maxbuffer", String(8 * 1024 * 1024)));

const s = (ms: number) => (ms / 1000).toFixed(2);

/** One recovery, timed from the event that started it (the expiry; ZooKeeper serving again). */
interface Phase {
  /** Event → every endpoint registered again. */
  readonly ms: number;
  /** Event → the bridge in sync (/readyz). */
  readonly syncedMs: number;
  /** ZooKeeper requests and bridge CPU seconds since the baseline. */
  readonly requests: number;
  readonly cpuS: number;
  /** ZooKeeper's CPU seconds (all its threads) since the baseline. */
  readonly zkCpuS: number;
  /** `performance.now()` of the two ends, and the profile clock when in sync. */
  readonly presentAt: number;
  readonly syncedAt: number;
  readonly toUs: number;
}

/** The counters a phase's requests and CPU are counted from. */
interface Baseline {
  readonly packets: number;
  readonly cpuS: number;
  readonly zkCpuS: number;
}

runBench(async () => {
  const scratch = scratchDir("recovery");
  console.error(`logs in ${scratch}`);
  if (!Number.isInteger(JUTE_MAX_BUFFER) || JUTE_MAX_BUFFER < 0) {
    throw new Error("--zk-jute-maxbuffer: bytes, or 0 for ZooKeeper's default");
  }
  const zk = await startBenchZooKeeper(JUTE_MAX_BUFFER ? { juteMaxBuffer: JUTE_MAX_BUFFER } : {});
  const cluster = await SimulatedCluster.start(SERVICES, PER_SERVICE);
  const total = cluster.total;

  // Warm-up (JIT), and the reference's parents, untimed.
  await (await writeReference(zk, SERVICES, PER_SERVICE, { withParents: true })).close();

  // Reference (a): a fresh session re-writing everything under existing parents.
  const refPackets = await packetsReceived(zk.port);
  const zkCpu = () => cpuSecondsOf(zk.pid() ?? 0) ?? 0;
  const refZkCpu = zkCpu();
  const refClientCpu = process.cpuUsage();
  const ref = await writeReference(zk, SERVICES, PER_SERVICE, { withParents: false });
  const refARequests = (await packetsReceived(zk.port)) - refPackets;
  const refAZkCpuS = zkCpu() - refZkCpu;
  const { user, system } = process.cpuUsage(refClientCpu);
  const refAClientCpuS = (user + system) / 1e6;
  console.error(`reference (a): ${total} ephemerals in ${s(ref.ms)} s`);

  // Reference (b): the same client, holding them, through a ZooKeeper restart.
  const resumed = new Promise<number>((resolve) =>
    ref.client.once("disconnected", () =>
      ref.client.once("connected", () => resolve(performance.now())),
    ),
  );
  let refResumed = false;
  void resumed.then(() => {
    refResumed = true;
  });
  const refServing = await zk.restart(ZK_DOWN_MS);
  // The best a plain client can do: reconnect the moment the server serves (a connection it
  // opened during start-up would never get its handshake answered).
  if (!refResumed) dropConnection(ref.client);
  const refResumedAt = await Promise.race([
    resumed,
    sleep(120_000).then(() => {
      throw new Error("the reference client did not resume its session within 120 s");
    }),
  ]);
  const refPresentAt = await waitForEphemerals(zk.port, (n) => n >= total, {
    timeoutMs: 60_000,
    nodes: (znodes) => znodes >= total,
  });
  const refB = Math.max(refResumedAt, refPresentAt) - refServing;
  console.error(`reference (b): session resumed ${s(refB)} s after ZooKeeper served again`);
  await ref.close();

  const { bridge, profDir } = await spawnSyncBridge({
    command: COMMAND,
    zkConnect: zk.connect,
    cluster,
    name: "recovery",
    logFile: path.join(scratch, "bridge.log"),
    args: ["--zk-session-timeout", `${SESSION_TIMEOUT_S}s`],
  });
  const registered = allRegistered(total);
  const baseline = async (): Promise<Baseline> => ({
    packets: await packetsReceived(zk.port),
    cpuS: cpuSecondsOf(bridge.pid) ?? 0,
    zkCpuS: zkCpu(),
  });
  // The znode count with everything registered, so the polls can read the cheap `srvr`
  // until it is near (see waitForEphemerals): a little slack for the bridge's own nodes.
  let fullNodes = total + 1;
  const nearlyFull = (znodes: number) => znodes >= fullNodes - 10;
  /** Waits for every endpoint back and the bridge in sync; the phase timed from `eventAt`. */
  const recovered = async (eventAt: number, from: Baseline): Promise<Phase> => {
    const presentAt = await waitForEphemerals(zk.port, registered, {
      timeoutMs: 1_800_000,
      check: () => bridge.assertAlive(),
      nodes: nearlyFull,
    });
    const synced = await syncedAt(bridge);
    const toUs = monotonicUs();
    return {
      ms: presentAt - eventAt,
      syncedMs: synced - eventAt,
      requests: (await packetsReceived(zk.port)) - from.packets,
      cpuS: (cpuSecondsOf(bridge.pid) ?? 0) - from.cpuS,
      zkCpuS: zkCpu() - from.zkCpuS,
      presentAt,
      syncedAt: synced,
      toUs,
    };
  };
  await waitForEphemerals(zk.port, registered, {
    timeoutMs: 1_800_000,
    check: () => bridge.assertAlive(),
    nodes: nearlyFull,
  });
  await waitFor("the bridge in sync", () => inSync(bridge), { timeoutMs: 600_000 });
  fullNodes = (await srvrNodeCount(zk.port)) ?? fullNodes;
  console.error(`bridge registered ${total} endpoints; freezing it for the session to expire`);

  // (a) Session expiry.
  const aFrom = await baseline();
  bridge.signal("SIGSTOP");
  const expiredAt = await waitForEphemerals(zk.port, (n) => n < total + 1, {
    timeoutMs: SESSION_TIMEOUT_S * 3000 + 10_000,
    intervalMs: 5,
    nodes: (znodes) => znodes < fullNodes, // the expiry drops them all at once
  });
  bridge.signal("SIGCONT");
  const contAt = performance.now();
  const expiredZkCpuS = zkCpu();
  const aFromUs = monotonicUs();
  const leftAfterExpiry = await ephemeralsCount(zk.port);
  // ZooKeeper's CPU from the expiry: its own work of expiring the session is not recovery.
  const a = await recovered(expiredAt, { ...aFrom, zkCpuS: expiredZkCpuS });
  console.error(`(a) all back ${s(a.ms)} s after the expiry`);

  // (b) ZooKeeper restart.
  const bCpu = cpuSecondsOf(bridge.pid) ?? 0;
  const bKillAt = performance.now();
  const servingAt = await zk.restart(ZK_DOWN_MS);
  const bFromUs = monotonicUs();
  // ZooKeeper's counters restart with the server; the bridge's CPU counts from before the kill.
  const b = await recovered(servingAt, {
    packets: await packetsReceived(zk.port),
    cpuS: bCpu,
    zkCpuS: zkCpu(),
  });
  const memory = memoryOf(bridge.pid);
  await bridge.stop();

  const log = readBridgeLog(bridge.logFile);
  const epoch = (perf: number) => bridge.spawnedAtEpoch + (perf - bridge.spawnedAt);
  const sinceCont = epoch(contAt);
  const at = (v: number | undefined) => (v === undefined ? "–" : s(v - epoch(expiredAt)));
  const changes = logSpan(log, "registry change", sinceCont);

  console.log(
    `\n## Recovery: ${total.toLocaleString("en-US")} endpoints (${SERVICES.toLocaleString("en-US")} Services × ${PER_SERVICE}), \`${COMMAND}\`, --zk-session-timeout ${SESSION_TIMEOUT_S}s\n`,
  );
  console.log(
    markdownTable([
      [
        "event",
        "bridge: all registered (s)",
        "bridge: /readyz in sync (s)",
        "reference (s)",
        "bridge ÷ reference",
        "bridge ZooKeeper requests",
        "bridge CPU (s)",
        "ZooKeeper CPU (s): bridge / reference",
      ],
      [
        "(a) session expired (SIGSTOP past the timeout, SIGCONT at expiry)",
        s(a.ms),
        s(a.syncedMs),
        s(ref.ms),
        ratio(a.ms, ref.ms),
        a.requests.toLocaleString("en-US"),
        a.cpuS.toFixed(1),
        `${a.zkCpuS.toFixed(1)} / ${refAZkCpuS.toFixed(1)}`,
      ],
      [
        `(b) ZooKeeper restarted (down ${ZK_DOWN_MS} ms, same data), from serving`,
        s(b.ms),
        s(b.syncedMs),
        s(refB),
        ratio(b.syncedMs, refB),
        b.requests.toLocaleString("en-US"),
        b.cpuS.toFixed(1),
        `${b.zkCpuS.toFixed(1)} / –`,
      ],
    ]),
  );
  console.log(
    "\nreference (a): new session + the same ephemerals, same bytes, multi 200 × 4 in flight, parents existing (ZooKeeper requests: " +
      `${refARequests}, client CPU ${refAClientCpuS.toFixed(1)} s); reference (b): a plain client holding them, from ZooKeeper serving to its session resumed.` +
      `\n(b)'s ratio compares the bridge's /readyz-in-sync time. Ephemerals left right after the expiry: ${leftAfterExpiry}.` +
      `\nbridge peak RSS ${memory ? MB(memory.peakRss) : "–"} MB. ZooKeeper jute.maxbuffer: ${JUTE_MAX_BUFFER || "default (1 MiB)"}.`,
  );
  console.log(
    `\n(a) stages after the expiry (bridge log + ZooKeeper counters):\n\n${markdownTable([
      ["stage", "s after expiry"],
      ["SIGCONT sent", at(epoch(contAt))],
      ["client rebuilt", at(logSpan(log, "rebuilding ZooKeeper client", sinceCont)?.first)],
      ["new session", at(logSpan(log, "ZooKeeper session established", sinceCont)?.first)],
      ["became leader", at(logSpan(log, "became leader", sinceCont)?.first)],
      ["plan made: first change logged", at(changes?.first)],
      ["last change logged", at(changes?.last)],
      ["all registered in ZooKeeper", at(epoch(a.presentAt))],
      ["/readyz in sync", at(epoch(a.syncedAt))],
    ])}`,
  );

  const sinceKill = epoch(bKillAt);
  const atB = (v: number | undefined) => (v === undefined ? "–" : s(v - epoch(servingAt)));
  console.log(
    `\n(b) stages around the restart, relative to ZooKeeper serving again (bridge log + ZooKeeper counters):\n\n${markdownTable(
      [
        ["stage", "s after serving"],
        ["ZooKeeper killed", atB(sinceKill)],
        [
          "bridge lost leadership (disconnected)",
          atB(logSpan(log, "no longer leader", sinceKill)?.first),
        ],
        [
          "bridge dropped a connection whose handshake hung",
          atB(
            logSpan(
              log,
              "ZooKeeper accepted the connection but never answered the handshake; reconnecting",
              sinceKill,
            )?.first,
          ),
        ],
        ["ZooKeeper serving", atB(epoch(servingAt))],
        ["all present in ZooKeeper", atB(epoch(b.presentAt))],
        ["bridge leader again", atB(logSpan(log, "became leader", sinceKill)?.first)],
        ["/readyz in sync", atB(epoch(b.syncedAt))],
      ],
    )}`,
  );

  if (profDir) {
    const file = latestProfile(profDir);
    if (file) {
      const windows = [
        ["(a) only: SIGCONT → in sync", aFromUs, a.toUs],
        ["(b) only: ZooKeeper serving → in sync", bFromUs, b.toUs],
      ] as const;
      for (const [name, fromUs, toUs] of windows) {
        console.log(
          `\n### Bridge CPU profile, ${name} (${file})\n\n${formatProfileSummary(
            summarizeProfile(file, { fromUs, toUs }),
            { top: 20, perUnit: { count: total, name: "endpoint" } },
          )}`,
        );
      }
    }
  }
});

/** performance.now() once the bridge reports itself ready and in sync. */
async function syncedAt(bridge: BridgeProcess): Promise<number> {
  await waitFor("the bridge in sync (/readyz)", () => inSync(bridge), {
    timeoutMs: 600_000,
    intervalMs: 20,
  });
  return performance.now();
}
