/**
 * The read side, wired: ZooKeeper watches → catalog snapshot → DNS server on UDP and TCP.
 */
import { Catalog } from "./catalog/catalog.js";
import type { Config, ListenAddress } from "./config.js";
import { DnsServer } from "./dns/server.js";
import type { ReadinessPart } from "./http/server.js";
import type { Logger } from "./log.js";
import type { Metrics } from "./metrics.js";
import type { Registration } from "./registration.js";
import type { ZkSession } from "./zookeeper/session.js";

export interface DnsSide {
  readonly catalog: Catalog;
  readonly server: DnsServer;
  readiness(): Record<string, ReadinessPart>;
  registrations(): { stale_seconds: number; instances: Registration[] };
  close(): Promise<void>;
}

export function formatListen(a: ListenAddress): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** The catalog of everything registered under both base paths, as `config` says. */
export function createCatalog(
  config: Config,
  session: ZkSession,
  logger: Logger,
  metrics?: Metrics,
): Catalog {
  return new Catalog({
    session,
    basePath: config.basePath,
    serversetBasePath: config.serversetBasePath,
    snapshot: { zone: config.zone, ttl: config.dnsTtlSeconds },
    serveStaleMs: config.dnsServeStaleMs,
    logger,
    ...(metrics ? { metrics } : {}),
  });
}

export async function startDnsSide(deps: {
  config: Config;
  session: ZkSession;
  logger: Logger;
  metrics: Metrics;
}): Promise<DnsSide> {
  const { config, session, metrics } = deps;
  const logger = deps.logger.child({ component: "dns" });
  const catalog = createCatalog(config, session, logger, metrics);
  const server = new DnsServer({
    listen: formatListen(config.dnsListen),
    zone: config.zone,
    source: catalog,
    metrics,
    logger,
  });
  await server.start();
  catalog.start();
  return {
    catalog,
    server,
    readiness() {
      const zk = session.state === "connected";
      return {
        // The DNS side may run on stale data within serve-stale: ZooKeeper readiness follows it.
        zookeeper: {
          ready: zk || catalog.current() !== undefined,
          detail: zk ? "connected" : `session ${session.state}`,
        },
        catalog: catalog.readiness(),
        dns: {
          ready: server.listening,
          detail: server.listening
            ? `listening on ${formatListen(config.dnsListen)}`
            : "not listening",
        },
      };
    },
    registrations: () => ({
      stale_seconds: catalog.staleSeconds(),
      instances: catalog.registrations(),
    }),
    async close() {
      await catalog.close();
      await server.close();
    },
  };
}
