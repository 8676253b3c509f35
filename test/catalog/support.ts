/** Helpers for catalog tests: a session on a real ZooKeeper, a writer, captured log lines. */
import { Writable } from "node:stream";
import zookeeper from "node-zookeeper-client";
import { pino } from "pino";
import { silentLogger } from "../../lib/log.js";
import { ZkSession } from "../../lib/zookeeper/session.js";

export const EPHEMERAL = zookeeper.CreateMode.EPHEMERAL;
export const EPHEMERAL_SEQUENTIAL = zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL;
export const PERSISTENT = zookeeper.CreateMode.PERSISTENT;

export async function openSession(connect: string, sessionTimeoutMs = 4000): Promise<ZkSession> {
  const s = new ZkSession({ connect, sessionTimeoutMs, logger: silentLogger() });
  await s.start();
  return s;
}

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

/** Curator JSON as Curator 5.4 writes it with a null payload (what legacy apps register). */
export function curatorJson(service: string, id: string, address: string, port: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      name: service,
      id,
      address,
      port,
      sslPort: null,
      payload: null,
      registrationTimeUTC: 1700000000000,
      serviceType: "DYNAMIC",
      uriSpec: null,
    }),
  );
}

/** Curator JSON with Spring's payload and metadata. */
export function springJson(
  service: string,
  id: string,
  address: string,
  port: number,
  metadata: Record<string, string>,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      name: service,
      id,
      address,
      port,
      sslPort: null,
      payload: {
        "@class": "org.springframework.cloud.zookeeper.discovery.ZookeeperInstance",
        id,
        name: service,
        metadata,
      },
      registrationTimeUTC: 1700000000000,
      serviceType: "DYNAMIC",
      uriSpec: null,
    }),
  );
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
