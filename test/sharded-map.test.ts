import { describe, expect, it } from "vitest";
import { ShardedMap } from "../lib/sharded-map.js";

describe("ShardedMap", () => {
  it("applies sets and deletes into a new version and leaves the old one as it was", () => {
    const names = Array.from({ length: 2000 }, (_, i) => `svc-${i}.bench`);
    const v1 = ShardedMap.empty<number>().with(new Map(names.map((n, i) => [n, i])));
    expect(v1.size).toBe(2000);
    expect(v1.get("svc-1234.bench")).toBe(1234);

    const v2 = v1.with(
      new Map<string, number | undefined>([
        ["svc-1.bench", undefined],
        ["svc-2.bench", 99],
        ["new.bench", 7],
        ["never-there", undefined],
      ]),
    );
    expect([v2.size, v2.has("svc-1.bench"), v2.get("svc-2.bench"), v2.get("new.bench")]).toEqual([
      2000,
      false,
      99,
      7,
    ]);
    expect([v1.size, v1.get("svc-1.bench"), v1.get("svc-2.bench"), v1.has("new.bench")]).toEqual([
      2000,
      1,
      2,
      false,
    ]);
    expect(new Set(v2.keys())).toEqual(
      new Set([...names.filter((n) => n !== "svc-1.bench"), "new.bench"]),
    );
    expect([...v2.values()].reduce((a, b) => a + b, 0)).toBe((1999 * 2000) / 2 - 1 - 2 + 99 + 7);
    expect(v2.with(new Map())).toBe(v2);
  });
});
