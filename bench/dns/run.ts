/**
 * DNS benchmark: the bridge's server and NSD serving the same generated registry, both driven
 * by dnsperf in one run. Prints, per server: peak qps, average latency, CPU µs per query
 * (utime+stime of the server's processes over queries answered), and p50/p99 latency at half
 * the peak rate; then bridge/NSD ratios.
 *
 *   bench/dns/run.sh [--services 1000] [--instances 10] [--seconds 10] [--clients 4] [--rounds 2]
 *
 * On a 2-core machine dnsperf needs most of a core itself, so servers are pinned to CPU 0 and
 * dnsperf to CPU 1 when `taskset` exists; NSD's qps is then partly dnsperf's ceiling.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort } from "../../test/support/zookeeper.js";
import { benchSnapshot, queryFile, zoneFile } from "./registry.js";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0)
    throw new Error(`--${name}: a positive number, got ${process.argv[i + 1]}`);
  return v;
}
const SERVICES = arg("services", 1000);
const INSTANCES = arg("instances", 10);
const SECONDS = arg("seconds", 10);
const CLIENTS = arg("clients", 4);
const ROUNDS = arg("rounds", 2);
const PIN = existsSync("/usr/bin/taskset");
const TICK = 100; // CLK_TCK on Linux

interface Server {
  name: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** utime+stime (ticks) of a process and all its descendants. */
function cpuTicks(root: number): number {
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

function pinned(cpu: number, cmd: string, args: string[]): [string, string[]] {
  return PIN ? ["taskset", ["-c", String(cpu), cmd, ...args]] : [cmd, args];
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function answers(port: number): Promise<boolean> {
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

function stopChild(child: ChildProcess): Promise<void> {
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

async function startBridge(): Promise<Server> {
  const port = await freePort();
  const [cmd, args] = pinned(0, process.execPath, [
    "--import",
    "tsx",
    path.join(here, "server-main.ts"),
    String(SERVICES),
    String(INSTANCES),
    String(port),
  ]);
  // exec'd by taskset, so the child's pid is the server's.
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      if (d.toString().includes("READY")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`bridge DNS server exited (${code})`)));
  });
  return { name: "bridge", port, pid: child.pid ?? -1, stop: () => stopChild(child) };
}

