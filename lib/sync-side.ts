/**
 * The write side, wired: Kubernetes source → syncer (only while leader) → ZooKeeper registry.
 */
import type { Config } from "./config.js";
import type { ReadinessPart } from "./http/server.js";
import { loadKubeConfig } from "./kubernetes/kubeconfig.js";
import { KubernetesSource } from "./kubernetes/source.js";
import type { Logger } from "./log.js";
import type { Metrics } from "./metrics.js";
import { Syncer } from "./sync/syncer.js";
import { LeaderElection } from "./zookeeper/leader.js";
import { ZkRegistry } from "./zookeeper/registry.js";
import type { ZkSession } from "./zookeeper/session.js";

/** How long a resigning leader waits for a successor to adopt its nodes before closing. */
const HANDOVER_MS = 3000;

export interface SyncSide {
  readiness(): Record<string, ReadinessPart>;
  owned(): Array<{ path: string; owner: string }>;
  readonly election: LeaderElection;
  readonly syncer: Syncer;
  /** SIGTERM: leave the election; if another replica is there, wait until it adopted our nodes. */
  handOver(): Promise<void>;
  close(): Promise<void>;
}

export async function startSyncSide(deps: {
  config: Config;
  session: ZkSession;
  logger: Logger;
  metrics: Metrics;
  identity: string;
}): Promise<SyncSide> {
  const { config, session, metrics, identity } = deps;
  const logger = deps.logger.child({ component: "sync" });
  const source = new KubernetesSource({
    kubeConfig: loadKubeConfig(config.kubeconfig),
    namespaces: config.namespaces,
    endpointsApi: config.endpointsApi,
    clusterName: config.clusterName,
    serviceNameTemplate: config.serviceNameTemplate,
    defaultFormats: config.formats,
    basePath: config.basePath,
    serversetBasePath: config.serversetBasePath,
    logger: deps.logger,
    metrics,
  });
  const registry = new ZkRegistry({
    session,
    clusterName: config.clusterName,
    basePath: config.basePath,
    serversetBasePath: config.serversetBasePath,
    curatorPayload: config.curatorPayload,
    logger,
    metrics,
  });
  const election = new LeaderElection({
    session,
    clusterName: config.clusterName,
    logger,
    identity,
  });
  election.on("change", (leader) => metrics.leader.set(leader ? 1 : 0));
  const syncer = new Syncer({
    source,
    registry,
    session,
    logger,
    metrics,
    dryRun: config.dryRun,
    gate: election,
  });

  await source.start();
  election.start();
  syncer.start();

  let lastProgressLog = "";
  // Long work says how far it has got: the Kubernetes list, then the writing of a full pass.
  const progressTimer = setInterval(() => {
    const p = source.progress();
    const written = syncer.status().progress;
    let line = "";
    if (!p.synced) {
      line = `initial sync: ${p.services} services, ${p.endpoints} endpoints listed`;
      if (line !== lastProgressLog) logger.info({ ...p, informers: undefined }, line);
    } else if (written) {
      line = `reconcile: ${written.done} of ${written.total} registrations written`;
      if (line !== lastProgressLog) logger.info(written, line);
    }
    lastProgressLog = line;
  }, 2000);

  return {
    election,
    syncer,
    readiness() {
      const p = source.progress();
      const parts: Record<string, ReadinessPart> = {
        // Once the first full list is done a routine informer restart (relist) must not flap
        // readiness; deletes stay gated on synced() meanwhile.
        kubernetes: {
          ready: p.initialSyncDone,
          detail: `${p.synced ? "synced" : p.initialSyncDone ? "relisting" : "initial list"}: ${p.services} services, ${p.endpoints} endpoints`,
        },
      };
      if (election.isLeader()) {
        const s = syncer.status();
        parts.registry = {
          ready: s.inSync,
          detail: s.inSync
            ? `${s.owned} registrations`
            : s.progress
              ? `reconcile under way: ${s.progress.done} of ${s.progress.total} registrations written`
              : (s.lastError ?? "initial reconcile under way"),
        };
      }
      return parts;
    },
    owned: () => syncer.ownedNodes().map((n) => ({ path: n.path, owner: n.owner })),
    async handOver() {
      const wasLeader = election.isLeader();
      await syncer.stop();
      const successors = wasLeader ? await election.otherCandidates() : 0;
      await election.resign();
      if (successors === 0) return;
      const mine = session.sessionId;
      const paths = syncer.ownedNodes().map((n) => n.path);
      logger.info({ nodes: paths.length }, "handing over to the next leader");
      const deadline = Date.now() + HANDOVER_MS;
      while (Date.now() < deadline) {
        const stats = await Promise.all(paths.map((p) => session.exists(p).catch(() => null)));
        // Adopted nodes are re-created under the successor's session (new path for ServerSets).
        if (stats.every((s) => s === null || s.ephemeralOwner.toString("hex") !== mine)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      logger.warn("successor did not adopt every node in time; closing anyway");
    },
    async close() {
      clearInterval(progressTimer);
      await syncer.stop();
      await source.stop();
    },
  };
}
