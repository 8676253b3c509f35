/**
 * The dnsperf machinery shared by the DNS benchmarks (run.ts, scale.ts): CPU pinning, CPU time
 * of a process tree, NSD on a zone file, dnsperf runs and their parsed figures, and the
 * bridge-vs-NSD table.
 *
 * On a 2-core machine dnsperf needs most of a core itself, so servers are pinned to CPU 0 and
 * dnsperf to CPU 1 when `taskset` exists.
 */

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../test/support/zookeeper.js";
import { markdownTable as rowsTable } from "../support/table.js";

const run = promisify(execFile);

export const PIN = existsSync("/usr/bin/taskset");
/** CPU the DNS servers run on; dnsperf (and everything else we can move) runs on the other. */
export const SERVER_CPU = 0;
export const CLIENT_CPU = 1;
const TICK = 100; // CLK_TCK on Linux

export interface Server {
  name: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** A positive number from `--<name> N`, else `fallback`; one clear line on a bad value. */
export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0)
    throw new Error(`--${name}: a positive number, got ${process.argv[i + 1]}`);
  return v;
}

/** A whole number ≥ 0 from `--<name> N`, else `fallback`. */
export function wholeArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 0)
    throw new Error(`--${name}: a whole number ≥ 0, got ${process.argv[i + 1]}`);
  return v;
}

/** `--<name> "a b c"` split on spaces (extra flags for a child), else []. */
export function listArg(name: string): string[] {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? "").split(" ").filter((a) => a !== "") : [];
}

/** utime+stime (ticks) of a process and all its descendants. */
export function cpuTicks(root: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, "utf8");
      const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
      stats.set(Number(entry), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // exited meanwhile
    }
  }
  let total = 0;
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    total += stats.get(pid)?.ticks ?? 0;
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

/** CPU seconds from a difference of `cpuTicks`. */
export const ticksToSeconds = (ticks: number) => ticks / TICK;

/** `cmd args` run on one CPU (taskset execs it, so the child's pid is the command's). */
export function pinned(cpu: number, cmd: string, args: string[]): [string, string[]] {
  return PIN ? ["taskset", ["-c", String(cpu), cmd, ...args]] : [cmd, args];
}

