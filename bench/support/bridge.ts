/**
 * The real, built bridge (`node dist/cmd/kube-zk-bridge.js <command> …`) as a child process of
 * the bench: its own PID, its own event loop, its output in a log file. Stopped by PID at the end.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { freePort } from "../../test/support/zookeeper.js";
import { checkBuild, DEFAULT_BRIDGE_BIN } from "./build.js";
import { ownChild } from "./child.js";
import { pinned } from "./cpu-pin.js";

export interface BridgeOptions {
  readonly command: "run" | "sync" | "dns";
  readonly zkConnect: string;
  /** The entry point to run; default this checkout's dist build. */
  readonly bin?: string;
  /** Where the bridge's stdout and stderr go (appended). */
  readonly logFile: string;
  /** Node flags before the script, e.g. `cpuProfArgs(dir)` or `--inspect=127.0.0.1:9229`. */
  readonly nodeArgs?: readonly string[];
  /** Runs it on this CPU only (taskset, when installed). */
  readonly cpu?: number;
  /** The command's flags besides --zk-connect, --http-listen and --dns-listen (free ports here). */
  readonly args?: readonly string[];
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
  /** The last `bytes` of its log, e.g. for an error message. */
  logTail(bytes?: number): string;
}

/** The end of a file, without reading all of it (a sync bench's log runs to megabytes). */
function tail(file: string, bytes: number): string {
  const fd = openSync(file, "r");
  try {
    const size = statSync(file).size;
    const buf = Buffer.alloc(Math.min(bytes, size));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    return buf.toString();
  } finally {
    closeSync(fd);
  }
}

export async function spawnBridge(opts: BridgeOptions): Promise<BridgeProcess> {
  const bin = opts.bin ?? DEFAULT_BRIDGE_BIN;
  checkBuild(bin);
  const httpPort = await freePort();
  const dnsPort = await freePort();
  const nodeArgs = [
    ...(opts.nodeArgs ?? []),
    bin,
    opts.command,
    "--zk-connect",
    opts.zkConnect,
    "--http-listen",
    `127.0.0.1:${httpPort}`,
    "--dns-listen",
    `127.0.0.1:${dnsPort}`,
    ...(opts.args ?? []),
  ];
  const [cmd, args] =
    opts.cpu === undefined
      ? [process.execPath, nodeArgs]
      : pinned(opts.cpu, process.execPath, nodeArgs);
  const log = openSync(opts.logFile, "a");
  const spawnedAt = performance.now();
  const spawnedAtEpoch = Date.now();
  let child: ReturnType<typeof ownChild>;
  try {
    child = ownChild(spawn(cmd, args, { stdio: ["ignore", log, log] }), bin);
  } finally {
    closeSync(log);
  }
  const logTail = (bytes = 20_000) => tail(opts.logFile, bytes);
  return {
    pid: child.pid,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    dnsPort,
    spawnedAt,
    spawnedAtEpoch,
    logFile: opts.logFile,
    assertAlive() {
      const exit = child.exitStatus();
      if (exit) {
        throw new Error(
          `the bridge exited (code ${exit.code}, signal ${exit.signal}); the end of ${opts.logFile}:\n${logTail(2000)}`,
        );
      }
    },
    signal: child.signal,
    stop: child.stop,
    logTail,
  };
}
