/**
 * Serve-stale against a ZooKeeper this file kills and restarts: the last snapshot is served
 * while ZooKeeper is away, then SERVFAIL past --dns-serve-stale, then fresh data again.
 */
import zookeeper from "node-zookeeper-client";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Catalog } from "../../lib/catalog/catalog.js";
import { DnsServer } from "../../lib/dns/server.js";
import { silentLogger } from "../../lib/log.js";
import type { ZkSession } from "../../lib/zookeeper/session.js";
import { decode, makeQuery, udpQuery } from "../dns/support.js";
import { waitUntil } from "../support/wait.js";
import { startZooKeeper, type ZooKeeperServer } from "../support/zookeeper.js";
import { curatorJson, openSession } from "./support.js";

const PERSISTENT = zookeeper.CreateMode.PERSISTENT;
let zk: ZooKeeperServer;
let writer: ZkSession;
let reader: ZkSession;
let catalog: Catalog;
let dns: DnsServer;

beforeAll(async () => {
  zk = await startZooKeeper();
  writer = await openSession(zk.connect);
  await writer.mkdirp("/services/web");
  // Persistent, so the registration survives the restart whatever happens to sessions.
  await writer.create(
    "/services/web/web-1",
    curatorJson("web", "web-1", "10.0.0.5", 80),
    PERSISTENT,
  );
  reader = await openSession(zk.connect, 2000);
  catalog = new Catalog({
    session: reader,
    basePath: "/services",
    serversetBasePath: "/serversets",
    snapshot: { zone: "zk.internal.", ttl: 5 },
    serveStaleMs: 1500,
    logger: silentLogger(),
  });
  catalog.start();
  dns = new DnsServer({ listen: "127.0.0.1:0", zone: "zk.internal.", source: catalog });
  await dns.start();
});

afterAll(async () => {
  await dns?.close();
  await catalog?.close();
  await reader?.close();
  await writer?.close();
  await zk?.stop();
});

const rcode = async () => decode(await udpQuery(dns.port, makeQuery("web.zk.internal", "A"))).rcode;

it("serves the last snapshot while ZooKeeper is away, SERVFAIL past serve-stale, then recovers", async () => {
  await waitUntil("first read", () => catalog.current());
  expect(await rcode()).toBe("NOERROR");

  await zk.kill();
  await waitUntil("disconnect noticed", () => catalog.staleSeconds() > 0);
  expect(await rcode()).toBe("NOERROR"); // stale but served
  expect(catalog.readiness().ready).toBe(true);
  expect(catalog.readiness().detail).toMatch(/stale/);

  await waitUntil("serve-stale expired", async () => (await rcode()) === "SERVFAIL");
  expect(catalog.readiness()).toMatchObject({ ready: false });
  expect(catalog.readiness().detail).toMatch(/serve-stale/);

  await zk.start();
  await waitUntil(
    "served again after reconnect",
    async () => (await rcode()) === "NOERROR",
    30_000,
  );
  await waitUntil("in sync", () => catalog.staleSeconds() === 0);
  expect(catalog.readiness()).toEqual({ ready: true });

  // And watching again: a change after the restart shows up.
  await waitUntil("writer reconnected", () => writer.state === "connected", 30_000);
  await writer.create(
    "/services/web/web-2",
    curatorJson("web", "web-2", "10.0.0.6", 80),
    PERSISTENT,
  );
  await waitUntil("web-2 after restart", () =>
    catalog
      .current()
      ?.services.get("web")
      ?.a.some((r) => r.address === "10.0.0.6"),
  );
});
