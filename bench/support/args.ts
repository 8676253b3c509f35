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

/** A comma-separated list of positive integers, e.g. `--sizes 100,1000`. */
export function numberListArg(name: string, fallback: readonly number[]): number[] {
  const v = raw(name);
  if (v === undefined) return [...fallback];
  const list = v.split(",").map(Number);
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n <= 0)) {
    throw new Error(`--${name}: comma-separated positive integers, got ${v}`);
  }
  return list;
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
