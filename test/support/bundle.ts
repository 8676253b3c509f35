/**
 * The build in dist/ (a bundle made by scripts/build.sh): its files, and what each was bundled
 * from, read from its source map.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const DIST = fileURLToPath(new URL("../../dist/", import.meta.url));

/** Every file under `dir`, relative to it (`cmd/kube-zk-bridge.js`, `chunks/…`), sorted. */
export function distFiles(dir = DIST): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/** Absolute paths of the sources a bundled `.js` file was built from (from its `.map`). */
export function sourcesOf(jsFile: string): string[] {
  const map = JSON.parse(readFileSync(`${jsFile}.map`, "utf8")) as { sources: string[] };
  return map.sources.map((s) => path.resolve(path.dirname(jsFile), s));
}

/**
 * The installed package a source belongs to, as its package-lock.json key
 * (`node_modules/pino`, `node_modules/a/node_modules/b`); undefined for our own sources.
 */
export function lockKeyOf(source: string, repo: string): string | undefined {
  const rel = path.relative(repo, source).split(path.sep).join("/");
  return /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(rel)?.[1];
}
