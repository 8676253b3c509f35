import { describe, expect, it } from "vitest";
import { pauseAfterRefresh } from "../../lib/catalog/catalog.js";

describe("pauseAfterRefresh: the catalog yields to DNS only when the event loop is saturated", () => {
  it("owes nothing while the loop has time to spare, however long the refresh took", () => {
    expect(pauseAfterRefresh(40, false, 0.5)).toBe(0);
    expect(pauseAfterRefresh(2_000, false, 0.89)).toBe(0);
  });

  it("owes as long again as the refresh took once the loop is saturated, up to 500 ms", () => {
    expect(pauseAfterRefresh(40, false, 0.95)).toBe(40);
    expect(pauseAfterRefresh(2_000, false, 1)).toBe(500);
  });

  it("owes nothing after a full read, and nothing for a nonsense measurement", () => {
    expect(pauseAfterRefresh(20_000, true, 1)).toBe(0);
    expect(pauseAfterRefresh(40, false, Number.NaN)).toBe(0);
    expect(pauseAfterRefresh(-5, false, 1)).toBe(0);
  });
});
