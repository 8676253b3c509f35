/**
 * A real ZooKeeper for a bench (test/support's `startZooKeeper`, its own JVM), registered for
 * cleanup by PID, with its JVM's PID exposed (for CPU/RSS) and a restart that reports the
 * moment it serves again.
 */
import { rmSync } from "node:fs";
import path from "node:path";
import { startZooKeeper, type ZooKeeperServer } from "../../test/support/zookeeper.js";
import { own, signalPid } from "./cleanup.js";
import { pidsByCommandLine } from "./proc.js";
import { sleep } from "./wait.js";
import { mntr } from "./zk4lw.js";

export interface BenchZooKeeper extends ZooKeeperServer {
  /** The JVM's PID now (it changes across restarts); undefined while down. */
  pid(): number | undefined;
  /**
   * Kills the JVM (SIGKILL; data kept), waits `downMs`, starts it again on the same port and
   * data directory; resolves with `performance.now()` at the first `mntr` that answers as a
   * serving server (polled every 5 ms), i.e. when clients can use it again.
   */
  restart(downMs: number): Promise<number>;
}

/**
 * ZooKeeper as zkServer.sh runs it: its default heap (ZK_SERVER_HEAP, 1000 MB) and the JVM's
 * own GC and JIT choices, not the tests' quick-start flags (C1 only, serial GC, 512 MiB). With
 * those, the server's CPU per write grew with its heap: a recovery measured after the
 * reference, with twice the live znodes, cost ZooKeeper half as much CPU again.
 */
const SERVER_JVM = ["-Xmx1000m"];

export interface BenchZooKeeperOptions {
  readonly tickMs?: number;
  /**
   * The server's `jute.maxbuffer` (bytes), passed to its JVM through JAVA_TOOL_OPTIONS; default
   * ZooKeeper's own (1 MiB, reads allowed up to twice that). ZooKeeper logs a session's close
   * (or expiry) as ONE transaction listing every ephemeral path it owned (~40 bytes each here):
   * past ~50,000 ephemerals it no longer fits, and a restarted server cannot replay its log
   * (`IOException: Unreasonable length`, ZOOKEEPER-4306).
   */
  readonly juteMaxBuffer?: number;
}

export async function startBenchZooKeeper(
  opts: BenchZooKeeperOptions = {},
): Promise<BenchZooKeeper> {
  if (opts.juteMaxBuffer) {
    // Inherited by the JVM test/support spawns (at start and at every restart).
    const flag = `-Djute.maxbuffer=${opts.juteMaxBuffer}`;
    const current = process.env.JAVA_TOOL_OPTIONS ?? "";
    if (!current.includes(flag)) process.env.JAVA_TOOL_OPTIONS = `${current} ${flag}`.trim();
  }
  const zk = await startZooKeeper({ tickMs: opts.tickMs ?? 250, jvmFlags: SERVER_JVM });
  const cfg = path.join(zk.dataDir, "zoo.cfg");
  const pid = () => pidsByCommandLine(cfg)[0];
  own({
    stop: () => zk.stop(),
    killNow: () => {
      for (const p of pidsByCommandLine(cfg)) signalPid(p, "SIGKILL");
      rmSync(zk.dataDir, { recursive: true, force: true });
    },
  });
  return {
    connect: zk.connect,
    port: zk.port,
    dataDir: zk.dataDir,
    kill: () => zk.kill(),
    start: () => zk.start(),
    stop: () => zk.stop(),
    pid,
    async restart(downMs) {
      await zk.kill();
      await sleep(downMs);
      const started = zk.start();
      let failed: unknown;
      started.catch((err: unknown) => {
        failed = err;
      });
      let up = false;
      void started.then(() => {
        up = true;
      });
      const deadline = performance.now() + 120_000;
      for (;;) {
        if (failed) throw failed;
        if (up && pid() === undefined) {
          throw new Error(
            "ZooKeeper's JVM exited while loading its data after the restart (with many ephemerals per session, typically a close-session transaction larger than jute.maxbuffer: IOException Unreasonable length, ZOOKEEPER-4306)",
          );
        }
        if (performance.now() > deadline) throw new Error("ZooKeeper did not serve again in 120 s");
        if (await mntr(zk.port)) {
          const at = performance.now();
          await started;
          return at;
        }
        await sleep(5);
      }
    },
  };
}
