/**
 * Structured JSON logs (pino). One line per registry change at info; nothing per DNS query.
 */
import { writeSync } from "node:fs";
import { pino } from "pino";

export type Logger = pino.Logger;
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Written to stdout asynchronously: lines logged while a write is under way go out together
 * in the next one, so 100,000 registry changes after a session expiry cost a few thousand
 * writes, not 100,000. A line logged on an idle process is written in the same turn of the
 * event loop; what is left at exit is written synchronously.
 */
export function createLogger(level: LogLevel = "info"): Logger {
  return pino({ level, base: { app: "kube-zk-bridge" } }, new LinesPerTurn(1));
}

/** A logger that writes nothing: for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

type Sink = ReturnType<typeof pino.destination>;
const PAUSE = new Int32Array(new SharedArrayBuffer(4));
/** Characters per write handed to SonicBoom: its default maxWrite (16 KiB), for ASCII lines. */
const PIECE = 16 * 1024;

/**
 * pino's lines, handed to its SonicBoom writer once per turn of the event loop, joined.
 * SonicBoom's write() re-measures the string it appends to on every call, flattening it: at
 * 100,000 lines in a cold start that was most of the logging's CPU and garbage.
 */
export class LinesPerTurn {
  readonly #fd: number;
  readonly #sink: Sink;
  #lines: string[] = [];
  #scheduled = false;

  constructor(fd: number) {
    this.#fd = fd;
    this.#sink = pino.destination({ dest: fd, sync: false });
    // Registered after the sink's own exit flush (pino's, made with the sink), so runs after it.
    process.once("exit", () => this.#writeRestSync());
  }

  write(line: string): boolean {
    this.#lines.push(line);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#handOver());
    }
    return true;
  }

  /** pino's `logger.flush(cb)`: what is queued goes to the sink, which then flushes. */
  flush(cb?: (err?: Error) => void): void {
    this.#handOver();
    this.#sink.flush(cb);
  }

  #handOver(): void {
    this.#scheduled = false;
    const lines = this.#lines;
    this.#lines = [];
    // In pieces of SonicBoom's own write size: a pipe takes each one whole.
    let piece = "";
    for (const line of lines) {
      if (piece.length + line.length > PIECE && piece !== "") {
        this.#sink.write(piece);
        piece = "";
      }
      piece += line;
    }
    if (piece !== "") this.#sink.write(piece);
  }

  #writeRestSync(): void {
    let rest = Buffer.from(this.#lines.join(""));
    this.#lines = [];
    while (rest.length > 0) {
      try {
        rest = rest.subarray(writeSync(this.#fd, rest));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EAGAIN") return; // e.g. EPIPE: nobody reads
        Atomics.wait(PAUSE, 0, 0, 1); // a full pipe: let the reader catch up
      }
    }
  }
}
