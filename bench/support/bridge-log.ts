/**
 * The bridge's own JSON log lines (pino), read after a run to split its time into stages
 * (process up, caches synced, leader, plan logged…) without instrumenting the process.
 */
import { readFileSync } from "node:fs";

export interface LogLine {
  /** Epoch ms, as pino writes it. */
  readonly time: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** Every JSON line of the log (other lines, e.g. a crash trace, are skipped). */
export function readBridgeLog(file: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const o = JSON.parse(line) as LogLine;
      if (typeof o.time === "number" && typeof o.msg === "string") out.push(o);
    } catch {
      // a torn last line
    }
  }
  return out;
}

/** Epoch ms of the first line with `msg` at or after `since`, and of the last such line. */
export function logSpan(
  lines: readonly LogLine[],
  msg: string,
  since = 0,
): { first: number; last: number; count: number } | undefined {
  let first: number | undefined;
  let last = 0;
  let count = 0;
  for (const l of lines) {
    if (l.time < since || l.msg !== msg) continue;
    first ??= l.time;
    last = l.time;
    count++;
  }
  return first === undefined ? undefined : { first, last, count };
}
