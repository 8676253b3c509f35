/**
 * The bridge every sync bench runs (`sync` or `run`) against its ZooKeeper and simulated
 * cluster: the build `--bridge FILE` names (default this checkout's dist), its log in the run's
 * scratch directory, `--node-args "..."` for node, and with `--cpu-prof DIR` a CPU profile
 * under `DIR/<name>`.
 */
import path from "node:path";
import { stringArg, wordsArg } from "./args.js";
import { type BridgeProcess, spawnBridge } from "./bridge.js";
import { DEFAULT_BRIDGE_BIN } from "./build.js";
import type { SimulatedCluster } from "./cluster.js";
import { cpuProfArgs } from "./cpu-profile.js";

const BIN = stringArg("bridge", DEFAULT_BRIDGE_BIN);
const PROFILE_ROOT = stringArg("cpu-prof");
/** Extra node flags for the bridge, e.g. `--node-args "--max-old-space-size=320"` (as deployed). */
const NODE_ARGS = wordsArg("node-args");

export interface SyncBridge {
  readonly bridge: BridgeProcess;
  /** Where its CPU profile is written when it exits; undefined without `--cpu-prof`. */
  readonly profDir: string | undefined;
}

export async function spawnSyncBridge(opts: {
  readonly command: "run" | "sync";
  readonly zkConnect: string;
  readonly cluster: SimulatedCluster;
  /** Names its profile directory. */
  readonly name: string;
  readonly logFile: string;
  /** More flags, e.g. `["--zk-session-timeout", "4s"]`. */
  readonly args?: readonly string[];
  /** More node flags, after `--node-args`'s. */
  readonly nodeArgs?: readonly string[];
}): Promise<SyncBridge> {
  const profDir = PROFILE_ROOT ? path.join(PROFILE_ROOT, opts.name) : undefined;
  const bridge = await spawnBridge({
    command: opts.command,
    bin: BIN,
    zkConnect: opts.zkConnect,
    logFile: opts.logFile,
    nodeArgs: [...NODE_ARGS, ...(opts.nodeArgs ?? []), ...(profDir ? cpuProfArgs(profDir) : [])],
    args: [
      "--kubeconfig",
      opts.cluster.kubeconfig,
      "--cluster-name",
      "bench",
      ...(opts.args ?? []),
    ],
  });
  return { bridge, profDir };
}

/**
 * ZooKeeper's ephemeral count once the bridge has registered all `total` endpoints: one more,
 * its leader-election node (a predicate for `waitForEphemerals`).
 */
export const allRegistered = (total: number) => (ephemerals: number) => ephemerals >= total + 1;
