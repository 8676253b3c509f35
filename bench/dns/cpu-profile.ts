/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and says where the time went within a
 * window: self and inclusive time per function, and self time per source file.
 * Timestamps are the monotonic clock in µs, the same clock as `process.hrtime` of any process
 * on the machine, so a benchmark can cut out one phase of a child's profile.
 *
 *   node --import tsx bench/dns/cpu-profile.ts <file.cpuprofile> [top=25]
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { markdownTable } from "./perf.js";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Now on the profile's clock (µs of CLOCK_MONOTONIC). */
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

function frameKey(f: CallFrame): string {
  const file = f.url ? path.basename(f.url.replace(/^file:\/\//, "")) : "";
  const name = f.functionName || "(anonymous)";
  return file ? `${name} ${file}:${f.lineNumber + 1}` : name;
}

function fileKey(f: CallFrame): string {
  if (!f.url) return f.functionName.startsWith("(") ? f.functionName : "(native)";
  const u = f.url.replace(/^file:\/\//, "");
  if (u.startsWith("node:")) return u;
  const nm = u.lastIndexOf("node_modules/");
  if (nm >= 0)
    return u
      .slice(nm + "node_modules/".length)
      .split("/")
      .slice(0, 1)
      .join("/");
  const dist = u.indexOf("/dist/");
  return dist >= 0 ? u.slice(dist + 6) : path.basename(u);
}

export interface ProfileSummary {
  /** CPU ms sampled in the window (idle excluded). */
  readonly busyMs: number;
  readonly windowMs: number;
  readonly selfByFunction: [string, number][];
  readonly inclusiveByFunction: [string, number][];
  readonly selfByFile: [string, number][];
}

export function summarize(
  file: string,
  fromUs = 0,
  toUs = Number.POSITIVE_INFINITY,
): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const files = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  let t = prof.startTime;
  let busy = 0;
  let first = Number.NaN;
  let last = Number.NaN;
  for (let i = 0; i < prof.samples.length; i++) {
    t += prof.timeDeltas[i] ?? 0;
    if (t < fromUs || t > toUs) continue;
    // A sample stands for the time until the next one.
    const dt = (prof.timeDeltas[i + 1] ?? 0) / 1000;
    if (Number.isNaN(first)) first = t;
    last = t;
    const node = byId.get(prof.samples[i] as number);
    if (!node || node.callFrame.functionName === "(idle)") continue;
    busy += dt;
    add(self, frameKey(node.callFrame), dt);
    add(files, fileKey(node.callFrame), dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const k = frameKey((byId.get(id) as ProfileNode).callFrame);
      if (!seen.has(k)) {
        seen.add(k);
        add(incl, k, dt);
      }
    }
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return {
    busyMs: busy,
    windowMs: (last - first) / 1000,
    selfByFunction: sorted(self),
    inclusiveByFunction: sorted(incl).filter(([k]) => k !== "(root)"),
    selfByFile: sorted(files),
  };
}

/** The summary as three Markdown tables (top `top` rows each, % of busy time). */
export function formatSummary(s: ProfileSummary, top = 25): string {
  const pctOf = (ms: number) => `${((100 * ms) / s.busyMs).toFixed(1)}%`;
  const rows = (xs: [string, number][]) =>
    xs.slice(0, top).map(([k, ms]) => [k, ms.toFixed(0), pctOf(ms)]);
  return [
    `CPU busy ${s.busyMs.toFixed(0)} ms over ${s.windowMs.toFixed(0)} ms of wall time (${((100 * s.busyMs) / s.windowMs).toFixed(0)}% of a core)`,
    "",
    "self time by file/package:",
    markdownTable(["file", "ms", "%"], rows(s.selfByFile)),
    "",
    "self time by function:",
    markdownTable(["function", "ms", "%"], rows(s.selfByFunction)),
    "",
    "inclusive time by function:",
    markdownTable(["function", "ms", "%"], rows(s.inclusiveByFunction)),
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, top = "25"] = process.argv.slice(2);
  if (!file) throw new Error("usage: cpu-profile.ts <file.cpuprofile> [top]");
  console.log(formatSummary(summarize(file), Number(top)));
}
