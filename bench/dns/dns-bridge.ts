/**
 * The bridge's `dns` command as the DNS benches run it: the built binary (or the build
 * `KZB_BENCH_BIN` names, an A/B candidate) reading the bench's ZooKeeper, pinned to the server
 * CPU, logging warnings only; with what the benches read from outside it: the time until it
 * serves every expected instance, and its memory.
 */
import path from "node:path";
import { type BridgeProcess, spawnBridge } from "../support/bridge.js";
import { metrics, readyz } from "../support/bridge-http.js";
import { DEFAULT_BRIDGE_BIN } from "../support/build.js";
import { SERVER_CPU } from "../support/cpu-pin.js";
import { type Memory, memoryOf } from "../support/proc.js";
import { waitFor } from "../support/wait.js";
import type { Server } from "./perf.js";

const BIN = process.env.KZB_BENCH_BIN
  ? path.resolve(process.env.KZB_BENCH_BIN)
  : DEFAULT_BRIDGE_BIN;

export function startDnsBridge(opts: {
  readonly zkConnect: string;
  readonly logFile: string;
  /** Node flags before the script, e.g. `--inspect=…`. */
  readonly nodeArgs?: readonly string[];
}): Promise<BridgeProcess> {
  return spawnBridge({
    command: "dns",
    bin: BIN,
    zkConnect: opts.zkConnect,
    logFile: opts.logFile,
    nodeArgs: opts.nodeArgs ?? [],
    cpu: SERVER_CPU,
    args: ["--log-level", "warn"],
  });
}

/** The bridge as a dnsperf target. */
export function dnsServer(bridge: BridgeProcess): Server {
  return { name: "bridge", port: bridge.dnsPort, pid: bridge.pid, stop: () => bridge.stop() };
}

/** The catalog's instance count (kzb_catalog_instances; the gauge is refreshed once a second). */
async function catalogInstances(bridge: BridgeProcess): Promise<number> {
  return (await metrics(bridge)).get("kzb_catalog_instances") ?? 0;
}

/**
 * Resolves once /readyz is 200 and the catalog holds `expected` instances, with the time from
 * spawn to ready, in ms.
 */
export async function waitLoaded(
  bridge: BridgeProcess,
  expected: number,
  timeoutMs = 300_000,
): Promise<number> {
  let readyMs: number | undefined;
  await waitFor(
    `the bridge ready with ${expected} instances`,
    async () => {
      bridge.assertAlive();
      if (readyMs === undefined && (await readyz(bridge))?.status === 200) {
        readyMs = performance.now() - bridge.spawnedAt;
      }
      // The instance gauge lags up to a second behind the snapshot; readiness is the load time.
      return readyMs !== undefined && (await catalogInstances(bridge).catch(() => 0)) === expected;
    },
    {
      timeoutMs,
      intervalMs: 50,
      detail: () => `ready: ${readyMs !== undefined}; output:\n${bridge.logTail()}`,
    },
  );
  return readyMs as number;
}

/** VmRSS and VmHWM now; throws if the bridge has exited. */
export function memoryNow(bridge: BridgeProcess): Memory {
  const m = memoryOf(bridge.pid);
  if (m) return m;
  bridge.assertAlive(); // throws with the end of its log
  throw new Error(`no /proc/${bridge.pid}/status`);
}
