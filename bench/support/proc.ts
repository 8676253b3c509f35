/** What Linux says about a process, read from /proc (costs the process nothing). */
import { readdirSync, readFileSync } from "node:fs";

const CLK_TCK = 100; // USER_HZ on Linux

export interface Memory {
  /** Resident set now, bytes. */
  readonly rss: number;
  /** Peak resident set since the process started (VmHWM), bytes. */
  readonly peakRss: number;
}

/** VmRSS and VmHWM of `pid`; undefined once it has exited. */
export function memoryOf(pid: number): Memory | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1]);
  return { rss: kb("VmRSS") * 1024, peakRss: kb("VmHWM") * 1024 };
}

/** Parent PID and user + system CPU seconds of `pid`, from /proc/<pid>/stat; undefined once it has exited. */
function statOf(pid: number | string): { ppid: number; cpuSeconds: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which may itself hold spaces and parentheses.
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(f[1]), cpuSeconds: (Number(f[11]) + Number(f[12])) / CLK_TCK };
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds `pid` has used so far; undefined once it has exited. */
export function cpuSecondsOf(pid: number): number | undefined {
  return statOf(pid)?.cpuSeconds;
}

/** User + system CPU seconds of `root` and all its descendants alive now. */
export function treeCpuSecondsOf(root: number): number {
  const stats = new Map<number, { ppid: number; cpuSeconds: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const s = statOf(entry);
    if (s) stats.set(Number(entry), s);
  }
  let total = 0;
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    total += stats.get(pid)?.cpuSeconds ?? 0;
    for (const [child, s] of stats) if (s.ppid === pid) todo.push(child);
  }
  return total;
}

/** Busy and total ticks per CPU since boot (/proc/stat), to see what else ran on a CPU meanwhile. */
export function cpuBusy(): { busy: number; total: number }[] {
  const out: { busy: number; total: number }[] = [];
  for (const line of readFileSync("/proc/stat", "utf8").split("\n")) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const f = (m[2] ?? "").trim().split(/\s+/).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
    out[Number(m[1])] = { busy: total - idle, total };
  }
  return out;
}

/** PIDs whose command line contains `needle` (e.g. a ZooKeeper's own zoo.cfg path). */
export function pidsByCommandLine(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmdline.includes(needle)) found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

export const MB = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
