/**
 * Reads a V8 sampling heap profile (a `.heapprofile` from `node --heap-prof`, or one taken live
 * through the inspector: sampled allocations still live when it was taken) and says what holds the memory: live bytes by allocating function, self and
 * inclusive, and by source file (through the bundle's source maps: bench/support/call-frame.ts).
 *
 *   node --import tsx bench/dns/heap-profile.ts <file.heapprofile> [top=20]
 */
import { readFileSync } from "node:fs";
import { type CallFrame, frameLabel, sourceFile } from "../support/call-frame.js";
import { markdownTable } from "../support/table.js";

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

/**
 * Live sampled bytes by allocating function (self), by function on the stack (inclusive), and
 * by file, of a `.heapprofile` file or a profile object of that format.
 */
export function summarizeHeap(profile: string | { head: unknown }, top = 20): string {
  const root = (typeof profile === "string" ? JSON.parse(readFileSync(profile, "utf8")) : profile)
    .head as HeapNode;
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const files = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  let total = 0;
  // Returns the subtree's bytes; inclusive counts each function once per path.
  const walk = (n: HeapNode, stack: Set<string>): number => {
    const f = sourceFile(n.callFrame) || "(native)";
    const fn = frameLabel(n.callFrame);
    add(self, fn, n.selfSize);
    add(files, f, n.selfSize);
    total += n.selfSize;
    const fresh = !stack.has(fn);
    if (fresh) stack.add(fn);
    let sum = n.selfSize;
    for (const c of n.children) sum += walk(c, stack);
    if (fresh) {
      stack.delete(fn);
      add(incl, fn, sum);
    }
    return sum;
  };
  walk(root, new Set());
  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  const rows = (m: Map<string, number>) =>
    [...m]
      .filter(([k]) => !k.startsWith("(root)"))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, b]) => [k, mb(b), `${((100 * b) / total).toFixed(1)}%`]);
  return [
    `live sampled heap: ${mb(total)} MiB`,
    "",
    "by file/package (self):",
    markdownTable([["file", "MiB", "%"], ...rows(files)]),
    "",
    "by allocating function (self):",
    markdownTable([["function", "MiB", "%"], ...rows(self)]),
    "",
    "by function on the allocation stack (inclusive):",
    markdownTable([["function", "MiB", "%"], ...rows(incl)]),
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, top = "20"] = process.argv.slice(2);
  if (!file) throw new Error("usage: heap-profile.ts <file.heapprofile> [top]");
  console.log(summarizeHeap(file, Number(top)));
}
