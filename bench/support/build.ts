/**
 * This checkout's build, which the benches run (`npm run build` makes it), and a warning when
 * it is older than its sources: a bench of a stale build measures code that is not there.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const DEFAULT_BRIDGE_BIN = path.join(REPO, "dist/cmd/kube-zk-bridge.js");

/**
 * Sources under cmd/ and lib/ newer than the build. The build is one bundle (scripts/build.sh
 * rewrites all of dist/ at once), so the entry point's mtime is the build's.
 */
function staleSources(): string[] {
  const built = statSync(DEFAULT_BRIDGE_BIN).mtimeMs;
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(path.join(REPO, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (rel.endsWith(".ts") && statSync(path.join(REPO, rel)).mtimeMs > built) out.push(rel);
    }
  };
  walk("cmd");
  walk("lib");
  return out;
}

let checked = false;

/** Throws if `bin` is missing; for this checkout's build, warns once (stderr) if it is stale. */
export function checkBuild(bin: string): void {
  if (!existsSync(bin)) throw new Error(`${bin} not found: run \`npm run build\` first`);
  if (bin !== DEFAULT_BRIDGE_BIN || checked) return;
  checked = true;
  const stale = staleSources();
  if (stale.length > 0) {
    process.stderr.write(
      `warning: dist/ is older than ${stale.slice(0, 3).join(", ")}${stale.length > 3 ? ` and ${stale.length - 3} more` : ""}: run npm run build\n`,
    );
  }
}
