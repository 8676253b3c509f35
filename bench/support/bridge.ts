/**
 * The real, built bridge (`node dist/cmd/kube-zk-bridge.js run|sync …`) as a child process of
 * the bench: its own PID, its own event loop, logs to a file. Stopped by PID at the end.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../test/support/zookeeper.js";
import { own, signalPid } from "./cleanup.js";
import { sleep } from "./wait.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The build `npm run build` makes; `--bridge <file>` points a bench at another build. */
export const DEFAULT_BRIDGE_BIN = path.join(REPO, "dist/cmd/kube-zk-bridge.js");

export interface BridgeOptions {
  readonly command: "run" | "sync";
  readonly zkConnect: string;
  readonly kubeconfig: string;
  /** The entry point to run; default this checkout's dist build. */
  readonly bin?: string;
  /** Where the bridge's stdout and stderr go. */
  readonly logFile: string;
  /** With a directory: `node --cpu-prof --cpu-prof-dir=<dir>` (written when the child exits). */
  readonly cpuProfDir?: string;
  /** More flags, e.g. `["--zk-session-timeout", "4s"]`. */
  readonly extraArgs?: readonly string[];
}

export interface BridgeProcess {
  readonly pid: number;
  readonly httpUrl: string;
  readonly dnsPort: number;
  /** `performance.now()` right before the spawn. */
  readonly spawnedAt: number;
  /** `Date.now()` at the same moment (the clock of the bridge's log lines). */
  readonly spawnedAtEpoch: number;
  readonly logFile: string;
  /** Throws if the child has exited (a crash must not look like a slow bridge). */
  assertAlive(): void;
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM (graceful: ephemerals go, a CPU profile is written), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export async function spawnBridge(opts: BridgeOptions): Promise<BridgeProcess> {
  const bin = opts.bin ?? DEFAULT_BRIDGE_BIN;
  if (!existsSync(bin)) throw new Error(`${bin} not found: run \`npm run build\` first`);
  const httpPort = await freePort();
  const dnsPort = await freePort();
  const nodeArgs = opts.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
  const args = [
    ...nodeArgs,
    bin,
    opts.command,
    "--zk-connect",
    opts.zkConnect,
    "--kubeconfig",
    opts.kubeconfig,
    "--http-listen",
    `127.0.0.1:${httpPort}`,
    "--dns-listen",
    `127.0.0.1:${dnsPort}`,
    "--cluster-name",
    "bench",
    ...(opts.extraArgs ?? []),
  ];
  const log = openSync(opts.logFile, "a");
  const spawnedAt = performance.now();
  const spawnedAtEpoch = Date.now();
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, args, { stdio: ["ignore", log, log] });
  } finally {
    closeSync(log);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${bin}`);
  let exit: { code: number | null; signal: string | null } | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      resolve();
    }),
  );
  const stop = async (graceMs = 10_000) => {
    if (exit) return;
    signalPid(pid, "SIGCONT"); // a bench may have left it stopped
    signalPid(pid, "SIGTERM");
    if (await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)])) return;
    signalPid(pid, "SIGKILL");
    await exited;
  };
  own({ stop, killNow: () => (exit ? undefined : signalPid(pid, "SIGKILL")) });
  return {
    pid,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    dnsPort,
    spawnedAt,
    spawnedAtEpoch,
    logFile: opts.logFile,
    assertAlive() {
      if (exit) {
        throw new Error(
          `the bridge exited (code ${exit.code}, signal ${exit.signal}); see ${opts.logFile}`,
        );
      }
    },
    signal: (s) => signalPid(pid, s),
    stop,
  };
}

export interface Readiness {
  readonly status: number;
  readonly body: {
    notReady?: string[];
    parts?: Record<string, { ready: boolean; detail?: string }>;
  };
}

/** GET /readyz; undefined if the bridge does not answer (yet). */
export async function readyz(
  bridge: BridgeProcess,
  timeoutMs = 2000,
): Promise<Readiness | undefined> {
  try {
    const res = await fetch(`${bridge.httpUrl}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: (await res.json()) as Readiness["body"] };
  } catch {
    return undefined;
  }
}

/**
 * The (single, hence leading) bridge in sync: /readyz 200 with its `registry` part present and
 * ready (the part exists only while leader: a connected bridge that has not won the election
 * again yet reports ready without it), and no part saying "stale" (the DNS side stays ready on
 * stale data within --dns-serve-stale).
 */
export async function inSync(bridge: BridgeProcess): Promise<boolean> {
  const r = await readyz(bridge);
  if (r?.status !== 200 || r.body.parts?.registry?.ready !== true) return false;
  return !Object.values(r.body.parts ?? {}).some((p) => /stale/.test(p.detail ?? ""));
}
