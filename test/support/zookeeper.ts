/**
 * A real ZooKeeper 3.8 (Debian's `zookeeper` package) on a free loopback port, for tests,
 * benchmarks and `demo`. Nothing here is mocked: the JVM runs ZooKeeperServerMain with its own
 * dataDir, and `stop()` kills it by PID.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

const ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar";
const LOG_CONF = "/etc/zookeeper/conf";

export interface ZooKeeperServer {
  /** `127.0.0.1:<port>` */
  readonly connect: string;
  readonly port: number;
  readonly dataDir: string;
  /** Kill the JVM (SIGKILL) and wait for the port to close. Data is kept for `start()`. */
  kill(): Promise<void>;
  /** Start again on the same port with the same data (sessions survive if within timeout). */
  start(): Promise<void>;
  /** Kill and remove the data directory. */
  stop(): Promise<void>;
}

export interface ZooKeeperOptions {
  /** Default 0: pick a free port. */
  port?: number;
  /** ZooKeeper tick; sessions may range from 2 to 60 ticks. Default 250 ms (0.5 s – 15 s). */
  tickMs?: number;
  /** Where to keep data; default a fresh temp directory. */
  dataDir?: string;
  /**
   * The JVM's heap, GC and JIT flags. Default TEST_JVM: quick to start and small, for tests;
   * benchmarks pass ZooKeeper's own server defaults (bench/support/zookeeper.ts).
   */
  jvmFlags?: readonly string[];
}

/** Starts in about a second and stays small: C1 only, serial GC, 512 MiB at most. */
export const TEST_JVM = ["-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"];

export function zooKeeperInstalled(): boolean {
  return existsSync(ZOOKEEPER_JAR);
}

/** A port nobody listens on right now (bind to 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** ZooKeeper's own `ruok` four-letter word: true once the server answers `imok`. */
export async function ruok(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.on("connect", () => sock.write("ruok"));
    sock.on("data", (d) => {
      reply += d.toString();
    });
    sock.on("end", () => done(reply === "imok"));
    sock.on("error", () => done(false));
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export async function startZooKeeper(opts: ZooKeeperOptions = {}): Promise<ZooKeeperServer> {
  if (!zooKeeperInstalled()) {
    throw new Error(
      `ZooKeeper is not installed (${ZOOKEEPER_JAR} missing): run scripts/install-deps.sh (apt-get install zookeeper)`,
    );
  }
  const port = opts.port || (await freePort());
  const dataDir = opts.dataDir ?? (await mkdtemp(path.join(tmpdir(), "kzb-zk-")));
  await mkdir(dataDir, { recursive: true });
  const tick = opts.tickMs ?? 250;
  const cfg = path.join(dataDir, "zoo.cfg");
  await writeFile(
    cfg,
    [
      `tickTime=${tick}`,
      `dataDir=${path.join(dataDir, "data")}`,
      `clientPort=${port}`,
      "clientPortAddress=127.0.0.1",
      `minSessionTimeout=${2 * tick}`,
      `maxSessionTimeout=${Math.max(60 * tick, 30_000)}`,
      "maxClientCnxns=0",
      "admin.enableServer=false",
      "4lw.commands.whitelist=*",
      "autopurge.purgeInterval=0",
      "",
    ].join("\n"),
  );

  let proc: ChildProcess | undefined;
  const start = async () => {
    const child = spawn(
      "java",
      [
        ...(opts.jvmFlags ?? TEST_JVM),
        "-Dzookeeper.log.threshold=WARN",
        "-Dzookeeper.root.logger=WARN,CONSOLE",
        "-Dzookeeper.console.threshold=WARN",
        "-Dzookeeper.jmx.log4j.disable=true",
        "-cp",
        `${LOG_CONF}:${ZOOKEEPER_JAR}`,
        "org.apache.zookeeper.server.ZooKeeperServerMain",
        cfg,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    proc = child;
    let exited = false;
    child.once("exit", () => {
      exited = true;
    });
    await waitFor(
      `ZooKeeper on 127.0.0.1:${port}`,
      async () => {
        if (exited) throw new Error(`ZooKeeper exited at start: ${stderr}`);
        return ruok(port);
      },
      30_000,
    );
  };
  const kill = async () => {
    const child = proc;
    proc = undefined;
    if (!child || child.exitCode !== null) return;
    const gone = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await gone;
  };

  await start();
  return {
    connect: `127.0.0.1:${port}`,
    port,
    dataDir,
    kill,
    start,
    async stop() {
      await kill();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
