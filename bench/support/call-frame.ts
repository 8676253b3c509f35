/** Names for the call frames of V8 profiles (CPU and heap): short file paths, modules, labels. */

export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

/** `lib/sync/plan.js`, `node-zookeeper-client/lib/…`, `node:internal/…`; "" for native frames. */
export function shortUrl(url: string): string {
  if (!url) return "";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) return url.slice(nm + "node_modules/".length);
  const dist = url.lastIndexOf("/dist/");
  if (dist >= 0) return url.slice(dist + "/dist/".length);
  return url.replace(/^file:\/\//, "");
}

/** `name file:line`, or the bare name of a native or pseudo frame (`(garbage collector)`). */
export function frameLabel(f: CallFrame): string {
  const name = f.functionName || "(anonymous)";
  return f.url ? `${name} ${shortUrl(f.url)}:${f.lineNumber + 1}` : name;
}

/**
 * What a frame belongs to: a package, one of our modules, one of Node's own (`node:dgram`: which
 * part of Node matters, e.g. the UDP send path of a DNS server), or V8's pseudo-frames.
 */
export function moduleOf(f: CallFrame): string {
  const u = shortUrl(f.url);
  if (!u) return f.functionName.startsWith("(") ? f.functionName : "(native)";
  if (u.startsWith("node:")) return u;
  if (f.url.includes("node_modules/")) {
    const parts = u.split("/");
    return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? u);
  }
  return u;
}
