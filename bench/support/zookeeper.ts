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

export async function startBenchZooKeeper(opts: { tickMs?: number } = {}): Promise<BenchZooKeeper> {
  const zk = await startZooKeeper({ tickMs: opts.tickMs ?? 250 });
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
      const deadline = performance.now() + 120_000;
      for (;;) {
        if (failed) throw failed;
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
