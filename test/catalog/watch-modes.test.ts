/**
 * How the catalog watches ZooKeeper, on a real ZooKeeper 3.8: one persistent recursive watch
 * per tree (listed by the server's own `wchc`), re-armed and everything re-read after a lost
 * connection; and one-shot watches against a server made to look older than 3.6.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fourLetter } from "../../bench/support/zk4lw.js";
import { Catalog } from "../../lib/catalog/catalog.js";
import type { ZkSession } from "../../lib/zookeeper/session.js";
import { startPre36Proxy } from "../support/pre-3.6-proxy.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { waitUntil } from "../support/wait.js";
import { freshChroot } from "../support/zk-chroot.js";
import { capturingLogger, curatorJson, openSession, PERSISTENT } from "./support.js";

let connect: string;
let port: number;
let chroot: string;
let writer: ZkSession;

beforeAll(async () => {
  connect = await freshChroot();
  const [hostPort = "", path = ""] = connect.split(/(?=\/)/);
  port = Number(hostPort.split(":")[1]);
  chroot = path;
  writer = await openSession(connect);
  await writer.mkdirp("/services/web");
  for (let i = 1; i <= 20; i++) {
    await register("web", `web-${i}`, `10.1.0.${i}`);
  }
});

afterAll(async () => {
  await writer?.close();
});

function catalogOn(session: ZkSession) {
  const { logger, lines } = capturingLogger();
  const catalog = new Catalog({
    session,
    basePath: "/services",
    serversetBasePath: "/serversets",
    snapshot: { zone: "zk.internal.", ttl: 5 },
    serveStaleMs: 60_000,
    logger,
  });
  catalog.start();
  return { catalog, lines };
}

const addresses = (catalog: Catalog, service: string) =>
  (catalog.current()?.services.get(service)?.a ?? []).map((r) => r.address).sort();

/** The paths ZooKeeper holds watches on for one session (`wchc`), chroot removed. */
async function watchedPaths(sessionId: string): Promise<string[]> {
  const paths: string[] = [];
  let mine = false;
  for (const line of (await fourLetter(port, "wchc")).split("\n")) {
    if (line.startsWith("0x")) mine = BigInt(line.trim()) === BigInt(`0x${sessionId}`);
    else if (mine && line.trim()) paths.push(line.trim().slice(chroot.length) || "/");
  }
  return paths.sort();
}

/** A persistent Curator registration `<service>/<id>` at `address`:80. */
const register = (service: string, id: string, address: string) =>
  writer.create(`/services/${service}/${id}`, curatorJson(service, id, address, 80), PERSISTENT);

describe("on ZooKeeper 3.6+", () => {
  it("holds one watch per tree, whatever the number of nodes; reads in multiRead batches", async () => {
    const session = await openSession(connect);
    let oneByOne = 0;
    let requests = 0;
    const { getData, getChildren, multiRead } = session;
    session.getData = (...args) => {
      oneByOne++;
      return getData.apply(session, args);
    };
    session.getChildren = (...args) => {
      oneByOne++;
      return getChildren.apply(session, args);
    };
    session.multiRead = (...args) => {
      requests++;
      return multiRead.apply(session, args);
    };
    const { catalog } = catalogOn(session);
    try {
      await waitUntil("synced", () => addresses(catalog, "web").length === 20);
      // Two roots, a service, its 20 nodes (and a serverset tree if any): a few requests.
      expect(oneByOne).toBe(0);
      expect(requests).toBeGreaterThan(0);
      expect(requests).toBeLessThanOrEqual(5);
      await register("web", "web-21", "10.1.0.21");
      await waitUntil("web-21", () => addresses(catalog, "web").includes("10.1.0.21"));
      expect(await watchedPaths(session.sessionId ?? "")).toEqual(["/serversets", "/services"]);
    } finally {
      await writer.remove("/services/web/web-21", -1);
      await catalog.close();
      await session.close();
    }
  });

  it("re-arms and re-reads everything after a lost connection: changes made meanwhile are all seen", async () => {
    const proxy = await startTcpProxy(port);
    const session = await openSession(`${proxy.connect}${chroot}`, 10_000);
    const { catalog, lines } = catalogOn(session);
    const firstSession = session.sessionId;
    try {
      await writer.mkdirp("/services/moving");
      await register("moving", "m-1", "10.2.0.1");
      await register("moving", "m-2", "10.2.0.2");
      await waitUntil("synced", () => addresses(catalog, "moving").length === 2);

      proxy.blackhole(true);
      await waitUntil("connection lost", () => catalog.staleSeconds() > 0);
      await writer.remove("/services/moving/m-1", -1);
      await writer.setData(
        "/services/moving/m-2",
        curatorJson("moving", "m-2", "10.2.0.22", 80),
        -1,
      );
      await register("moving", "m-3", "10.2.0.3");
      await writer.mkdirp("/services/new");
      await register("new", "n-1", "10.2.0.9");
      proxy.blackhole(false);
      proxy.resetAll(); // whatever the held bytes did, a fresh connection

      await waitUntil(
        "changes made while away",
        () =>
          addresses(catalog, "moving").join() === "10.2.0.22,10.2.0.3" &&
          addresses(catalog, "new").join() === "10.2.0.9",
      );
      expect(session.sessionId).toBe(firstSession); // a reconnect, not a new session
      expect(catalog.staleSeconds()).toBe(0);
      expect(lines.some((l) => l.msg === "catalog: re-read ZooKeeper")).toBe(true);

      // The watch is armed again on the new connection.
      await register("moving", "m-4", "10.2.0.4");
      await writer.remove("/services/moving/m-3", -1);
      await waitUntil(
        "changes after the reconnect",
        () => addresses(catalog, "moving").join() === "10.2.0.22,10.2.0.4",
      );
    } finally {
      await catalog.close();
      await session.close();
      await proxy.close();
    }
  });
});

describe("on a server older than 3.6", () => {
  it("falls back to one-shot watches, says so once, and follows changes", async () => {
    const proxy = await startPre36Proxy(port);
    const session = await openSession(`${proxy.connect}${chroot}`);
    const { catalog, lines } = catalogOn(session);
    try {
      await waitUntil("synced", () => addresses(catalog, "web").length === 20);
      await register("web", "old-1", "10.3.0.1");
      await writer.remove("/services/web/web-20", -1);
      await waitUntil("changes followed", () => {
        const a = addresses(catalog, "web");
        return a.includes("10.3.0.1") && !a.includes("10.1.0.20");
      });
      await writer.setData("/services/web/old-1", curatorJson("web", "old-1", "10.3.0.2", 80), -1);
      await waitUntil("data change followed", () => addresses(catalog, "web").includes("10.3.0.2"));
      expect(proxy.refused).toBe(1); // asked once, then never again
      expect(lines.filter((l) => /older than 3\.6/.test(l.msg))).toHaveLength(1);
      // One-shot data watches, one per node read (`wchc` lists data watches only).
      const watched = await watchedPaths(session.sessionId ?? "");
      expect(watched).toContain("/services/web/old-1");
      expect(watched).toContain("/services/web/web-1");
      expect(watched).not.toContain("/services");
    } finally {
      await register("web", "web-20", "10.1.0.20");
      await writer.remove("/services/web/old-1", -1);
      await catalog.close();
      await session.close();
      await proxy.close();
    }
  });
});
