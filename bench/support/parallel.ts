/** Runs `jobs` with at most `width` in flight (a fixed pool of workers taking the next job). */
export async function inParallel(
  jobs: readonly (() => Promise<void>)[],
  width: number,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) await (jobs[next++] as () => Promise<void>)();
    }),
  );
}
