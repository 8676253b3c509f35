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

interface Stat {
  readonly name: string;
  readonly ppid: number;
  /** User and system CPU seconds. */
  readonly user: number;
  readonly sys: number;
  readonly cpuSeconds: number;
}

/** A process's or thread's /proc `stat` file (e.g. `123` or `123/task/125`); undefined once it has exited. */
function statOf(entry: number | string): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${entry}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // Fields after the command name, which may itself hold spaces and parentheses.
  const name = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const user = Number(f[11]) / CLK_TCK;
  const sys = Number(f[12]) / CLK_TCK;
  return { name, ppid: Number(f[1]), user, sys, cpuSeconds: user + sys };
}

/** User and system CPU seconds of each thread of `pid` alive now, keyed by "<name> <tid>". */
export function threadCpuOf(pid: number): Map<string, { user: number; sys: number }> {
  const out = new Map<string, { user: number; sys: number }>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const s = statOf(`${pid}/task/${tid}`);
    if (s) out.set(`${s.name} ${tid}`, { user: s.user, sys: s.sys });
  }
  return out;
}

/** User + system CPU seconds `pid` has used so far; undefined once it has exited. */
export function cpuSecondsOf(pid: number): number | undefined {
  return statOf(pid)?.cpuSeconds;
}

/** User + system CPU seconds of `root` and all its descendants alive now. */
export function treeCpuSecondsOf(root: number): number {
  const stats = new Map<number, Stat>();
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
