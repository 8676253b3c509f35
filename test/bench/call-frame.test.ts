/**
 * Profile attribution through source maps: a program bundled by esbuild as scripts/build.sh
 * bundles dist/ (ESM, one file per chunk, a `.map` beside it), profiled by V8 (`--cpu-prof`,
 * `--heap-prof`), is summarised by its own source files and its packages, not by the bundle.
 */
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { summarizeHeap } from "../../bench/dns/heap-profile.js";
import { moduleOf, sourcePosition } from "../../bench/support/call-frame.js";
import { latestProfile, summarizeProfile } from "../../bench/support/cpu-profile.js";

const SPIN_TS = `// Busy for \`ms\` of CPU time, so that the CPU profile samples it.
export function spin(ms: number): number {
  const end = process.cpuUsage().user + ms * 1000;
  let x = 0;
  while (process.cpuUsage().user < end) for (let i = 0; i < 100_000; i++) x += Math.sqrt(x + i);
  return x;
}
`;
const SPIN_LINE = 2; // 1-based line of \`export function spin\`

const MAIN_TS = `import { retain } from "retainer";
import { spin } from "./spin.js";
console.log(spin(300), retain(20_000));
`;

// A CommonJS package, as most of ours are: bundled inside an esbuild __commonJS wrapper.
const RETAINER_JS = `"use strict";
exports.retain = function retain(n) {
  const kept = [];
  for (let i = 0; i < n; i++) kept.push({ i, s: "x".repeat(64) + i });
  globalThis.kept = kept; // live when the heap profile is written at exit
  return kept.length;
};
`;

describe("profile frames of a bundle are named through its source map", () => {
  let dir: string;
  let profDir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "kzb-call-frame-"));
    profDir = path.join(dir, "prof");
    mkdirSync(path.join(dir, "src"));
    mkdirSync(path.join(dir, "node_modules/retainer"), { recursive: true });
    writeFileSync(path.join(dir, "package.json"), '{ "type": "module" }\n');
    writeFileSync(path.join(dir, "src/spin.ts"), SPIN_TS);
    writeFileSync(path.join(dir, "src/main.ts"), MAIN_TS);
    writeFileSync(path.join(dir, "node_modules/retainer/package.json"), '{ "main": "index.js" }\n');
    writeFileSync(path.join(dir, "node_modules/retainer/index.js"), RETAINER_JS);
    await build({
      entryPoints: [path.join(dir, "src/main.ts")],
      absWorkingDir: dir,
      bundle: true,
      platform: "node",
      format: "esm",
      outdir: path.join(dir, "dist"),
      sourcemap: true,
      sourcesContent: false,
      logLevel: "silent",
    });
    const run = spawnSync(
      process.execPath,
      [
        "--cpu-prof",
        `--cpu-prof-dir=${profDir}`,
        "--heap-prof",
        `--heap-prof-dir=${profDir}`,
        "--heap-prof-interval=1024",
        "dist/main.js",
      ],
      { cwd: dir, encoding: "utf8", timeout: 30_000 },
    );
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("CPU profile: our functions by source file and line", () => {
    const cpuProfile = latestProfile(profDir);
    expect(cpuProfile).toBeDefined();
    const summary = summarizeProfile(cpuProfile as string);
    expect(summary.modules.map((m) => m.name)).toContain("src/spin.ts");
    expect(summary.functions.map((f) => f.name)).toContain(`spin src/spin.ts:${SPIN_LINE}`);
  });

  it("heap profile: a package's allocations by package file", () => {
    const heapFile = readdirSync(profDir).find((f) => f.endsWith(".heapprofile"));
    expect(heapFile).toBeDefined();
    const profile = JSON.parse(readFileSync(path.join(profDir, heapFile as string), "utf8"));
    const text = summarizeHeap(profile, 50);
    expect(text).toMatch(/\| retainer\/index\.js +\|/);
    // esbuild renames the package's `retain` (it clashes with main's import): the map has the name.
    expect(text).toMatch(/\| retain retainer\/index\.js:2 +\|/);
  });

  it("a frame's package is its module; a script without a map is named by itself", () => {
    const bundle = pathToFileURL(path.join(dir, "dist/main.js")).href;
    // Line 0 column 0 of the bundle is esbuild's own preamble, mapped to nothing.
    const frame = { functionName: "retain", url: bundle, lineNumber: 0, columnNumber: 0 };
    expect(sourcePosition(frame).file).toBe("main.js");

    const cpuProfile = JSON.parse(readFileSync(latestProfile(profDir) as string, "utf8")) as {
      nodes: Array<{ callFrame: { functionName: string; url: string; lineNumber: number } }>;
    };
    const spin = cpuProfile.nodes.find((n) => n.callFrame.functionName === "spin")?.callFrame;
    expect(spin?.url).toBe(bundle);
    const unmapped = path.join(dir, "dist/unmapped.js");
    copyFileSync(path.join(dir, "dist/main.js"), unmapped);
    writeFileSync(unmapped, "// no sourceMappingURL\n", { flag: "a" });
    const copy = { ...(spin as NonNullable<typeof spin>), url: pathToFileURL(unmapped).href };
    expect(sourcePosition(copy).file).toBe("unmapped.js");
    expect(moduleOf(copy)).toBe("unmapped.js");
  });
});
