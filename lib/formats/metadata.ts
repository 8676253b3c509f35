/** Registration fields carried in free-form metadata, read the same way by every format. */
import { META } from "../registration.js";
import { asPort } from "./json.js";

/** Metadata `port.<name>` entries with a valid port; others are skipped, not fatal. */
export function namedPorts(metadata: Readonly<Record<string, string>>): Record<string, number> {
  const entries: [string, number][] = [];
  for (const [key, value] of Object.entries(metadata)) {
    if (!key.startsWith(META.portPrefix) || key.length === META.portPrefix.length) continue;
    const port = asPort(value);
    if (port !== undefined) entries.push([key.slice(META.portPrefix.length), port]);
  }
  return Object.fromEntries(entries);
}

/** Metadata `weight` as an SRV weight (0–65535), else undefined (the default applies). */
export function weightOf(metadata: Readonly<Record<string, string>>): number | undefined {
  const w = metadata[META.weight];
  if (w === undefined || !/^\d{1,5}$/.test(w)) return undefined;
  const n = Number(w);
  return n <= 65535 ? n : undefined;
}
