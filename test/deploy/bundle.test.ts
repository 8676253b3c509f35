/**
 * The bundle scripts/build.sh makes (dist/) and the image ships without node_modules: what it
 * holds, and that it runs from a copy with no node_modules anywhere above it, `sync` end to end
 * into `dns`, while `dns` never loads the chunk holding the Kubernetes client (~70 MiB of RSS
 * that `dns` has no use for; lib/app.ts imports the sync side lazily for that).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryUdp } from "../e2e/support.js";
import { service, slice } from "../kubernetes/objects.js";
import { DIST, distFiles, lockKeyOf, sourcesOf } from "../support/bundle.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { writeKubeconfig } from "../support/kubeconfig.js";
import { waitUntil } from "../support/wait.js";
import { freshChroot } from "../support/zk-chroot.js";
import { freePort } from "../support/zookeeper.js";
import { REPO } from "./manifests.js";

const ENTRY = "cmd/kube-zk-bridge.js";
const LOAD_LOG = fileURLToPath(new URL("../support/load-log.mjs", import.meta.url));
const CLIENT_NODE = "node_modules/@kubernetes/client-node";

const jsFiles = (dir: string) => distFiles(dir).filter((f) => f.endsWith(".js"));

/** The bundled files (relative to `dist`) that hold any of @kubernetes/client-node's code. */
const clientNodeChunks = (dist: string) =>
  jsFiles(dist).filter((f) =>
    sourcesOf(path.join(dist, f)).some((s) => lockKeyOf(s, path.dirname(dist)) === CLIENT_NODE),
  );

describe("the bundle in dist/", () => {
  it("is the entry point and its chunks, each with its source map, and nothing else", () => {
    const files = distFiles();
    const js = jsFiles(DIST);
    expect(js).toContain(ENTRY);
    expect(js.filter((f) => f !== ENTRY).every((f) => f.startsWith("chunks/"))).toBe(true);
    expect(files).toEqual([...js, ...js.map((f) => `${f}.map`)].sort());
  });

  it("holds production packages of package-lock.json only, no dev-only one", () => {
    const lock = JSON.parse(readFileSync(path.join(REPO, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const keys = new Set(
      jsFiles(DIST).flatMap((f) =>
        sourcesOf(path.join(DIST, f)).flatMap((s) => lockKeyOf(s, REPO) ?? []),
      ),
    );
    expect(keys).toContain(CLIENT_NODE);
    expect(keys).toContain("node_modules/node-zookeeper-client");
    expect(
      [...keys].filter((k) => !lock.packages[k]),
      "not in package-lock.json",
    ).toEqual([]);
    expect(
      [...keys].filter((k) => lock.packages[k]?.dev),
      "dev-only",
    ).toEqual([]);
  });
});

describe("copied without node_modules, as the image runs it", () => {
  let root: string;
  let dist: string;
  let api: FakeApiServer | undefined;
  const procs: ChildProcess[] = [];

  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), "kzb-image-"));
    dist = path.join(root, "dist");
    cpSync(DIST, dist, { recursive: true });
    cpSync(path.join(REPO, "package.json"), path.join(root, "package.json"));
    for (let d = root; d !== path.dirname(d); d = path.dirname(d)) {
      expect(existsSync(path.join(d, "node_modules")), `${d}/node_modules`).toBe(false);
    }
  });

  afterAll(async () => {
    await Promise.all(
      procs.map((p) =>
        p.exitCode === null && p.signalCode === null
          ? new Promise((r) => p.once("exit", r).kill("SIGKILL"))
          : undefined,
      ),
    );
    await api?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** The copied bridge with flags, its loaded modules logged to `<root>/<name>.loads`. */
  function bridge(name: string, args: string[]) {
    const loads = path.join(root, `${name}.loads`);
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith("KZB_") && k !== "NODE_PATH"),
    );
    const p = spawn(process.execPath, ["--import", LOAD_LOG, path.join(dist, ENTRY), ...args], {
      cwd: root,
      env: { ...env, LOAD_LOG_FILE: loads },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    p.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    procs.push(p);
    return {
      stderr: () => stderr,
      /** Bundled files (relative to the copied dist/) this process has loaded. */
      loaded: () =>
        readFileSync(loads, "utf8")
          .split("\n")
          .filter((u) => u.startsWith(pathToFileURL(dist).href))
          .map((u) => path.relative(dist, fileURLToPath(u))),
    };
  }

  it("prints its version, read from package.json next to dist/", () => {
    const r = spawnSync(process.execPath, [path.join(dist, ENTRY), "--version"], {
      cwd: root,
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe(
      `kube-zk-bridge ${JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")).version}`,
    );
  });

  it("`sync` registers the cluster's endpoints and `dns` answers them without the Kubernetes client", async () => {
    const zk = await freshChroot();
    api = await FakeApiServer.start();
    api.apply(service("shop", "web"));
    api.apply(
      slice("shop", "web-a", "web", { endpoints: [{ address: "10.0.0.1", pod: "web-1" }] }),
    );
    const kubeconfig = await writeKubeconfig(api.url);
    const dnsPort = await freePort();
    const sync = bridge("sync", [
      "sync",
      ...["--zk-connect", zk, "--kubeconfig", kubeconfig],
      ...["--http-listen", `127.0.0.1:${await freePort()}`],
    ]);
    const dns = bridge("dns", [
      "dns",
      ...["--zk-connect", zk, "--dns-listen", `127.0.0.1:${dnsPort}`],
      ...["--http-listen", `127.0.0.1:${await freePort()}`],
    ]);
    const answer = await waitUntil("dns answers web.shop from what sync wrote", async () => {
      const reply = await queryUdp(dnsPort, "web.shop.zk.internal", "A");
      return reply?.answers?.some((a) => a.type === "A" && a.data === "10.0.0.1")
        ? reply
        : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\nsync: ${sync.stderr()}\ndns: ${dns.stderr()}`);
    });
    expect(answer.rcode).toBe("NOERROR");

    const k8s = clientNodeChunks(dist);
    expect(k8s.length).toBeGreaterThan(0);
    expect(sync.loaded().filter((f) => k8s.includes(f))).not.toEqual([]);
    expect(dns.loaded().length).toBeGreaterThan(1);
    expect(dns.loaded().filter((f) => k8s.includes(f))).toEqual([]);
  });
});
