/**
 * The dnsperf machinery shared by the DNS benchmarks (run.ts, scale.ts): dnsperf runs and their
 * parsed figures, one server's measurement (warm-up, peak, half load), and the bridge-vs-NSD
 * table. dnsperf runs on the client CPU (bench/support/cpu-pin.ts).
 */

import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CLIENT_CPU, pinned } from "../support/cpu-pin.js";
import { treeCpuSecondsOf } from "../support/proc.js";
import { percentile } from "../support/stats.js";
import { markdownTable } from "../support/table.js";

/** A DNS server under test: what `measure` needs to drive it and count its CPU. */
export interface Server {
  name: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
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
  const before = treeCpuSecondsOf(server.pid);
  const peak = await dnsperf(server.port, queries, opts.seconds, opts.clients);
  const cpuSeconds = treeCpuSecondsOf(server.pid) - before;
  onPhase("half");
  const half = await dnsperf(server.port, queries, opts.seconds, opts.clients, peak.qps / 2, () =>
    onPhase("done"),
  );
  const lat = half.latenciesMs ?? [];
  return {
    server: server.name,
    qps: peak.qps,
    avgMs: peak.avgMs,
    cpuUsPerQuery: (cpuSeconds * 1e6) / peak.completed,
    lost: peak.lost,
    halfQps: half.qps,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
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
  return markdownTable([head, ...body]);
}