async function startNsd(dir: string, zone: string): Promise<Server> {
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
  const [cmd, args] = pinned(0, "nsd", ["-d", "-c", conf]);
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  await waitFor("NSD", async () => {
    if (child.exitCode !== null) throw new Error(`nsd exited: ${stderr}`);
    return answers(port);
  }).catch((err) => {
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}: ${stderr}`);
  });
  return { name: "NSD", port, pid: child.pid ?? -1, stop: () => stopChild(child) };
}

interface PerfResult {
  qps: number;
  completed: number;
  lost: number;
  avgMs: number;
  latenciesMs?: number[];
}

async function dnsperf(
  port: number,
  queries: string,
  seconds: number,
  maxQps?: number,
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
    String(CLIENTS),
    "-q",
    "200",
    "-e",
  ];
  if (maxQps) args.push("-Q", String(Math.round(maxQps)), "-v");
  const [cmd, full] = pinned(1, "dnsperf", args);
  // -v prints a line per query: into a file, so a pipe reader never slows dnsperf down.
  const outFile = path.join(tmpdir(), `kzb-dnsperf-${process.pid}-${port}.txt`);
  const fd = openSync(outFile, "w");
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(cmd, full, { stdio: ["ignore", fd, "inherit"] });
      child.once("error", reject);
      child.once("exit", (code) =>
        code === 0 ? resolve() : reject(new Error(`dnsperf exited ${code}`)),
      );
    });
  } finally {
    closeSync(fd);
  }
  const stdout = readFileSync(outFile, "utf8");
  await rm(outFile, { force: true });
  const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? Number.NaN);
  const result: PerfResult = {
    qps: num(/Queries per second:\s+([\d.]+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    avgMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
  };
  if (maxQps) {
    result.latenciesMs = [...stdout.matchAll(/^> \S+ \S+ \S+ ([\d.]+)$/gm)]
      .map((m) => Number(m[1]) * 1000)
      .sort((a, b) => a - b);
  }
  return result;
}

const pct = (xs: number[], p: number) =>
  xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? Number.NaN;

interface Row {
  server: string;
  qps: number;
  avgMs: number;
  cpuUsPerQuery: number;
  lost: number;
  halfQps: number;
  p50: number;
  p99: number;
}

async function measure(server: Server, queries: string): Promise<Row> {
  await dnsperf(server.port, queries, 2); // warm-up (JIT, caches)
  const before = cpuTicks(server.pid);
  const peak = await dnsperf(server.port, queries, SECONDS);
  const cpu = cpuTicks(server.pid) - before;
  const half = await dnsperf(server.port, queries, SECONDS, peak.qps / 2);
  const lat = half.latenciesMs ?? [];
  return {
    server: server.name,
    qps: peak.qps,
    avgMs: peak.avgMs,
    cpuUsPerQuery: ((cpu / TICK) * 1e6) / peak.completed,
    lost: peak.lost,
    halfQps: half.qps,
    p50: pct(lat, 50),
    p99: pct(lat, 99),
  };
}

/** Each figure at its best over rounds. */
function bestOf(a: Row, b: Row): Row {
  return {
    server: a.server,
    qps: Math.max(a.qps, b.qps),
    avgMs: Math.min(a.avgMs, b.avgMs),
    cpuUsPerQuery: Math.min(a.cpuUsPerQuery, b.cpuUsPerQuery),
    lost: Math.min(a.lost, b.lost),
    halfQps: a.p99 <= b.p99 ? a.halfQps : b.halfQps,
    p50: Math.min(a.p50, b.p50),
    p99: Math.min(a.p99, b.p99),
  };
}

function table(rows: Row[]): string {
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
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [
    line(head),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...body.map(line),
  ].join("\n");
}

async function main() {
  const dir = await mkdtemp(path.join(tmpdir(), "kzb-dnsbench-"));
  const servers: Server[] = [];
  try {
    const snapshot = benchSnapshot(SERVICES, INSTANCES);
    const queries = path.join(dir, "queries.txt");
    await writeFile(queries, queryFile(SERVICES, INSTANCES, 20_000));
    console.log(
      `registry: ${SERVICES} services × ${INSTANCES} instances (${snapshot.instanceCount} instances); dnsperf -c ${CLIENTS} -q 200 -e, ${SECONDS}s per run, best of ${ROUNDS} rounds; pinned: ${PIN}`,
    );
    const bridge = await startBridge();
    servers.push(bridge);
    const nsd = await startNsd(dir, zoneFile(snapshot));
    servers.push(nsd);
    // Alternate the servers and keep each one's best round: other load on a shared machine
    // only ever makes a round worse.
    const best = new Map<string, Row>();
    for (let round = 1; round <= ROUNDS; round++) {
      for (const server of [bridge, nsd]) {
        const row = await measure(server, queries);
        console.log(
          `round ${round}: ${row.server} ${row.qps.toFixed(0)} qps, ${row.cpuUsPerQuery.toFixed(1)} µs CPU/q, p99@half ${row.p99.toFixed(3)} ms`,
        );
        const prev = best.get(row.server);
        best.set(row.server, prev ? bestOf(prev, row) : row);
      }
    }
    const rows = [best.get("bridge"), best.get("NSD")].filter((r): r is Row => r !== undefined);
    console.log(table(rows));
    const [b, n] = rows;
    if (b && n) {
      console.log(
        `target: bridge ≥ 0.5 × NSD qps: ${b.qps >= 0.5 * n.qps ? "met" : "NOT met"} (${(b.qps / n.qps).toFixed(2)}); ` +
          `p99 < 2 ms at half peak: ${b.p99 < 2 ? "met" : "NOT met"} (${b.p99.toFixed(3)} ms)`,
      );
    }
  } finally {
    for (const s of servers) await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
