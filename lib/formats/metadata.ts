/**
 * What every format shares about a Registration: the fields carried in free-form metadata,
 * read the same way everywhere, and the checks before anything is written.
 */
import { META, type Registration } from "../registration.js";
import { FormatError } from "./format-error.js";
import { addressProblem, asPort } from "./json.js";

/** FormatError unless every field of `r` can be written and read back: IP, ports, weight. */
export function assertWritable(r: Registration): void {
  const problem = addressProblem(r.address);
  if (problem) throw new FormatError(problem, r.address);
  if (asPort(r.port) !== r.port) throw new FormatError("bad port", String(r.port));
  for (const [name, port] of Object.entries(r.ports)) {
    if (name === "" || asPort(port) !== port) throw new FormatError("bad port", `${name}=${port}`);
  }
  if (
    r.weight !== undefined &&
    !(Number.isInteger(r.weight) && r.weight >= 0 && r.weight <= 65535)
  ) {
    throw new FormatError("bad weight", String(r.weight));
  }
}

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
