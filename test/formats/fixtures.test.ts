/**
 * The golden fixtures are what the real Curator 5.4 jar writes today: if Debian's Curator
 * (or our reading of it) changes, this fails before any encoder test can pass on stale bytes.
 */
import { describe, expect, it } from "vitest";
import { curatorSerialize } from "../support/curator.js";
import { curatorFixtures, fixture } from "./golden.js";

describe("Curator fixtures", () => {
  it("match the bytes the real Curator 5.4 JsonInstanceSerializer writes", async () => {
    const written = await Promise.all(curatorFixtures.map((f) => curatorSerialize(f.probe)));
    curatorFixtures.forEach((f, i) => {
      expect(written[i]?.toString("utf8"), f.file).toBe(fixture(f.file).toString("utf8"));
    });
  });

  it("Curator 5.4 writes no `enabled` field and `uriSpec: null` when none is given", async () => {
    const probe = curatorFixtures[1]?.probe;
    if (!probe) throw new Error("fixture table changed");
    const parsed = JSON.parse((await curatorSerialize({ ...probe, uriSpec: null })).toString());
    expect(parsed).not.toHaveProperty("enabled");
    expect(parsed.uriSpec).toBeNull();
  });
});
