/**
 * A real Apache Curator 5.4 client (test/java/CuratorProbe.java, Debian's jars) driven from
 * tests: what Curator writes, what Curator and Spring Cloud Zookeeper readers make of a tree,
 * and a self-registered Curator instance. Compiled on first use into test/java/classes/
 * (gitignored), keyed by a hash of the sources, so a run compiles at most once.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const JAVA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../java");
const PROBE_SOURCE = path.join(JAVA_DIR, "CuratorProbe.java");
const SPRING_SOURCE = path.join(
  JAVA_DIR,
  "spring/org/springframework/cloud/zookeeper/discovery/ZookeeperInstance.java",
);
const CLASSES_DIR = path.join(JAVA_DIR, "classes");

/** Debian packages: libcurator-discovery-java (+ its deps), libslf4j-java, default-jdk-headless. */
const SHARE = "/usr/share/java";
const COMPILE_JARS = [
  "curator-x-discovery",
  "curator-framework",
  "curator-client",
  "zookeeper",
  "zookeeper-jute",
  "jackson-databind",
  "jackson-core",
  "jackson-annotations",
  "guava",
  "slf4j-api",
].map((j) => path.join(SHARE, `${j}.jar`));
/** slf4j-nop keeps Curator's and ZooKeeper's logging off the probe's stdout/stderr. */
const RUN_JARS = [...COMPILE_JARS, path.join(SHARE, "slf4j-nop.jar")];
const JVM_FLAGS = ["-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto"];

export type CuratorReadMode = "spring" | "plain";

/** One instance as the Curator reader returned it (after Spring's status filter in `spring` mode). */
export interface CuratorReadInstance {
  id: string;
  name: string;
  address: string;
  port: number | null;
  sslPort: number | null;
  enabled: boolean;
  /** `ServiceInstance#buildUriSpec()`: what Spring's `getUri()` returns. */
  uri: string;
  /** `spring` mode: the port Spring connects to (sslPort if set, else port). */
  springPort?: number;
  /** `spring` mode: the host of Spring's `getUri()` (null if the URI has none). */
  springUriHost?: string | null;
  /** `plain` mode: the Java class the payload was read as, if any. */
  payloadClass?: string;
  /** `spring` mode: the payload's metadata (null if the payload was null). */
  metadata: Record<string, string> | null;
}

export type CuratorReadResult =
  | { ok: true; instances: CuratorReadInstance[] }
  | { ok: false; error: string };

interface Compiled {
  core: string;
  spring: string;
}

let compiled: Promise<Compiled> | undefined;

/** Compile the probe once per content hash; concurrent test workers race safely via rename. */
export function compileCuratorProbe(): Promise<Compiled> {
  compiled ??= (async () => {
    const missing = RUN_JARS.filter((j) => !existsSync(j));
    if (missing.length > 0) {
      throw new Error(
        `Curator probe: missing ${missing.join(", ")}; run scripts/install-deps.sh (libcurator-discovery-java libslf4j-java default-jdk-headless)`,
      );
    }
    const hash = createHash("sha256");
    for (const f of [PROBE_SOURCE, SPRING_SOURCE]) hash.update(await readFile(f));
    const dir = path.join(CLASSES_DIR, hash.digest("hex").slice(0, 16));
    const result = { core: path.join(dir, "core"), spring: path.join(dir, "spring") };
    if (!existsSync(path.join(result.core, "CuratorProbe.class"))) await compileInto(dir);
    // Classes of earlier source versions are dead weight.
    for (const entry of await readdir(CLASSES_DIR)) {
      if (!entry.startsWith(".") && entry !== path.basename(dir)) {
        await rm(path.join(CLASSES_DIR, entry), { recursive: true, force: true });
      }
    }
    return result;
  })();
  compiled.catch(() => {
    compiled = undefined;
  });
  return compiled;
}

