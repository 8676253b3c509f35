/**
 * Every process a bench starts is registered here and stopped by PID at the end, on error, on
 * Ctrl-C, and (synchronously, SIGKILL) when the bench process exits any other way.
 */

export interface Owned {
  /** Graceful stop; awaited at the end of the bench. */
  stop(): Promise<void>;
  /** Last resort from the process's `exit` handler: must be synchronous (SIGKILL by PID). */
  killNow(): void;
}

const owned = new Set<Owned>();
let installed = false;

/** Registers a resource to stop at the end; returns a function that unregisters it. */
export function own(o: Owned): () => void {
  install();
  owned.add(o);
  return () => owned.delete(o);
}

/** Stops everything still registered, newest first, each bounded so a hang cannot stall exit. */
export async function cleanupAll(): Promise<void> {
  for (const o of [...owned].reverse()) {
    owned.delete(o);
    try {
      await Promise.race([o.stop(), new Promise((r) => setTimeout(r, 15_000))]);
    } catch (err) {
      console.error("cleanup:", (err as Error).message);
    }
    o.killNow();
  }
}

/** Sends a signal to a PID, ignoring "no such process". */
export function signalPid(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", () => {
    for (const o of owned) o.killNow();
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping every process this bench started`);
      void cleanupAll().finally(() => process.exit(130));
    });
  }
}

/**
 * Runs a bench's main: prints its error if it fails, always stops every registered process,
 * then exits (the fake API server and clients would otherwise keep the loop alive).
 */
export function runBench(main: () => Promise<void>): void {
  install();
  main()
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(async () => {
      await cleanupAll();
      process.exit();
    });
}
