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

  it("matches a plain Map over many versions of random changes, and no version is altered later", () => {
    let seed = 42;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    let map = ShardedMap.empty<number>();
    const model = new Map<string, number>();
    const versions: [ShardedMap<number>, Map<string, number>][] = [];
    for (let round = 0; round < 200; round++) {
      const changes = new Map<string, number | undefined>();
      for (let i = 0; i < 1 + random(300); i++) {
        const key = `svc-${random(20_000)}.x`;
        changes.set(key, random(4) === 0 ? undefined : round);
      }
      map = map.with(changes);
      for (const [k, v] of changes) {
        if (v === undefined) model.delete(k);
        else model.set(k, v);
      }
      versions.push([map, new Map(model)]);
    }
    for (const [version, expected] of versions) {
      expect(version.size).toBe(expected.size);
      expect(new Map(version.entries())).toEqual(expected);
      for (const k of ["svc-1.x", "svc-777.x", "svc-19999.x"]) {
        expect(version.get(k)).toBe(expected.get(k));
        expect(version.has(k)).toBe(expected.has(k));
      }
    }
  });
});
