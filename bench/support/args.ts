/** `--name value` command-line options for the benches (no dependency, no magic). */

/** The value after `--name`, or undefined when absent. */
function raw(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith("--")) throw new Error(`--${name} needs a value`);
  return v;
}

/** A positive number option; throws a one-line error naming the option on a bad value. */
export function numberArg(name: string, fallback: number): number {
  const v = raw(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: a positive number, got ${v}`);
  return n;
}

/** A whole-number option, 0 allowed (e.g. `--static-rounds 0`). */
export function wholeArg(name: string, fallback: number): number {
  const v = raw(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: a whole number ≥ 0, got ${v}`);
  return n;
}

function integerList(name: string, fallback: readonly number[], min: 0 | 1): number[] {
  const v = raw(name);
  if (v === undefined) return [...fallback];
  const list = v.split(",").map(Number);
  if (list.some((n) => !Number.isInteger(n) || n < min)) {
    const what = min === 0 ? "whole numbers" : "positive integers";
    throw new Error(`--${name}: comma-separated ${what}, got ${v}`);
  }
  return list;
}

/** A comma-separated list of positive integers, e.g. `--sizes 100,1000`. */
export function numberListArg(name: string, fallback: readonly number[]): number[] {
  return integerList(name, fallback, 1);
}

/** A comma-separated list of whole numbers, 0 allowed, e.g. `--sizes 0,10000`. */
export function wholeListArg(name: string, fallback: readonly number[]): number[] {
  return integerList(name, fallback, 0);
}

export function stringArg(name: string, fallback: string): string;
export function stringArg(name: string, fallback?: string): string | undefined;
export function stringArg(name: string, fallback?: string): string | undefined {
  return raw(name) ?? fallback;
}

/** One of `choices`. */
export function choiceArg<T extends string>(name: string, choices: readonly T[], fallback: T): T {
  const v = raw(name) ?? fallback;
  if (!(choices as readonly string[]).includes(v)) {
    throw new Error(`--${name}: one of ${choices.join(", ")}, got ${v}`);
  }
  return v as T;
}

/** A switch with no value, e.g. `--heap-prof`. */
export function flagArg(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/**
 * `--name "a b c"` split on spaces, else []: flags handed on to a child process, so the value
 * may itself start with `--` (e.g. `--node-args "--max-old-space-size=256"`).
 */
export function wordsArg(name: string): string[] {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return [];
  const v = process.argv[i + 1];
  if (v === undefined) throw new Error(`--${name} needs a value`);
  return v.split(" ").filter((a) => a !== "");
}
