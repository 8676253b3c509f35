/**
 * Every Prometheus metric of the process, on one registry, so each stage takes the few it
 * moves and /metrics renders them all. Names follow `kzb_<subsystem>_<what>_<unit>`.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { LeanHistogram } from "./lean-histogram.js";

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "kzb_process_" });
  const registers = [registry];
  return {
    registry,
    registrations: new Gauge({
      name: "kzb_registrations",
      help: "Registrations the bridge owns in ZooKeeper, by service and format",
      labelNames: ["service", "format"] as const,
      registers,
    }),
    zkSessionState: new Gauge({
      name: "kzb_zookeeper_session_state",
      help: "1 for the current ZooKeeper session state, 0 for the others",
      labelNames: ["state"] as const,
      registers,
    }),
    zkSessionsStarted: new Counter({
      name: "kzb_zookeeper_sessions_started_total",
      help: "ZooKeeper sessions established (the first, and one per expiry or dead-connection rebuild)",
      registers,
    }),
    reconcileDuration: new Histogram({
      name: "kzb_reconcile_duration_seconds",
      help: "Time to apply one plan to ZooKeeper",
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
      registers,
    }),
    reconcileOps: new Counter({
      name: "kzb_reconcile_operations_total",
      help: "ZooKeeper writes made by reconcile, by operation",
      labelNames: ["op"] as const,
      registers,
    }),
    syncSkipped: new Counter({
      name: "kzb_sync_skipped_registrations_total",
      help: "Desired registrations left out because they cannot be written (each counted once)",
      labelNames: ["reason"] as const,
      registers,
    }),
    queueDepth: new Gauge({
      name: "kzb_reconcile_queue_depth",
      help: "Registry changes planned but not yet written",
      registers,
    }),
    kubernetesRestarts: new Counter({
      name: "kzb_kubernetes_informer_restarts_total",
      help: "Informer restarts after an error or a silent watch, by resource",
      labelNames: ["resource", "reason"] as const,
      registers,
    }),
    dnsQueries: new Counter({
      name: "kzb_dns_queries_total",
      help: "DNS queries answered, by query type, rcode and transport",
      labelNames: ["qtype", "rcode", "transport"] as const,
      registers,
    }),
    // One observe per query: the lean one skips prom-client's per-call label hashing.
    dnsLatency: new LeanHistogram({
      name: "kzb_dns_request_duration_seconds",
      help: "Time from a DNS query's arrival to its reply being handed to the socket",
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
      registers,
    }),
    catalogSkipped: new Counter({
      name: "kzb_catalog_skipped_nodes_total",
      help: "Znodes or service names the DNS side could not serve, by reason",
      labelNames: ["reason"] as const,
      registers,
    }),
    catalogInstances: new Gauge({
      name: "kzb_catalog_instances",
      help: "Instances in the DNS snapshot",
      registers,
    }),
    staleSeconds: new Gauge({
      name: "kzb_dns_stale_seconds",
      help: "Seconds since the DNS snapshot was last known to match ZooKeeper (0 while connected)",
      registers,
    }),
    leader: new Gauge({
      name: "kzb_leader",
      help: "1 while this replica is the elected writer",
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
