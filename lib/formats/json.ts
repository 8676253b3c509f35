/**
 * JSON helpers shared by the znode formats: a defensive parser for bytes anyone may have
 * written, and a string writer that escapes exactly as Jackson does (so our bytes match the
 * golden fixtures Curator writes).
 */
import { isIP } from "node:net";
import { FormatError } from "./format-error.js";

/** ZooKeeper's default `jute.maxbuffer` (1 MiB): no legitimate node is bigger. */
export const MAX_NODE_BYTES = 1024 * 1024;
/** Real registrations nest 4 levels deep; V8 takes ~0.3 s on a 1 MiB `[[[[…`, so refuse early. */
const MAX_DEPTH = 32;

export type JsonObject = { readonly [key: string]: unknown };

/** Parse znode bytes that must hold one JSON object; FormatError otherwise, never anything else. */
export function parseJsonObject(data: Uint8Array | null | undefined): JsonObject {
  if (data == null || data.byteLength === 0) throw new FormatError("empty node");
  if (data.byteLength > MAX_NODE_BYTES) {
    throw new FormatError("too large", `${data.byteLength} bytes`);
  }
  let text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8");
  // Jackson accepts a UTF-8 byte order mark; so do we.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (countsOver(text, MAX_DEPTH) && !depthWithin(text, MAX_DEPTH)) {
    throw new FormatError("nested too deeply");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FormatError("not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FormatError("not a JSON object");
  }
  return value as JsonObject;
}

/** Cheap native pre-check: with at most `max` brackets in total, no nesting can exceed `max`. */
function countsOver(text: string, max: number): boolean {
  let count = 0;
  for (const opener of ["{", "["]) {
    for (let i = text.indexOf(opener); i !== -1; i = text.indexOf(opener, i + 1)) {
      if (++count > max) return true;
    }
  }
  return false;
}

/** True if no `{`/`[` outside strings nests deeper than `max`. Malformed text is JSON.parse's job. */
function depthWithin(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return false;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return true;
}

/** A plain (non-null, non-array) JSON object, else undefined. */
export function asObject(v: unknown): JsonObject | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as JsonObject) : undefined;
}

/** A TCP port 1–65535 given as a JSON integer or digit string (Jackson coerces both), else undefined. */
export function asPort(v: unknown): number | undefined {
  const n = typeof v === "string" && /^\d{1,5}$/.test(v) ? Number(v) : v;
  return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

/** Why a value is not usable as an instance address, or undefined if it is an IP literal. */
export function addressProblem(v: unknown): string | undefined {
  if (v === undefined || v === null || v === "") return "missing address";
  // A zone id (`fe80::1%eth0`) means nothing outside its host, and no AAAA record can carry it.
  if (typeof v !== "string" || v.length > 45 || v.includes("%") || isIP(v) === 0) {
    return "address is not an IP literal";
  }
  return undefined;
}

/**
 * The string-valued entries of a JSON object: strings kept, numbers and booleans stringified,
 * anything else skipped. Built with fromEntries so a `__proto__` key stays an ordinary key.
 */
export function stringMap(v: unknown): Record<string, string> {
  const obj = asObject(v);
  if (!obj) return {};
  const entries: [string, string][] = [];
  for (const [key, value] of Object.entries(obj)) {
    if (typeof value === "string") entries.push([key, value]);
    else if (typeof value === "number" || typeof value === "boolean") {
      entries.push([key, String(value)]);
    }
  }
  return Object.fromEntries(entries);
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\t": "\\t",
  "\n": "\\n",
  "\f": "\\f",
  "\r": "\\r",
};

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what JSON must escape
const ESCAPABLE = /["\\\u0000-\u001f]/g;

/** True if `s` holds a quote, a backslash or a control character (a loop beats a regex test on short strings). */
function needsEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c) return true;
  }
  return false;
}

/** A JSON string literal escaped as Jackson writes it (`\u001B`: upper-case hex, unlike JSON.stringify). */
export function jsonString(s: string): string {
  // Almost nothing needs escaping: test once, replace only then (renders 100k nodes at start).
  if (!needsEscape(s)) return `"${s}"`;
  const escaped = s.replace(ESCAPABLE, (c) => {
    return (
      SHORT_ESCAPES[c] ?? `\\u00${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`
    );
  });
  return `"${escaped}"`;
}

/**
 * Sorts in place by `key`, without allocating for short arrays: V8's sort sets up a TimSort
 * state (about 1 KB) on every call, and a render sorts a few metadata entries 100,000 times.
 */
export function sortByKey<T>(items: T[], key: (item: T) => string): T[] {
  if (items.length > 16) return items.sort((a, b) => compareStrings(key(a), key(b)));
  for (let i = 1; i < items.length; i++) {
    const item = items[i] as T;
    const k = key(item);
    let j = i - 1;
    for (; j >= 0 && key(items[j] as T) > k; j--) items[j + 1] = items[j] as T;
    items[j + 1] = item;
  }
  return items;
}

/** Code-unit order, as `<` compares strings (not locale order). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A JSON object literal from already-encoded values, keys in the given order. */
export function jsonObject(fields: readonly (readonly [string, string])[]): string {
  let out = "{";
  for (let i = 0; i < fields.length; i++) {
    const [k, v] = fields[i] as readonly [string, string];
    out += `${i === 0 ? "" : ","}${jsonString(k)}:${v}`;
  }
  return `${out}}`;
}