/** Move a running process, all its threads, to one CPU (for children we do not spawn ourselves). */
export async function pinPid(pid: number, cpu: number): Promise<void> {
  if (PIN) await run("taskset", ["-a", "-p", "-c", String(cpu), String(pid)]);
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** True once a server on `port` answers the zone's SOA. */
export async function answersSoa(port: number): Promise<boolean> {
  const { stdout } = await run("dig", [
    "@127.0.0.1",
    "-p",
    String(port),
    "+short",
    "+time=1",
    "+tries=1",
    "zk.internal.",
    "SOA",
  ]);
  return stdout.trim() !== "";
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** NSD (one server process, rate limiting off) serving `zone` as zk.internal., on SERVER_CPU. */
export async function startNsd(dir: string, zone: string): Promise<Server> {
  const port = await freePort();
  await writeFile(path.join(dir, "zk.internal.zone"), zone);
  const conf = path.join(dir, "nsd.conf");
  await writeFile(
    conf,
    [
      "server:",
      "  ip-address: 127.0.0.1",
      `  port: ${port}`,
      "  do-ip6: no",
      '  username: ""',
      '  chroot: ""',
      `  zonesdir: "${dir}"`,
      '  database: ""',
      `  pidfile: "${dir}/nsd.pid"`,
      `  logfile: "${dir}/nsd.log"`,
      `  xfrdfile: "${dir}/xfrd.state"`,
      `  xfrdir: "${dir}"`,
      "  server-count: 1",
      "  rrl-ratelimit: 0",
      "  verbosity: 0",
      "remote-control:",
      "  control-enable: no",
      "zone:",
      "  name: zk.internal.",
      "  zonefile: zk.internal.zone",
      "",
    ].join("\n"),
  );
  const [cmd, args] = pinned(SERVER_CPU, "nsd", ["-d", "-c", conf]);
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  await waitFor(
    "NSD",
    async () => {
      if (child.exitCode !== null) throw new Error(`nsd exited: ${stderr}`);
      return answersSoa(port);
    },
    60_000,
  ).catch((err) => {
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}: ${stderr}`);
  });
  return { name: "NSD", port, pid: child.pid ?? -1, stop: () => stopChild(child) };
}

export interface PerfOptions {
  /** dnsperf -c */
  readonly clients: number;
  /** Seconds of the peak and half-load runs. */
  readonly seconds: number;
}

export interface PerfResult {
  qps: number;
  completed: number;
  lost: number;
  avgMs: number;
  /** dnsperf's "Response codes" line, e.g. `NOERROR 95.0%, NXDOMAIN 5.0%`. */
  rcodes: string;
  /** Replies that came after dnsperf had given up on them (its 5 s timeout). */
  late: number;
  latenciesMs?: number[];
}

/**
 * One dnsperf run against 127.0.0.1:`port` on CLIENT_CPU; with `maxQps`, per-query latencies
 * too. `onExit` is told when dnsperf has finished, before its output is parsed (parsing a
 * million latency lines takes this thread seconds).
 */
export async function dnsperf(
  port: number,
  queries: string,
  seconds: number,
  clients: number,
  maxQps?: number,
  onExit?: () => void,
): Promise<PerfResult> {
  const args = [
    "-s",
    "127.0.0.1",
    "-p",
    String(port),
    "-d",
    queries,
    "-l",
    String(seconds),
    "-c",
    String(clients),
    "-q",
    "200",
    "-e",
  ];
  if (maxQps) args.push("-Q", String(Math.round(maxQps)), "-v");
  const [cmd, full] = pinned(CLIENT_CPU, "dnsperf", args);
  // -v prints a line per query: into a file, so a pipe reader never slows dnsperf down.
  const outFile = path.join(tmpdir(), `kzb-dnsperf-${process.pid}-${port}.txt`);
  const fd = openSync(outFile, "w");
  let late = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(cmd, full, { stdio: ["ignore", fd, "pipe"] });
      // Replies after dnsperf's timeout are one warning line each: counted, not printed.
      let rest = "";
      child.stderr?.on("data", (d: Buffer) => {
        const lines = (rest + d.toString()).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) {
          if (/unexpected \(maybe timed out\) id/.test(line)) late++;
          else if (line.trim() !== "") process.stderr.write(`dnsperf: ${line}\n`);
        }
      });
      child.once("error", reject);
      child.once("exit", (code) =>
        code === 0 ? resolve() : reject(new Error(`dnsperf exited ${code}`)),
      );
    });
  } finally {
    closeSync(fd);
  }
  onExit?.();
  const stdout = readFileSync(outFile, "utf8");
  await rm(outFile, { force: true });
  const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? Number.NaN);
  const result: PerfResult = {
    qps: num(/Queries per second:\s+([\d.]+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    avgMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    rcodes: /Response codes:\s+(.*)$/m.exec(stdout)?.[1]?.trim() ?? "",
    late,
  };
  if (maxQps) {
    result.latenciesMs = [...stdout.matchAll(/^> \S+ \S+ \S+ ([\d.]+)$/gm)]
      .map((m) => Number(m[1]) * 1000)
      .sort((a, b) => a - b);
  }
  return result;
}

export const pct = (xs: number[], p: number) =>
  xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? Number.NaN;

export interface Row {
  server: string;
  qps: number;
  avgMs: number;
  cpuUsPerQuery: number;
  lost: number;
  halfQps: number;
  p50: number;
  p99: number;
  rcodes: string;
}

/** Which part of a measurement is running (so concurrent samplers can tag what they see). */
export type Phase = "warm-up" | "peak" | "half" | "done";

/** Warm-up, a peak run (CPU per query from the server's process tree), then a run at half the peak rate. */
export async function measure(
  server: Server,
  queries: string,
  opts: PerfOptions,
  onPhase: (phase: Phase) => void = () => {},
): Promise<Row> {
  onPhase("warm-up");
  await dnsperf(server.port, queries, 2, opts.clients); // warm-up (JIT, caches)
  onPhase("peak");
  const before = cpuTicks(server.pid);
  const peak = await dnsperf(server.port, queries, opts.seconds, opts.clients);
  const cpu = cpuTicks(server.pid) - before;
  onPhase("half");
  const half = await dnsperf(server.port, queries, opts.seconds, opts.clients, peak.qps / 2, () =>
    onPhase("done"),
  );
  const lat = half.latenciesMs ?? [];
  return {
    server: server.name,
    qps: peak.qps,
    avgMs: peak.avgMs,
    cpuUsPerQuery: (ticksToSeconds(cpu) * 1e6) / peak.completed,
    lost: peak.lost,
    halfQps: half.qps,
    p50: pct(lat, 50),
    p99: pct(lat, 99),
    rcodes:
      peak.late + half.late > 0
        ? `${peak.rcodes}; ${peak.late + half.late} replies after dnsperf's timeout`
        : peak.rcodes,
  };
}

/** Each figure at its best over rounds. */
export function bestOf(a: Row, b: Row): Row {
  return {
    server: a.server,
    qps: Math.max(a.qps, b.qps),
    avgMs: Math.min(a.avgMs, b.avgMs),
    cpuUsPerQuery: Math.min(a.cpuUsPerQuery, b.cpuUsPerQuery),
    lost: Math.min(a.lost, b.lost),
    halfQps: a.p99 <= b.p99 ? a.halfQps : b.halfQps,
    p50: Math.min(a.p50, b.p50),
    p99: Math.min(a.p99, b.p99),
    rcodes: a.qps >= b.qps ? a.rcodes : b.rcodes,
  };
}

/** A Markdown table: one column per header, every row padded. */
/** A markdown table of `head` and `body` rows (bench/support's table, in this file's call shape). */
export function markdownTable(head: string[], body: string[][]): string {
  return rowsTable([head, ...body]);
}

/** The rows, then a bridge/NSD ratio row when both are there. */
export function table(rows: Row[]): string {
  const head = [
    "server",
    "peak qps",
    "avg ms",
    "CPU µs/q",
    "lost",
    "half-load qps",
    "p50 ms",
    "p99 ms",
  ];
  const body = rows.map((r) => [
    r.server,
    r.qps.toFixed(0),
    r.avgMs.toFixed(3),
    r.cpuUsPerQuery.toFixed(1),
    String(r.lost),
    r.halfQps.toFixed(0),
    r.p50.toFixed(3),
    r.p99.toFixed(3),
  ]);
  const [bridge, nsd] = rows;
  if (bridge && nsd) {
    body.push([
      "bridge/NSD",
      (bridge.qps / nsd.qps).toFixed(2),
      (bridge.avgMs / nsd.avgMs).toFixed(2),
      (bridge.cpuUsPerQuery / nsd.cpuUsPerQuery).toFixed(2),
      "",
      "",
      (bridge.p50 / nsd.p50).toFixed(2),
      (bridge.p99 / nsd.p99).toFixed(2),
    ]);
  }
  return markdownTable(head, body);
}
