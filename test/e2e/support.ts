/**
 * What the end-to-end files share: the built binary started on free loopback ports, one DNS
 * query over UDP, and the fixture of a file that owns its ZooKeeper (tests kill and restart it).
 */
import type dnsPacket from "dns-packet";
import { afterAll, afterEach, beforeAll } from "vitest";
import type { ZkSession } from "../../lib/zookeeper/session.js";
import { type DecodedReply, decode, makeQuery, udpQuery } from "../dns/support.js";
import { type BridgeProcess, startCli } from "../support/cli.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { writeKubeconfig } from "../support/kubeconfig.js";
import { openSession } from "../support/session.js";
import { freePort, startZooKeeper, type ZooKeeperServer } from "../support/zookeeper.js";

export interface BridgeOptions {
  /** ZooKeeper connect string, chroot included. */
  readonly zkConnect: string;
  readonly kubeconfig: string;
  /** `--zk-session-timeout`, e.g. `6s`. */
  readonly sessionTimeout: string;
  /** More flags; they come last, so they win over the ones above. */
  readonly extra?: readonly string[];
  readonly env?: Record<string, string>;
}

export interface SyncBridge {
  readonly proc: BridgeProcess;
  /** `http://127.0.0.1:<port>` */
  readonly http: string;
}

export interface RunBridge extends SyncBridge {
  readonly dnsPort: number;
}

async function start(command: string, o: BridgeOptions, more: string[]): Promise<SyncBridge> {
  const httpPort = await freePort();
  const proc = startCli(
    [
      command,
      "--zk-connect",
      o.zkConnect,
      "--kubeconfig",
      o.kubeconfig,
      "--http-listen",
      `127.0.0.1:${httpPort}`,
      "--zk-session-timeout",
      o.sessionTimeout,
      ...more,
      ...(o.extra ?? []),
    ],
    o.env,
  );
  return { proc, http: `http://127.0.0.1:${httpPort}` };
}

/** `kube-zk-bridge run`, DNS and HTTP on free loopback ports; the caller stops it. */
export async function startRun(o: BridgeOptions): Promise<RunBridge> {
  const dnsPort = await freePort();
  return { ...(await start("run", o, ["--dns-listen", `127.0.0.1:${dnsPort}`])), dnsPort };
}

/** `kube-zk-bridge sync`, HTTP on a free loopback port; the caller stops it. */
export function startSync(o: BridgeOptions): Promise<SyncBridge> {
  return start("sync", o, []);
}

/** One UDP query to 127.0.0.1:`port`; the decoded reply, or undefined if none came in time. */
export async function queryUdp(
  port: number,
  name: string,
  type: dnsPacket.RecordType,
  timeoutMs = 500,
): Promise<DecodedReply | undefined> {
  const query = makeQuery(name, type, { rd: false });
  const reply = await udpQuery(port, query, timeoutMs).catch(() => undefined);
  return reply && decode(reply);
}

export interface OwnZooKeeper {
  /** The file's own ZooKeeper. */
  readonly zk: ZooKeeperServer;
  /** A session on it, to look at what the bridges wrote. */
  readonly obs: ZkSession;
  /** A fake API server for this test and a kubeconfig file pointing at it. */
  cluster(): Promise<{ api: FakeApiServer; kubeconfig: string }>;
  /** Like startRun, and SIGKILLed after the test. */
  run(o: BridgeOptions): Promise<RunBridge>;
  /** Like startSync, and SIGKILLed after the test. */
  sync(o: BridgeOptions): Promise<SyncBridge>;
}

/**
 * Registers the hooks of a file that owns its ZooKeeper: started (with an observer session)
 * before all tests, stopped after them; each test's bridges and API servers go after it.
 */
export function ownZooKeeper(): OwnZooKeeper {
  let zk: ZooKeeperServer | undefined;
  let obs: ZkSession | undefined;
  const procs: BridgeProcess[] = [];
  const apis: FakeApiServer[] = [];
  beforeAll(async () => {
    zk = await startZooKeeper();
    obs = await openSession(zk.connect, 10_000);
  });
  afterAll(async () => {
    await obs?.close();
    await zk?.stop();
  });
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop("SIGKILL")));
    await Promise.all(apis.splice(0).map((a) => a.close()));
  });
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error("ZooKeeper starts in beforeAll");
    return v;
  };
  const tracked = async <B extends SyncBridge>(b: Promise<B>): Promise<B> => {
    const bridge = await b;
    procs.push(bridge.proc);
    return bridge;
  };
  return {
    get zk() {
      return started(zk);
    },
    get obs() {
      return started(obs);
    },
    async cluster() {
      const api = await FakeApiServer.start();
      apis.push(api);
      return { api, kubeconfig: await writeKubeconfig(api.url) };
    },
    run: (o) => tracked(startRun(o)),
    sync: (o) => tracked(startSync(o)),
  };
}
