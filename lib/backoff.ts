/**
 * Exponential backoff with jitter, the one retry-delay helper of the process (the shape of
 * grpc-js `backoff-timeout.ts`): delays grow by `factor` from `initialMs` up to `maxMs`, each
 * spread by ±`jitter` so that many clients restarting together do not retry in lockstep.
 */

export interface BackoffOptions {
  /** First delay. Default 500 ms. */
  initialMs?: number;
  /** Ceiling of the (un-jittered) delay. Default 30 s. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Each delay is multiplied by a random value in [1 - jitter, 1 + jitter]. Default 0.2. */
  jitter?: number;
  /** Random source in [0, 1); injectable for tests. Default Math.random. */
  random?: () => number;
}

export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #current: number;
  #attempts = 0;

  constructor(opts: BackoffOptions = {}) {
    this.#initialMs = opts.initialMs ?? 500;
    this.#maxMs = opts.maxMs ?? 30_000;
    this.#factor = opts.factor ?? 2;
    this.#jitter = opts.jitter ?? 0.2;
    this.#random = opts.random ?? Math.random;
    if (!(this.#initialMs > 0) || !(this.#maxMs >= this.#initialMs)) {
      throw new RangeError(
        `backoff: need 0 < initialMs <= maxMs (got ${this.#initialMs}, ${this.#maxMs})`,
      );
    }
    if (!(this.#factor >= 1) || !(this.#jitter >= 0 && this.#jitter < 1)) {
      throw new RangeError(`backoff: need factor >= 1 and 0 <= jitter < 1`);
    }
    this.#current = this.#initialMs;
  }

  /** The delay before the next attempt (jittered), and advance. Never above maxMs * (1 + jitter). */
  next(): number {
    const base = this.#current;
    this.#current = Math.min(this.#current * this.#factor, this.#maxMs);
    this.#attempts++;
    const spread = 1 + this.#jitter * (2 * this.#random() - 1);
    return Math.max(1, Math.round(base * spread));
  }

  /** Back to the first delay: call after a success that proves the peer is healthy again. */
  reset(): void {
    this.#current = this.#initialMs;
    this.#attempts = 0;
  }

  /** Delays handed out since the last reset. */
  get attempts(): number {
    return this.#attempts;
  }
}

/**
 * Resolves after `ms`, or at once when `signal` aborts (never rejects), and leaves no timer
 * behind either way.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
