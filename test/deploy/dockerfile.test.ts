/**
 * The Dockerfile, checked without a Docker engine: parsed by dockerfile-ast (the parser of
 * the Docker language server), then held to what the image must be: multi-stage, built by the
 * same scripts/build.sh as `npm run build` and the tests, the bundle and package.json only (no
 * node_modules: test/deploy/bundle.test.ts runs the bundle without them), a numeric non-root
 * user, no HEALTHCHECK, and the DNS/HTTP ports the CLI listens on by default.
 */
import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { DockerfileParser, type Instruction, type JSONInstruction } from "dockerfile-ast";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { parseCommandLine } from "../../lib/config.js";
import { DIST, distFiles, sourcesOf } from "../support/bundle.js";
import { REPO } from "./manifests.js";

interface Stage {
  readonly name: string | undefined;
  /** The base image with ARG defaults substituted. */
  readonly image: string;
  readonly instructions: readonly Instruction[];
}

const text = readFileSync(path.join(REPO, "Dockerfile"), "utf8");
const dockerfile = DockerfileParser.parse(text);
const pkg = JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as {
  version: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
};

function stages(): Stage[] {
  const args = new Map<string, string>();
  for (const a of dockerfile.getInitialARGs()) {
    const p = a.getProperty();
    if (p?.getName()) args.set(p.getName(), p.getValue() ?? "");
  }
  const out: Array<{ name: string | undefined; image: string; instructions: Instruction[] }> = [];
  for (const i of dockerfile.getInstructions()) {
    if (i.getKeyword() === "FROM") {
      const from = dockerfile
        .getFROMs()
        .find((f) => f.getRange().start.line === i.getRange().start.line);
      const image = (from?.getImage() ?? "").replace(
        /\$\{(\w+)\}|\$(\w+)/g,
        (_, a, b) => args.get(a ?? b) ?? "",
      );
      out.push({ name: from?.getBuildStage() ?? undefined, image, instructions: [] });
    } else out.at(-1)?.instructions.push(i);
  }
  return out;
}

const words = (i: Instruction) => i.getArguments().map((a) => a.getValue());
const runs = (s: Stage) =>
  s.instructions.filter((i) => i.getKeyword() === "RUN").map((i) => words(i).join(" "));
const copyFrom = (i: Instruction) =>
  (i as unknown as { getFromFlag(): { getValue(): string } | null }).getFromFlag()?.getValue();
const json = (i: Instruction | undefined) =>
  (i as JSONInstruction | undefined)?.getJSONStrings().map((s) => s.getJSONValue()) ?? [];

const all = stages();
const final = all.at(-1) as Stage;
const finalCopies = final.instructions.filter((i) => i.getKeyword() === "COPY");
const copiedFrom = (what: string) => {
  const copy = finalCopies.find((c) => words(c)[0]?.endsWith(what));
  const stage = all.find((s) => s.name === (copy && copyFrom(copy)));
  return { copy, stage };
};

