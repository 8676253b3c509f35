/**
 * The real, built bridge (`node dist/cmd/kube-zk-bridge.js dns …`) as a child process pinned
 * to the server CPU, with what the benchmarks read from outside it: readiness, the catalog's
 * instance count (from /metrics), and memory from /proc.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../test/support/zookeeper.js";
import { pinned, SERVER_CPU, type Server, stopChild } from "./perf.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The built entry point; `KZB_BENCH_BIN` points the benchmarks at another build (an A/B candidate). */
export const BRIDGE_BIN = process.env.KZB_BENCH_BIN
  ? path.resolve(process.env.KZB_BENCH_BIN)
  : path.join(root, "dist/cmd/kube-zk-bridge.js");

export interface BridgeProcess extends Server {
  readonly httpPort: number;
  /** performance.now() at spawn and when /readyz first said 200 with every expected instance. */
  readonly spawnedAt: number;
  /** Everything the child wrote to stderr/stdout (warnings, errors), last 20 kB. */
  output(): string;
  /** Prometheus metrics, parsed to `name{labels} → value`. */
  metrics(): Promise<Map<string, number>>;
  /** The catalog's instance count (kzb_catalog_instances; the gauge is refreshed once a second). */
  instances(): Promise<number>;
  /** /proc/<pid>/status VmRSS and VmHWM, in bytes. */
  memory(): { rss: number; hwm: number };
}

export interface BridgeOptions {
  readonly zkConnect: string;
  /** Node flags before the script, e.g. `--cpu-prof --cpu-prof-dir=…`. */
  readonly nodeArgs?: readonly string[];
}

/** Sources under cmd/ and lib/ newer than their compiled dist/ file (the build is stale). */
function staleBuild(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (rel.endsWith(".ts")) {
        const js = path.join(root, "dist", rel.replace(/\.ts$/, ".js"));
        if (!existsSync(js) || statSync(js).mtimeMs < statSync(path.join(root, rel)).mtimeMs)
          out.push(rel);
      }
    }
  };
  walk("cmd");
  walk("lib");
  return out;
}

export async function startBridgeProcess(opts: BridgeOptions): Promise<BridgeProcess> {
  if (!existsSync(BRIDGE_BIN)) throw new Error(`${BRIDGE_BIN} missing: run npm run build`);
  const stale = process.env.KZB_BENCH_BIN ? [] : staleBuild();
  if (stale.length > 0) {
    process.stderr.write(
      `warning: dist/ is older than ${stale.slice(0, 3).join(", ")}${stale.length > 3 ? ` and ${stale.length - 3} more` : ""}: run npm run build\n`,
    );
  }
  const port = await freePort();
  const httpPort = await freePort();
  const [cmd, args] = pinned(SERVER_CPU, process.execPath, [
    ...(opts.nodeArgs ?? []),
    BRIDGE_BIN,
    "dns",
    "--zk-connect",
    opts.zkConnect,
    "--dns-listen",
    `127.0.0.1:${port}`,
    "--http-listen",
    `127.0.0.1:${httpPort}`,
    "--log-level",
    "warn",
  ]);
  const spawnedAt = performance.now();
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const pid = child.pid ?? -1;
  const metrics = async () => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
    const map = new Map<string, number>();
    for (const line of (await res.text()).split("\n")) {
      if (line.startsWith("#") || line === "") continue;
      const sp = line.lastIndexOf(" ");
      map.set(line.slice(0, sp), Number(line.slice(sp + 1)));
    }
    return map;
  };
  return {
    name: "bridge",
    port,
    httpPort,
    pid,
    spawnedAt,
    output: () => out,
    stop: () => stopChild(child),
    metrics,
    instances: async () => (await metrics()).get("kzb_catalog_instances") ?? 0,
    memory() {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const kb = (field: string) =>
        Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]) * 1024;
      return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
    },
  };
}

/** Resolves once /readyz is 200 and the catalog holds `expected` instances; the time it took from spawn, in ms. */
export async function waitLoaded(
  bridge: BridgeProcess,
  expected: number,
  timeoutMs = 300_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let ready = false;
  let readyAt = 0;
  while (Date.now() < deadline) {
    try {
      if (!ready) {
        ready = (await fetch(`http://127.0.0.1:${bridge.httpPort}/readyz`)).status === 200;
        if (ready) readyAt = performance.now() - bridge.spawnedAt;
      }
      // The instance gauge lags up to a second behind the snapshot; readiness is the load time.
      if (ready && (await bridge.instances()) === expected) return readyAt;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `bridge not ready with ${expected} instances after ${timeoutMs} ms (ready: ${ready}); output:\n${bridge.output()}`,
  );
}
