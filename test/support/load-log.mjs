/**
 * `node --import <this file> …`: appends the URL of every module the process loads to the file
 * named by $LOAD_LOG_FILE, one a line. Tells a test which chunks of the bundle a command loads.
 * Plain JavaScript: the bridge under test runs on plain Node, without tsx.
 */
import { appendFileSync } from "node:fs";
import { register } from "node:module";
import { isMainThread } from "node:worker_threads";

// Imported twice: by --import on the main thread (registers), then as the hooks module on the
// loader thread (where `load` runs).
if (isMainThread) register(import.meta.url);

/** A module loader hook: logs, then loads as Node would. */
export async function load(url, context, nextLoad) {
  const file = process.env.LOAD_LOG_FILE;
  if (file) appendFileSync(file, `${url}\n`);
  return nextLoad(url, context);
}
