/** A per-run scratch directory for logs and profiles, kept after the run for inspection. */
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export function scratchDir(bench: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const dir = path.join(tmpdir(), "kzb-bench", `${bench}-${stamp}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}
