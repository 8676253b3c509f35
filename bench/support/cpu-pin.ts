/**
 * CPU pinning with `taskset` (when installed) for the DNS benches. On a 2-core machine dnsperf
 * needs most of a core itself, so the DNS servers run on SERVER_CPU and dnsperf, the bench
 * process, ZooKeeper and the load drivers on CLIENT_CPU.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";

const run = promisify(execFile);

export const PIN = existsSync("/usr/bin/taskset");
/** CPU the DNS servers run on; dnsperf (and everything else we can move) runs on the other. */
export const SERVER_CPU = 0;
export const CLIENT_CPU = 1;

/** `cmd args` run on one CPU (taskset execs it, so the child's pid is the command's). */
export function pinned(cpu: number, cmd: string, args: readonly string[]): [string, string[]] {
  return PIN ? ["taskset", ["-c", String(cpu), cmd, ...args]] : [cmd, [...args]];
}

/** Moves a running process, all its threads, to one CPU (for children we do not spawn ourselves). */
export async function pinPid(pid: number, cpu: number): Promise<void> {
  if (PIN) await run("taskset", ["-a", "-p", "-c", String(cpu), String(pid)]);
}
