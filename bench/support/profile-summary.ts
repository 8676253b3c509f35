/**
 * Prints the top self-time functions and modules of a `.cpuprofile`.
 *
 *   npx tsx bench/support/profile-summary.ts <file.cpuprofile | dir> [--top 25] [--from-us N --to-us N] [--per N] [--inclusive]
 *
 * `--from-us/--to-us`: only samples in that CLOCK_MONOTONIC window (the benches print theirs);
 * `--per N`: also show ms per unit of work (e.g. per change); `--inclusive`: also inclusive time.
 * Frames of the bundled build are named by source file and package through the build's source
 * maps (bench/support/call-frame.ts), so summarise a profile before rebuilding that dist/.
 */
import { statSync } from "node:fs";
import { flagArg, numberArg } from "./args.js";
import { runBench } from "./cleanup.js";
import { formatProfileSummary, latestProfile, summarizeProfile } from "./cpu-profile.js";

runBench(async () => {
  const target = process.argv[2];
  if (!target || target.startsWith("--")) throw new Error("usage: profile-summary.ts <file|dir>");
  const file = statSync(target).isDirectory() ? latestProfile(target) : target;
  if (!file) throw new Error(`no .cpuprofile in ${target}`);
  const fromUs = process.argv.includes("--from-us") ? numberArg("from-us", 0) : undefined;
  const toUs = process.argv.includes("--to-us") ? numberArg("to-us", 0) : undefined;
  const per = process.argv.includes("--per") ? numberArg("per", 1) : undefined;
  console.log(`${file}\n`);
  console.log(
    formatProfileSummary(
      summarizeProfile(file, { ...(fromUs ? { fromUs } : {}), ...(toUs ? { toUs } : {}) }),
      {
        top: numberArg("top", 25),
        inclusive: flagArg("inclusive"),
        ...(per ? { perUnit: { count: per, name: "unit" } } : {}),
      },
    ),
  );
});
