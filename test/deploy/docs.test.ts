/**
 * The operator docs name only things that exist: every metric in the metrics catalogue, every
 * KZB_* variable a flag of the CLI, every annotation one the parser knows (and all of them are
 * documented), every relative link a file of the repository.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { envName, FLAGS } from "../../lib/config.js";
import { ANNOTATIONS } from "../../lib/kubernetes/annotations.js";
import { ANNOTATION_PREFIX } from "../../lib/kubernetes/objects.js";
import { createMetrics } from "../../lib/metrics.js";
import { REPO } from "./manifests.js";

const DOCS = path.join(REPO, "docs");
const docs = readdirSync(DOCS)
  .filter((f) => f.endsWith(".md"))
  .map((f) => ({ file: f, text: readFileSync(path.join(DOCS, f), "utf8") }));

describe("docs/", () => {
  it("exist", () => {
    expect(docs.map((d) => d.file).sort()).toEqual(
      expect.arrayContaining([
        "annotations.md",
        "coredns.md",
        "deploying.md",
        "migrating.md",
        "operating.md",
      ]),
    );
  });

  it("name only metrics the bridge exports", async () => {
    const exported = new Set(
      (await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name),
    );
    const named = new Set(
      docs.flatMap((d) => [...d.text.matchAll(/\bkzb_[a-z_]+/g)].map((m) => m[0])),
    );
    const unknown = [...named].filter((n) => !exported.has(n.replace(/_(bucket|sum|count)$/, "")));
    expect(named.size).toBeGreaterThan(5);
    expect(unknown).toEqual([]);
  });

  it("name only KZB_* variables the CLI reads", () => {
    const known = new Set(FLAGS.map((f) => envName(f.name)));
    const named = new Set(
      docs.flatMap((d) => [...d.text.matchAll(/\bKZB_[A-Z_]+\b/g)].map((m) => m[0])),
    );
    expect([...named].filter((n) => !known.has(n))).toEqual([]);
  });

  it("document every annotation, and only those", () => {
    const text = docs.find((d) => d.file === "annotations.md")?.text ?? "";
    const table = new Set(
      [...text.matchAll(/^\| `([a-z-]+)` *\|/gm)].map((m) => `${ANNOTATION_PREFIX}${m[1]}`),
    );
    expect([...table].sort()).toEqual(Object.values(ANNOTATIONS).sort());
    const used = new Set(
      docs.flatMap((d) => [...d.text.matchAll(/kube-zk-bridge\.io\/([a-z-]+)/g)].map((m) => m[0])),
    );
    const known = new Set<string>([...Object.values(ANNOTATIONS), `${ANNOTATION_PREFIX}cluster`]);
    expect([...used].filter((a) => !known.has(a))).toEqual([]);
  });

  it("link only to files that exist", () => {
    const broken: string[] = [];
    for (const d of docs) {
      for (const m of d.text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1] as string;
        if (/^[a-z]+:/.test(target)) continue;
        if (!existsSync(path.resolve(DOCS, target))) broken.push(`${d.file}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
