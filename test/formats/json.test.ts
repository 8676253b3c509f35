import { describe, expect, it } from "vitest";
import { seededRandom } from "../../bench/support/random.js";
import { sortByKey } from "../../lib/formats/json.js";

describe("sortByKey", () => {
  it("orders as a stable sort by key does, short arrays (insertion) and long ones alike", () => {
    const next = seededRandom(11);
    for (const length of [0, 1, 2, 3, 8, 16, 17, 40]) {
      for (let round = 0; round < 50; round++) {
        // Few distinct keys, so equal keys occur and stability is checked.
        const items = Array.from({ length }, (_, i) => ({
          key: `k${Math.floor(next() * 6)}${next() < 0.5 ? "" : "x"}`,
          i,
        }));
        const want = [...items].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        expect(sortByKey(items, (x) => x.key)).toEqual(want);
      }
    }
  });
});
