/**
 * LeanHistogram stands in for prom-client's Histogram on the DNS hot path: for the same
 * observations, a registry must render the same text and JSON as with the real one.
 */
import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { seededRandom } from "../bench/support/random.js";
import { LeanHistogram } from "../lib/lean-histogram.js";

const BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05];

function pair() {
  const real = new Registry();
  const lean = new Registry();
  const config = { name: "kzb_test_seconds", help: "Test latency", buckets: BUCKETS };
  return {
    real,
    lean,
    a: new Histogram({ ...config, registers: [real] }),
    b: new LeanHistogram({ ...config, registers: [lean] }),
  };
}

describe("LeanHistogram", () => {
  it("renders what prom-client's Histogram renders, empty and after observations", async () => {
    const { real, lean, a, b } = pair();
    expect(await lean.metrics()).toBe(await real.metrics());
    const random = seededRandom(5);
    // On every bound, just above each, below the first, past the last, and random ones.
    const values = [0, ...BUCKETS, ...BUCKETS.map((x) => x * 1.0001), 1, 7.5];
    for (let i = 0; i < 1000; i++) values.push(random() ** 4 * 0.1);
    for (const v of values) {
      a.observe(v);
      b.observe(v);
    }
    expect(await lean.metrics()).toBe(await real.metrics());
    const json = async (r: Registry) =>
      (await r.getMetricsAsJSON()).map(({ name, help, type, aggregator, values }) => ({
        name,
        help,
        type,
        aggregator,
        values: values.map((v) => ({ ...v, exemplar: undefined, sharedLabels: undefined })),
      }));
    expect(await json(lean)).toEqual(await json(real));
    expect(await lean.metrics()).toMatch(/kzb_test_seconds_count 1021\n/);
  });

  it("resets with its registry to what a new one renders, and refuses what the real one refuses", async () => {
    const { real, lean, a, b } = pair();
    b.observe(0.001);
    lean.resetMetrics(); // (prom-client's own drops its lines until the next observe)
    expect(await lean.metrics()).toBe(await real.metrics());
    expect(() => b.observe(Number.NaN)).toThrow(TypeError);
    expect(() => a.observe(Number.NaN)).toThrow(TypeError);
    expect(
      () => new LeanHistogram({ name: "x", help: "x", buckets: [1, 1], registers: [] }),
    ).toThrow(/ascending/);
  });
});
