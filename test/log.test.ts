/**
 * The stdout writer behind every logger: lines batched per turn of the event loop must reach
 * the file whole, in order, and none may be lost when the process exits mid-burst.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { LinesPerTurn } from "../lib/log.js";
import { waitUntil } from "./support/wait.js";

const LOG_MODULE = new URL("../lib/log.ts", import.meta.url).href;

function lines(text: string): Array<{ n: number; msg: string }> {
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { n: number; msg: string });
}

describe("LinesPerTurn", () => {
  it("writes every line of bursts over several turns, in order", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "kzb-log-")), "out.log");
    const fd = openSync(file, "w");
    const log = pino({ base: null }, new LinesPerTurn(fd));
    let n = 0;
    for (let turn = 0; turn < 3; turn++) {
      for (let i = 0; i < 1000; i++) log.info({ n: n++ }, "registry change");
      await new Promise((r) => setImmediate(r));
    }
    log.info({ n: n++ }, "last");
    await waitUntil("all written", () => readFileSync(file, "utf8").endsWith('"last"}\n'));
    closeSync(fd);
    const got = lines(readFileSync(file, "utf8"));
    expect(got.map((l) => l.n)).toEqual(Array.from({ length: 3001 }, (_, i) => i));
    expect(got.at(-1)?.msg).toBe("last");
  });

  it("loses no line when the process exits in the same turn as it logged them", () => {
    const script = [
      `const { createLogger } = await import(${JSON.stringify(LOG_MODULE)});`,
      `const log = createLogger("info");`,
      `for (let n = 0; n < 1000; n++) log.info({ n }, "registry change");`,
      // Written by then (SonicBoom cannot redo a write still under way at exit).
      `await new Promise((r) => setTimeout(r, 300));`,
      `for (let n = 1000; n < 8000; n++) log.info({ n }, "registry change");`,
      `process.exit(0);`,
    ].join("\n");
    const child = spawnSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
    );
    expect(child.stderr).toBe("");
    expect(child.status).toBe(0);
    expect(lines(child.stdout).map((l) => l.n)).toEqual(Array.from({ length: 8000 }, (_, i) => i));
  });
});
