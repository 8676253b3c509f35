/**
 * `run`, `sync` and `dns`: builds the stages from a Config, starts them, and on SIGTERM/SIGINT
 * stops them in reverse order. Wiring only; every stage lives in its own module.
 */
import { hostname } from "node:os";
import type { Command, Config } from "./config.js";
import { type DnsSide, startDnsSide } from "./dns-side.js";
import { buildHttp, type ReadinessPart } from "./http/server.js";
import { createLogger, type Logger } from "./log.js";
import { createMetrics, type Metrics } from "./metrics.js";
import type { SyncSide } from "./sync-side.js";
import { ZkSession } from "./zookeeper/session.js";

/** SIGTERM must end the process within this, whatever hangs (contract: exit 0 within 5 s). */
const SHUTDOWN_DEADLINE_MS = 4500;

export interface Bridge {
  readonly session: ZkSession;
  readonly metrics: Metrics;
  readonly sync: SyncSide | undefined;
  readonly dns: DnsSide | undefined;
  /** Graceful stop: hand leadership over, close the session (ephemerals vanish), stop listeners. */
  close(): Promise<void>;
}

/** Starts the stages a command needs; resolves once everything listens. */
export async function startBridge(
  command: Exclude<Command, "ls" | "demo">,
  config: Config,
  logger: Logger,
): Promise<Bridge> {
  const metrics = createMetrics();
  const session = new ZkSession({
    connect: config.zkConnect,
    sessionTimeoutMs: config.zkSessionTimeoutMs,
    auth: config.zkAuth,
    logger: logger.child({ component: "zookeeper" }),
  });
  session.on("state", (state) => {
    for (const s of ["connecting", "connected", "disconnected", "closed"]) {
      metrics.zkSessionState.set({ state: s }, s === state ? 1 : 0);
    }
  });
  session.on("session", () => metrics.zkSessionsStarted.inc());

  // The pod name (Downward API or the container's hostname): stable across container restarts.
  const identity = process.env.POD_NAME ?? process.env.HOSTNAME ?? hostname();
  // Loaded only when needed: the Kubernetes client alone is ~70 MiB of RSS that `dns` never uses.
  const sync =
    command === "dns"
      ? undefined
      : await (await import("./sync-side.js")).startSyncSide({
          config,
          session,
          logger,
          metrics,
          identity,
        });
  const dns =
    command === "sync" ? undefined : await startDnsSide({ config, session, logger, metrics });

  const http = buildHttp({
    // Alive while the reconcile loop is not wedged and the DNS listeners are bound.
    alive: () => !(sync?.syncer.stalled() ?? false) && (dns?.server.listening ?? true),
    readiness: () => {
      const parts: Record<string, ReadinessPart> = {};
      if (!dns) {
        const connected = session.state === "connected";
        parts.zookeeper = {
          ready: connected,
          detail: connected ? "connected" : `session ${session.state}`,
        };
      }
      Object.assign(parts, sync?.readiness() ?? {}, dns?.readiness() ?? {});
      return parts;
    },
    registrations: () => dns?.registrations() ?? { instances: sync?.owned() ?? [] },
    metrics: metrics.registry,
  });
  await http.listen({ host: config.httpListen.host, port: config.httpListen.port });
  void session.start();
  logger.info(
    { command, http: config.httpListen, dns: dns ? config.dnsListen : undefined },
    "kube-zk-bridge started",
  );

  return {
    session,
    metrics,
    sync,
    dns,
    async close() {
      await sync?.handOver();
      await dns?.catalog.close(); // keep answering from the last snapshot; stop reading
      await session.close();
      await dns?.close();
      await sync?.close();
      await http.close();
    },
  };
}

/** Runs until SIGTERM/SIGINT; the exit code. */
export async function runBridge(
  command: Exclude<Command, "ls" | "demo">,
  config: Config,
): Promise<number> {
  const logger = createLogger(config.logLevel);
  const bridge = await startBridge(command, config, logger);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  logger.info({ signal }, "shutting down");
  const deadline = setTimeout(() => {
    logger.error("shutdown did not finish in time; exiting");
    process.exit(0);
  }, SHUTDOWN_DEADLINE_MS);
  deadline.unref();
  await bridge.close();
  logger.info("stopped");
  return 0;
}
