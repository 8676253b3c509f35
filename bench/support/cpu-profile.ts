/**
 * Summaries of a V8 `.cpuprofile` (`node --cpu-prof`): self time per function and per module,
 * optionally only inside a time window. Profile timestamps are CLOCK_MONOTONIC microseconds,
 * the same clock as `process.hrtime`, so a bench can cut out e.g. its change phase with
 * `monotonicUs()` taken in its own process.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { markdownTable } from "./table.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Now, in the profile's clock (µs). */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** The newest `.cpuprofile` in `dir`. */
export function latestProfile(dir: string): string | undefined {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .sort();
  const last = files[files.length - 1];
  return last ? path.join(dir, last) : undefined;
}

/** `lib/sync/plan.js`, `node-zookeeper-client/lib/…`, `node:internal/…`. */
function shortUrl(url: string): string {
  if (!url) return "";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) return url.slice(nm + "node_modules/".length);
  const dist = url.lastIndexOf("/dist/");
  if (dist >= 0) return url.slice(dist + "/dist/".length);
  return url.replace(/^file:\/\//, "");
}

/** What a frame belongs to: a package, one of our modules, Node itself, or V8's pseudo-frames. */
function moduleOf(frame: ProfileNode["callFrame"]): string {
  const u = shortUrl(frame.url);
  if (!u) return frame.functionName.startsWith("(") ? frame.functionName : "(native)";
  if (u.startsWith("node:")) return "node internals";
  if (frame.url.includes("node_modules/")) {
    const parts = u.split("/");
    return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? u);
  }
  return u;
}

const MAX_SAMPLE_GAP_US = 100_000;

export interface ProfileSummary {
  /** Sampled time in the window, idle included (ms). */
  readonly wallMs: number;
  /** Non-idle time in the window (ms). */
  readonly busyMs: number;
  readonly functions: ReadonlyArray<{ name: string; where: string; ms: number }>;
  readonly modules: ReadonlyArray<{ name: string; ms: number }>;
}

export function summarizeProfile(
  file: string,
  window: { fromUs?: number; toUs?: number } = {},
): ProfileSummary {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = p.startTime;
  let wall = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (window.fromUs !== undefined && t < window.fromUs) continue;
    if (window.toUs !== undefined && t > window.toUs) break;
    // A sample's delta is the time since the previous sample: charge it to this sample's frame.
    // A gap far above the sampling interval means the process was not running (SIGSTOP): skip.
    if (dt > MAX_SAMPLE_GAP_US) continue;
    const id = p.samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + dt);
    wall += dt;
  }
  const fns = new Map<string, { name: string; where: string; ms: number }>();
  const mods = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const f = n.callFrame;
    if (f.functionName === "(idle)") {
      idle += us;
      continue;
    }
    const where = f.url ? `${shortUrl(f.url)}:${f.lineNumber + 1}` : "";
    const k = `${f.functionName}|${where}`;
    const e = fns.get(k) ?? { name: f.functionName || "(anonymous)", where, ms: 0 };
    e.ms += us / 1000;
    fns.set(k, e);
    const mod = moduleOf(f);
    mods.set(mod, (mods.get(mod) ?? 0) + us / 1000);
  }
  return {
    wallMs: wall / 1000,
    busyMs: (wall - idle) / 1000,
    functions: [...fns.values()].sort((a, b) => b.ms - a.ms),
    modules: [...mods.entries()].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms),
  };
}

/** Markdown: busy time, the top functions and modules by self time, optionally per unit of work. */
export function formatProfileSummary(
  s: ProfileSummary,
  opts: { top?: number; perUnit?: { count: number; name: string } } = {},
): string {
  const top = opts.top ?? 20;
  const per = opts.perUnit;
  const perCell = (v: number) => (per ? (v / per.count).toFixed(3) : "");
  const header = (first: string) => [
    first,
    "self ms",
    "% of busy",
    ...(per ? [`ms per ${per.name}`] : []),
  ];
  const pct = (v: number) => `${((100 * v) / (s.busyMs || 1)).toFixed(1)}%`;
  const lines = [
    `CPU profile: ${s.busyMs.toFixed(0)} ms busy of ${s.wallMs.toFixed(0)} ms sampled` +
      (per ? ` = ${(s.busyMs / per.count).toFixed(2)} ms busy per ${per.name} (${per.count})` : ""),
    "",
    markdownTable([
      header("function (file:line)"),
      ...s.functions
        .slice(0, top)
        .map((f) => [
          `${f.name} ${f.where}`.trim(),
          f.ms.toFixed(0),
          pct(f.ms),
          ...(per ? [perCell(f.ms)] : []),
        ]),
    ]),
    "",
    markdownTable([
      header("module"),
      ...s.modules
        .slice(0, top)
        .map((m) => [m.name, m.ms.toFixed(0), pct(m.ms), ...(per ? [perCell(m.ms)] : [])]),
    ]),
  ];
  return lines.join("\n");
}
