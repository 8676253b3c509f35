/**
 * A child process the bench spawned, owned by PID: registered for cleanup (bench end, error,
 * Ctrl-C, exit), and stopped gracefully (SIGTERM), then SIGKILL after a grace period.
 */
import type { ChildProcess } from "node:child_process";
import { own, signalPid } from "./cleanup.js";
import { sleep } from "./wait.js";

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: string | null;
}

export interface OwnedChild {
  readonly pid: number;
  /** Resolves once the child has exited. */
  readonly exited: Promise<ExitStatus>;
  /** How it exited; undefined while it runs. */
  exitStatus(): ExitStatus | undefined;
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM (after SIGCONT, in case a bench left it stopped), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Takes ownership of a just-spawned child; throws if it did not start. */
export function ownChild(child: ChildProcess, what: string): OwnedChild {
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${what}`);
  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) =>
    child.once("exit", (code, signal) => {
      status = { code, signal };
      resolve(status);
    }),
  );
  const stop = async (graceMs = 10_000) => {
    if (status) return;
    signalPid(pid, "SIGCONT");
    signalPid(pid, "SIGTERM");
    if (await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)])) return;
    signalPid(pid, "SIGKILL");
    await exited;
  };
  own({ stop, killNow: () => (status ? undefined : signalPid(pid, "SIGKILL")) });
  return { pid, exited, exitStatus: () => status, signal: (s) => signalPid(pid, s), stop };
}
