import { describe, expect, it } from "vitest";
import { Backoff, sleep } from "../lib/backoff.js";

describe("Backoff", () => {
  it("grows by the factor up to the ceiling, without jitter", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 });
    expect([1, 2, 3, 4, 5, 6].map(() => b.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(b.attempts).toBe(6);
  });

  it("starts over after reset", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(100);
    expect(b.attempts).toBe(1);
  });

  it("spreads each delay by at most ±jitter", () => {
    const low = new Backoff({ initialMs: 1000, jitter: 0.2, random: () => 0 });
    const high = new Backoff({ initialMs: 1000, jitter: 0.2, random: () => 0.999999 });
    expect(low.next()).toBe(800);
    expect(high.next()).toBe(1200);
    const real = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.2 });
    for (let i = 0; i < 200; i++) {
      const d = real.next();
      expect(d).toBeGreaterThanOrEqual(800);
      expect(d).toBeLessThanOrEqual(1200);
    }
  });

  it("rejects nonsense settings with a clear error", () => {
    expect(() => new Backoff({ initialMs: 0 })).toThrow(/initialMs/);
    expect(() => new Backoff({ initialMs: 10, maxMs: 5 })).toThrow(/initialMs <= maxMs/);
    expect(() => new Backoff({ jitter: 1 })).toThrow(/jitter/);
    expect(() => new Backoff({ factor: 0.5 })).toThrow(/factor/);
  });
});

describe("sleep", () => {
  it("returns early when aborted", async () => {
    const ac = new AbortController();
    const guard = new AbortController();
    const p = sleep(60_000, ac.signal).then(() => "woke");
    ac.abort();
    const winner = await Promise.race([p, sleep(5_000, guard.signal).then(() => "timed out")]);
    guard.abort();
    expect(winner).toBe("woke");
  });

  it("resolves at once for an already aborted signal", async () => {
    await expect(sleep(60_000, AbortSignal.abort())).resolves.toBeUndefined();
  });
});
