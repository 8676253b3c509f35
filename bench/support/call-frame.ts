/**
 * Names for the call frames of V8 profiles (CPU and heap): source files, modules, labels.
 *
 * The build is a bundle (scripts/build.sh): every frame of ours and of our packages has the URL
 * of a bundle chunk. A frame is therefore named through its script's source map, when the script
 * has one, so that profiles keep saying `lib/sync/plan.ts` and `pino` rather than
 * `chunks/chunk-X.js`. A script that is gone (a rebuilt dist/) or has no map is named itself.
 */
import { readFileSync } from "node:fs";
import { SourceMap, type SourceMapping } from "node:module";
import { fileURLToPath } from "node:url";

export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  /** 0-based, as V8 reports it. */
  readonly lineNumber: number;
  /** 0-based, as V8 reports it. */
  readonly columnNumber?: number;
}

/** Where a frame's code was written, and under which name. */
export interface SourcePosition {
  /** The function's name in the source: a bundler renames clashing ones (`parse` → `parse2`). */
  readonly name: string;
  /** `lib/sync/plan.ts`, `pino/lib/tools.js` (in a package), `node:internal/…`; "" if native. */
  readonly file: string;
  /** The package the file belongs to (`pino`, `@kubernetes/client-node`), if any. */
  readonly pkg: string | undefined;
  /** 0-based. */
  readonly line: number;
}

interface LoadedMap {
  readonly map: SourceMap;
  /** Sources in the map are relative to this. */
  readonly mapUrl: string;
}

const maps = new Map<string, LoadedMap | null>();

/** The source map a script names in its `sourceMappingURL` comment (a file or a data: URL). */
function sourceMapOf(scriptUrl: string): LoadedMap | null {
  if (!scriptUrl.startsWith("file:")) return null;
  let loaded = maps.get(scriptUrl);
  if (loaded !== undefined) return loaded;
  loaded = null;
  try {
    const js = readFileSync(fileURLToPath(scriptUrl), "utf8");
    const ref = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(js)?.[1];
    if (ref) {
      const mapUrl = new URL(ref, scriptUrl);
      const json =
        mapUrl.protocol === "data:"
          ? Buffer.from(
              mapUrl.pathname.slice(mapUrl.pathname.indexOf(",") + 1),
              "base64",
            ).toString()
          : readFileSync(fileURLToPath(mapUrl), "utf8");
      loaded = { map: new SourceMap(JSON.parse(json)), mapUrl: mapUrl.href };
    }
  } catch {
    // Gone, unreadable or not a map: the frame is named by its script.
  }
  maps.set(scriptUrl, loaded);
  return loaded;
}

/** `pino` of `…/node_modules/pino/lib/x.js`, `@scope/name` of a scoped package. */
function packageName(afterNodeModules: string): string {
  const parts = afterNodeModules.split("/");
  return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? afterNodeModules);
}

/** Names a URL: within a package, relative to `root` (a build's checkout), or after `/dist/`. */
function nameUrl(url: string, root?: string): Pick<SourcePosition, "file" | "pkg"> {
  if (!url) return { file: "", pkg: undefined };
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const file = url.slice(nm + "node_modules/".length);
    return { file, pkg: packageName(file) };
  }
  if (root && url.startsWith(root)) return { file: url.slice(root.length), pkg: undefined };
  const dist = url.lastIndexOf("/dist/");
  if (dist >= 0) return { file: url.slice(dist + "/dist/".length), pkg: undefined };
  return { file: url.replace(/^file:\/\//, ""), pkg: undefined };
}

/**
 * The name a function was written with. V8 places a function at its parameter list, so a named
 * function's identifier ends there; the map names that identifier if the bundler renamed it.
 */
function writtenName(map: SourceMap, f: CallFrame): string {
  const column = (f.columnNumber ?? 0) - f.functionName.length;
  if (!f.functionName || f.columnNumber === undefined || column < 0) return f.functionName;
  const entry = map.findEntry(f.lineNumber, column) as Partial<SourceMapping> & { name?: string };
  const atIdentifier = entry.generatedLine === f.lineNumber && entry.generatedColumn === column;
  return atIdentifier && entry.name ? entry.name : f.functionName;
}

/** The source file, line and name of a frame, through its script's source map if it has one. */
export function sourcePosition(f: CallFrame): SourcePosition {
  const loaded = sourceMapOf(f.url);
  const entry = loaded?.map.findEntry(f.lineNumber, f.columnNumber ?? 0);
  if (!loaded || !entry || !("originalSource" in entry)) {
    return { ...nameUrl(f.url), line: f.lineNumber, name: f.functionName };
  }
  // Our sources are named relative to the checkout the build was made in (the dir above dist/).
  const dist = f.url.lastIndexOf("/dist/");
  const root = dist >= 0 ? f.url.slice(0, dist + 1) : undefined;
  return {
    ...nameUrl(new URL(entry.originalSource, loaded.mapUrl).href, root),
    line: entry.originalLine,
    name: writtenName(loaded.map, f),
  };
}

/** The file a frame's code was written in (see SourcePosition.file). */
export function sourceFile(f: CallFrame): string {
  return sourcePosition(f).file;
}

/** `name file:line`, or the bare name of a native or pseudo frame (`(garbage collector)`). */
export function frameLabel(f: CallFrame): string {
  if (!f.url) return f.functionName || "(anonymous)";
  const { file, line, name } = sourcePosition(f);
  return `${name || "(anonymous)"} ${file}:${line + 1}`;
}

/**
 * What a frame belongs to: a package, one of our modules, one of Node's own (`node:dgram`: which
 * part of Node matters, e.g. the UDP send path of a DNS server), or V8's pseudo-frames.
 */
export function moduleOf(f: CallFrame): string {
  const { file, pkg } = sourcePosition(f);
  if (!file) return f.functionName.startsWith("(") ? f.functionName : "(native)";
  return pkg ?? file;
}
