/**
 * `ls`: one full read of the registry (through the same catalog the DNS side uses), printed as a
 * table or, with --json, as JSON. Exits 1 if ZooKeeper cannot be read in time.
 */
import type { Writable } from "node:stream";
import type { Config } from "./config.js";
import { createCatalog } from "./dns-side.js";
import { createLogger } from "./log.js";
import { ZkSession } from "./zookeeper/session.js";

export async function listRegistry(config: Config, out: Writable): Promise<number> {
  // Logs go to stderr so stdout stays a clean table / JSON document.
  const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel);
  const session = new ZkSession({
    connect: config.zkConnect,
    sessionTimeoutMs: config.zkSessionTimeoutMs,
    auth: config.zkAuth,
    logger,
  });
  const catalog = createCatalog(config, session, logger);
  const deadline = Date.now() + Math.max(config.zkSessionTimeoutMs, 5000);
  try {
    void session.start();
    catalog.start();
    while (!catalog.readiness().ready) {
      if (Date.now() > deadline) {
        process.stderr.write(
          `kube-zk-bridge: could not read ZooKeeper at ${config.zkConnect} in time\n`,
        );
        return 1;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const rows = catalog
      .registrations()
      .slice()
      .sort((a, b) => a.service.localeCompare(b.service) || a.id.localeCompare(b.id));
    if (config.json) {
      out.write(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    const table = [
      ["SERVICE", "INSTANCE", "ADDRESS", "PORT", "STATUS", "PORTS"],
      ...rows.map((r) => [
        r.service,
        r.id,
        r.address,
        String(r.port),
        r.draining ? "DRAINING" : "UP",
        Object.entries(r.ports)
          .map(([n, p]) => `${n}=${p}`)
          .join(","),
      ]),
    ];
    const widths =
      table[0]?.map((_, i) => Math.max(...table.map((row) => row[i]?.length ?? 0))) ?? [];
    for (const row of table)
      out.write(
        `${row
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join("  ")
          .trimEnd()}\n`,
      );
    return 0;
  } finally {
    await catalog.close();
    await session.close();
  }
}