/** javac into a private temp dir, then one atomic rename: concurrent workers never see half a build. */
async function compileInto(dir: string): Promise<void> {
  const tmp = path.join(CLASSES_DIR, `.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  await mkdir(tmp, { recursive: true });
  try {
    await run("javac", ["-nowarn", "-d", path.join(tmp, "spring"), SPRING_SOURCE]);
    await run("javac", [
      "-nowarn",
      "-cp",
      COMPILE_JARS.join(":"),
      "-d",
      path.join(tmp, "core"),
      PROBE_SOURCE,
    ]);
    await rename(tmp, dir).catch((err: NodeJS.ErrnoException) => {
      // Another worker finished first: its classes are the same.
      if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { encoding: "buffer", timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`${cmd} ${args[0] ?? ""} failed: ${err.message}\n${stderr.toString()}`));
        } else resolve(stdout);
      },
    );
  });
}

/** Classpath: Spring's payload class only for Spring-style reading and writing. */
async function classpath(withSpring: boolean): Promise<string> {
  const c = await compileCuratorProbe();
  return [c.core, ...(withSpring ? [c.spring] : []), ...RUN_JARS].join(":");
}

export interface CuratorSerializeInput {
  payload: "spring" | "none";
  name: string;
  id: string;
  address: string;
  port: number;
  registrationTimeUTC: number;
  /** Curator UriSpec template, or null for `"uriSpec":null`. */
  uriSpec: string | null;
  /** Spring payload metadata, written in this order. */
  metadata?: readonly (readonly [string, string])[];
}

/** The exact bytes Curator 5.4's JsonInstanceSerializer writes for this instance. */
export async function curatorSerialize(i: CuratorSerializeInput): Promise<Buffer> {
  const cp = await classpath(i.payload === "spring");
  return run("java", [
    ...JVM_FLAGS,
    "-cp",
    cp,
    "CuratorProbe",
    "serialize",
    i.payload,
    i.name,
    i.id,
    i.address,
    String(i.port),
    String(i.registrationTimeUTC),
    i.uriSpec ?? "-",
    ...(i.metadata ?? []).map(([k, v]) => `${k}=${v}`),
  ]);
}

/**
 * Curator 5 `ServiceDiscovery.queryForInstances(service)` under `basePath`. `spring`: Spring
 * Cloud Zookeeper's view (its payload class; drops instances whose `instance_status` is set
 * and not UP). `plain`: payload class Object and no Spring class on the classpath.
 * A reader failure (Curator throws for the whole service) is `{ ok: false }`, not a rejection.
 */
export async function curatorRead(
  connect: string,
  basePath: string,
  service: string,
  mode: CuratorReadMode,
): Promise<CuratorReadResult> {
  const cp = await classpath(mode === "spring");
  const args = [...JVM_FLAGS, "-cp", cp, "CuratorProbe", "read", connect, basePath, service, mode];
  return new Promise((resolve, reject) => {
    execFile("java", args, { timeout: 60_000 }, (err, stdout, stderr) => {
      const lines = stdout.split("\n").filter((l) => l.trim() !== "");
      const parsed = lines.map((l) => JSON.parse(l) as CuratorReadInstance | { error: string });
      const failure = parsed.find((p): p is { error: string } => "error" in p);
      if (failure) return resolve({ ok: false, error: failure.error });
      if (err) return reject(new Error(`curator read probe failed: ${err.message}\n${stderr}`));
      resolve({ ok: true, instances: parsed as CuratorReadInstance[] });
    });
  });
}

/** A probe process that registered a node and holds its ZooKeeper session. */
export interface HeldRegistration {
  /** The node's path, relative to the connect string's chroot. */
  readonly path: string;
  readonly pid: number;
  /** SIGTERM: Curator unregisters and closes its session; the node goes at once. */
  stop(): Promise<void>;
  /** SIGKILL: the node stays until ZooKeeper expires the session. */
  kill(): Promise<void>;
}

export type CuratorRegistration = HeldRegistration;

export interface CuratorRegisterOptions {
  /** Payload style of the registered instance; default `none`. */
  payload?: "spring" | "none";
  /** Requested session timeout; default 5000 ms (the server may clamp it). */
  sessionTimeoutMs?: number;
}

/** Register an instance with a real Curator ServiceDiscovery and hold its session. */
export async function curatorRegister(
  connect: string,
  basePath: string,
  service: string,
  id: string,
  address: string,
  port: number,
  opts: CuratorRegisterOptions = {},
): Promise<CuratorRegistration> {
  const payload = opts.payload ?? "none";
  const cp = await classpath(payload === "spring");
  const child = spawn(
    "java",
    [
      ...JVM_FLAGS,
      "-cp",
      cp,
      "CuratorProbe",
      "register",
      connect,
      basePath,
      service,
      id,
      address,
      String(port),
      payload,
      String(opts.sessionTimeoutMs ?? 5000),
    ],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  const registered = await firstLine(child, "registered", 60_000);
  return heldProcess(child, registered);
}

/** Wait for the child's first JSON stdout line and return its `key`; kill the child on failure. */
export async function firstLine(child: ChildProcess, key: string, timeoutMs: number) {
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no "${key}" line in ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`probe exited (${code}) before "${key}": ${stderr}`));
      });
      lines.once("line", (line) => {
        clearTimeout(timer);
        const msg = JSON.parse(line) as Record<string, unknown>;
        const value = msg[key];
        if (typeof value === "string") resolve(value);
        else reject(new Error(`probe said ${line}; stderr: ${stderr}`));
      });
    });
  } catch (err) {
    if (child.exitCode === null) child.kill("SIGKILL");
    throw err;
  } finally {
    lines.close();
    child.stdout?.resume(); // never let a full pipe block the probe
  }
}

/** A probe holding a ZooKeeper session until stopped (SIGTERM) or killed (SIGKILL), by PID. */
export function heldProcess(child: ChildProcess, nodePath: string): HeldRegistration {
  const pid = child.pid;
  if (pid === undefined) throw new Error("probe has no pid");
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  const signal = async (sig: NodeJS.Signals) => {
    if (running()) process.kill(pid, sig);
    const timer = setTimeout(() => {
      // A JVM stuck in its shutdown hook must not outlive the test.
      if (running()) process.kill(pid, "SIGKILL");
    }, 15_000);
    await exited;
    clearTimeout(timer);
  };
  return { path: nodePath, pid, stop: () => signal("SIGTERM"), kill: () => signal("SIGKILL") };
}
