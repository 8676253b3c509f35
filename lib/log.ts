/**
 * Structured JSON logs (pino). One line per registry change at info; nothing per DNS query.
 */
import { pino } from "pino";

export type Logger = pino.Logger;
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Written to stdout asynchronously: lines logged while a write is under way go out together
 * in the next one, so 100,000 registry changes after a session expiry cost a few thousand
 * writes, not 100,000. A line logged on an idle process is written at once; pino flushes the
 * rest on exit.
 */
export function createLogger(level: LogLevel = "info"): Logger {
  return pino(
    { level, base: { app: "kube-zk-bridge" } },
    pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that writes nothing: for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