describe("Dockerfile", () => {
  it("is multi-stage on a supported Node LTS (22 or newer, an even major)", () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    for (const s of all) {
      const major = Number(/^node:(\d+)(?:[.-]|$)/.exec(s.image)?.[1]);
      expect(major, s.image).toBeGreaterThanOrEqual(22);
      expect(major % 2, `${s.image}: odd Node majors are never LTS`).toBe(0);
    }
  });

  it("builds dist/ with scripts/build.sh, the build the tests run", () => {
    const { copy, stage } = copiedFrom("/dist");
    expect(copy, "the final stage copies dist/ from a build stage").toBeDefined();
    expect(stage, "that stage exists").toBeDefined();
    const build = runs(stage as Stage);
    expect(build.some((r) => /(^|\s)(bash\s+)?(\.\/)?scripts\/build\.sh(\s|$)/.test(r))).toBe(true);
    // One way to build: no stage compiles or bundles on its own.
    expect(all.flatMap(runs).filter((r) => /\b(tsc|esbuild)\b/.test(r))).toEqual([]);
  });

  it("ships the bundle (dist/) and package.json from the build stage, no node_modules", () => {
    const build = copiedFrom("/dist").stage?.name;
    const shipped = finalCopies.map((c) => `${copyFrom(c)}:${words(c)[0]}`).sort();
    expect(shipped).toEqual([`${build}:/src/dist`, `${build}:/src/package.json`]);
    // Nothing installed into the runtime stage either: the bundle holds every dependency.
    expect(runs(final)).toEqual([]);
  });

  it("runs as a numeric non-root user, so Kubernetes' runAsNonRoot can verify it", () => {
    const users = final.instructions
      .filter((i) => i.getKeyword() === "USER")
      .map((i) => words(i).join(" "));
    expect(users.length).toBeGreaterThan(0);
    const [uid, gid] = (users.at(-1) as string).split(":");
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    if (gid !== undefined) expect(Number(gid)).toBeGreaterThan(0);
  });

  it("has no HEALTHCHECK (the kubelet probes /healthz and /readyz)", () => {
    expect(dockerfile.getInstructions().filter((i) => i.getKeyword() === "HEALTHCHECK")).toEqual(
      [],
    );
  });

  it("exposes the CLI's default DNS (UDP and TCP) and HTTP ports", () => {
    const { config } = parseCommandLine(["run"], {});
    const exposed = final.instructions
      .filter((i) => i.getKeyword() === "EXPOSE")
      .flatMap(words)
      .map((p) => (p.includes("/") ? p : `${p}/tcp`))
      .sort();
    expect(exposed).toEqual(
      [
        `${config.dnsListen.port}/tcp`,
        `${config.dnsListen.port}/udp`,
        `${config.httpListen.port}/tcp`,
      ].sort(),
    );
  });

  it("starts package.json's bin with `run` (what the Deployment runs)", () => {
    const entrypoint = json(final.instructions.find((i) => i.getKeyword() === "ENTRYPOINT"));
    expect(entrypoint[0]).toBe("node");
    expect(entrypoint.at(-1)).toBe(path.normalize(pkg.bin["kube-zk-bridge"] as string));
    expect(json(final.instructions.find((i) => i.getKeyword() === "CMD"))).toEqual(["run"]);
    // package.json next to dist/: "type": "module" for dist/*.js, and --version reads it.
    expect(copiedFrom("package.json").copy).toBeDefined();
  });

  it("gets every build input into the build context (.dockerignore) and no local build output", () => {
    const ignored = readFileSync(path.join(REPO, ".dockerignore"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    expect(ignored).toEqual(expect.arrayContaining(["node_modules", "dist"]));
    // Our sources in the bundle (from its source maps), by top-level directory.
    const sourceDirs = distFiles()
      .filter((f) => f.endsWith(".js"))
      .flatMap((f) => sourcesOf(path.join(DIST, f)))
      .map((s) => path.relative(REPO, s).split(path.sep)[0] as string)
      .filter((d) => d !== "node_modules");
    expect(sourceDirs).toContain("lib");
    const inputs = [
      ...new Set(sourceDirs),
      "scripts",
      "package.json",
      "package-lock.json",
      "tsconfig.json",
    ];
    const excluded = inputs.filter((i) =>
      ignored.some((p) => i === p || i.startsWith(`${p}/`) || p === "*"),
    );
    expect(excluded).toEqual([]);
  });
});

describe("the build script", () => {
  it("is what `npm run build` runs, so tests and image build the same way", () => {
    expect(existsSync(path.join(REPO, "scripts/build.sh"))).toBe(true);
    expect(pkg.scripts.build).toMatch(/(^|\s)(bash\s+)?(\.\/)?scripts\/build\.sh(\s|$)/);
  });
});

// ── the entry point's import graph: what the bundle may hold ──

const BUILTINS = new Set(builtinModules);

/** Value (not type-only) imports and dynamic imports of one source file. */
function runtimeImports(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if (
      ts.isImportDeclaration(n) &&
      ts.isStringLiteral(n.moduleSpecifier) &&
      !n.importClause?.isTypeOnly
    ) {
      const named = n.importClause?.namedBindings;
      const onlyTypes =
        n.importClause &&
        !n.importClause.name &&
        named &&
        ts.isNamedImports(named) &&
        named.elements.length > 0 &&
        named.elements.every((e) => e.isTypeOnly);
      if (!onlyTypes) out.push(n.moduleSpecifier.text);
    } else if (
      ts.isExportDeclaration(n) &&
      n.moduleSpecifier &&
      ts.isStringLiteral(n.moduleSpecifier) &&
      !n.isTypeOnly
    ) {
      out.push(n.moduleSpecifier.text);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = n.arguments;
      if (arg && ts.isStringLiteral(arg)) out.push(arg.text);
      else out.push("(a computed import)");
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** Packages reached from `entry` through relative imports (`.js` specifiers map to `.ts` sources). */
function packagesReachedFrom(entry: string): Map<string, string> {
  const reached = new Map<string, string>();
  const seen = new Set<string>();
  const queue = [entry];
  for (let file = queue.pop(); file; file = queue.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of runtimeImports(file)) {
      if (spec.startsWith(".")) {
        const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, ".ts"));
        queue.push(target);
      } else {
        const name = spec.startsWith("@")
          ? spec.split("/").slice(0, 2).join("/")
          : (spec.split("/")[0] as string);
        if (!reached.has(name)) reached.set(name, path.relative(REPO, file));
      }
    }
  }
  return reached;
}

// The bundle holds what the entry point imports: declared production dependencies only.
it("the entry point imports only Node built-ins and production dependencies", () => {
  const reached = packagesReachedFrom(path.join(REPO, "cmd/kube-zk-bridge.ts"));
  expect(reached.size).toBeGreaterThan(0);
  const missing = [...reached]
    .filter(([name]) => !BUILTINS.has(name.replace(/^node:/, "")) && !(name in pkg.dependencies))
    .map(([name, from]) => `${name} (imported by ${from})`);
  expect(missing).toEqual([]);
});
