/**
 * Summaries of a V8 `.cpuprofile` (`node --cpu-prof`): self time per function and per module,
 * optionally inclusive time per function, optionally only inside a time window. Profile
 * timestamps are CLOCK_MONOTONIC microseconds, the same clock as `process.hrtime` of any process
 * on the machine, so a bench can cut out e.g. its change phase with `monotonicUs()` taken in
 * its own process.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { type CallFrame, frameLabel, moduleOf } from "./call-frame.js";
import { markdownTable } from "./table.js";

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

/** Node flags that make a child write its CPU profile into `dir` when it exits. */
export function cpuProfArgs(dir: string): string[] {
  return ["--cpu-prof", `--cpu-prof-dir=${dir}`];
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

const MAX_SAMPLE_GAP_US = 100_000;

interface Timed {
  readonly name: string;
  readonly ms: number;
}

export interface ProfileSummary {
  /** Sampled time in the window, idle included (ms). */
  readonly wallMs: number;
  /** Non-idle time in the window (ms). */
  readonly busyMs: number;
  /** Self time by function (`name file:line`), most first. */
  readonly functions: readonly Timed[];
  readonly modules: readonly Timed[];
  /** Time with the function on the stack (once per stack however often it recurses), most first. */
  readonly inclusive: readonly Timed[];
}

export function summarizeProfile(
  file: string,
  window: { fromUs?: number; toUs?: number } = {},
): ProfileSummary {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
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
  const fns = new Map<string, number>();
  const mods = new Map<string, number>();
  const incl = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, us: number) => m.set(k, (m.get(k) ?? 0) + us);
  let idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    if (n.callFrame.functionName === "(idle)") {
      idle += us;
      continue;
    }
    add(fns, frameLabel(n.callFrame), us);
    add(mods, moduleOf(n.callFrame), us);
    const onStack = new Set<string>();
    for (let up: number | undefined = id; up !== undefined; up = parent.get(up)) {
      const f = byId.get(up)?.callFrame;
      if (f && f.functionName !== "(root)") onStack.add(frameLabel(f));
    }
    for (const k of onStack) add(incl, k, us);
  }
  const sorted = (m: Map<string, number>) =>
    [...m].map(([name, us]) => ({ name, ms: us / 1000 })).sort((a, b) => b.ms - a.ms);
  return {
    wallMs: wall / 1000,
    busyMs: (wall - idle) / 1000,
    functions: sorted(fns),
    modules: sorted(mods),
    inclusive: sorted(incl),
  };
}

/**
 * Markdown: busy time, the top functions and modules by self time (and with `inclusive`, by
 * inclusive time), optionally per unit of work.
 */
export function formatProfileSummary(
  s: ProfileSummary,
  opts: { top?: number; perUnit?: { count: number; name: string }; inclusive?: boolean } = {},
): string {
  const top = opts.top ?? 20;
  const per = opts.perUnit;
  const pct = (v: number) => `${((100 * v) / (s.busyMs || 1)).toFixed(1)}%`;
  const table = (first: string, ms: string, rows: readonly Timed[]) =>
    markdownTable([
      [first, ms, "% of busy", ...(per ? [`ms per ${per.name}`] : [])],
      ...rows
        .slice(0, top)
        .map((r) => [
          r.name,
          r.ms.toFixed(0),
          pct(r.ms),
          ...(per ? [(r.ms / per.count).toFixed(3)] : []),
        ]),
    ]);
  return [
    `CPU profile: ${s.busyMs.toFixed(0)} ms busy of ${s.wallMs.toFixed(0)} ms sampled` +
      (per ? ` = ${(s.busyMs / per.count).toFixed(2)} ms busy per ${per.name} (${per.count})` : ""),
    "",
    table("function (file:line)", "self ms", s.functions),
    "",
    table("module", "self ms", s.modules),
    ...(opts.inclusive ? ["", table("function (file:line)", "inclusive ms", s.inclusive)] : []),
  ].join("\n");
}
