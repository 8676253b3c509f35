import { describe, expect, it } from "vitest";
import { Limiter } from "../../lib/catalog/limiter.js";

describe("Limiter", () => {
  it("runs at most `limit` jobs at once, starts the rest in the order they came, and loses none", async () => {
    const limiter = new Limiter(3);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const jobs = Array.from({ length: 20_000 }, (_, i) =>
      limiter.run(async () => {
        started.push(i);
        running++;
        most = Math.max(most, running);
        await Promise.resolve(); // finish on a later microtask, so jobs overlap
        if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
        running--;
        if (i === 13) throw new Error("job 13 fails");
        return i;
      }),
    );
    expect(limiter.queued).toBe(20_000 - 3);
    const results = await Promise.allSettled(jobs);
    expect(most).toBe(3);
    expect(started).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
    expect(results.filter((r) => r.status === "rejected")).toHaveLength(1);
    expect(results[19_999]).toEqual({ status: "fulfilled", value: 19_999 });
    expect(limiter.queued).toBe(0);
    // The slots came back: a new job starts at once.
    let ran = false;
    await limiter.run(async () => {
      ran = true;
    });
    expect(ran).toBe(true);
  });
});
