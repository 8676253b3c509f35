/**
 * The bridge's DNS server alone in a process, fed a generated snapshot (no ZooKeeper), so the
 * benchmark can read its CPU time from /proc/<pid>/stat. Prints `READY <port>` when listening.
 * Usage: node --import tsx bench/dns/server-main.ts <services> <instances> <port>
 */

import { DnsServer } from "../../lib/dns/server.js";
import { createMetrics } from "../../lib/metrics.js";
import { ZONE } from "../support/bridge-defaults.js";
import { benchSnapshot } from "./registry.js";

const [services = "1000", instances = "10", port = "0"] = process.argv.slice(2);
const snapshot = benchSnapshot(Number(services), Number(instances));
const server = new DnsServer({
  listen: `127.0.0.1:${port}`,
  zone: ZONE,
  source: { current: () => snapshot },
  // As in production: every query counted and timed.
  metrics: createMetrics(),
});
await server.start();
process.stdout.write(`READY ${server.port}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
