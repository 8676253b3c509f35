/** Helpers for catalog tests: a session on a real ZooKeeper, a writer, captured log lines. */
import { Writable } from "node:stream";
import zookeeper from "node-zookeeper-client";
import { pino } from "pino";
import { curatorJson } from "../support/legacy-client.js";

// Shared with the other ZooKeeper tests, the end-to-end tests and `demo`.
export { curatorJson } from "../support/legacy-client.js";
export { openSession } from "../support/session.js";

export const EPHEMERAL = zookeeper.CreateMode.EPHEMERAL;
export const EPHEMERAL_SEQUENTIAL = zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL;
export const PERSISTENT = zookeeper.CreateMode.PERSISTENT;

/** A logger whose JSON lines land in `lines`. */
export function capturingLogger() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const logger = pino(
    { level: "info" },
    new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    }),
  );
  return { logger, lines };
}

/** Curator JSON with Spring's payload and metadata. */
export function springJson(
  service: string,
  id: string,
  address: string,
  port: number,
  metadata: Record<string, string>,
): Buffer {
  const payload = {
    "@class": "org.springframework.cloud.zookeeper.discovery.ZookeeperInstance",
    id,
    name: service,
    metadata,
  };
  return curatorJson(service, id, address, port, { payload });
}

export function serverSetJson(host: string, port: number, status = "ALIVE"): Buffer {
  return Buffer.from(
    JSON.stringify({
      serviceEndpoint: { host, port },
      additionalEndpoints: { http: { host, port } },
      status,
      shard: 0,
    }),
  );
}
