import net from "node:net";
import zookeeper from "node-zookeeper-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/log.js";
import { ZkError } from "../../lib/zookeeper/errors.js";
import { ZkSession } from "../../lib/zookeeper/session.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { waitUntil } from "../support/wait.js";
import { startZooKeeper, type ZooKeeperServer } from "../support/zookeeper.js";

const EPHEMERAL = zookeeper.CreateMode.EPHEMERAL;

describe("ZkSession against a real ZooKeeper", () => {
  let zk: ZooKeeperServer;
  let proxy: TcpProxy;
  const sessions: ZkSession[] = [];

  beforeAll(async () => {
    zk = await startZooKeeper();
  });
  afterAll(async () => {
    await zk.stop();
  });
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close()));
    await proxy?.close();
  });

  async function open(connect: string, sessionTimeoutMs = 2000) {
    const s = new ZkSession({ connect, sessionTimeoutMs, logger: silentLogger() });
    const ids: string[] = [];
    s.on("session", (id) => ids.push(id));
    sessions.push(s);
    await s.start();
    return { s, ids };
  }

  /** An independent observer, so what we see is what the server holds. */
  async function observer() {
    return (await open(zk.connect, 5000)).s;
  }

  it("creates, reads and removes nodes; close() removes its ephemerals at once", async () => {
    const { s, ids } = await open(zk.connect);
    expect(ids).toHaveLength(1);
    expect(await s.mkdirp("/a/b")).toEqual(["/a", "/a/b"]);
    expect(await s.mkdirp("/a/b")).toEqual([]);
    await s.create("/a/b/e", Buffer.from("x"), EPHEMERAL);
    const seq = await s.create(
      "/a/b/m_",
      Buffer.from("y"),
      zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
    );
    expect(seq).toMatch(/^\/a\/b\/m_\d{10}$/);
    expect((await s.getData("/a/b/e")).data.toString()).toBe("x");
    await expect(s.create("/a/b/e", Buffer.alloc(0), EPHEMERAL)).rejects.toMatchObject({
      code: "NODE_EXISTS",
    });
    const obs = await observer();
    await s.close();
    expect(await obs.getChildren("/a/b")).toEqual([]);
  });

  it("multi is atomic and names the failing op", async () => {
    const { s } = await open(zk.connect);
    await s.mkdirp("/m");
    await s.create("/m/x", Buffer.from("1"), EPHEMERAL);
    const err = await s
      .multi([
        { op: "create", path: "/m/y", data: Buffer.alloc(0), mode: EPHEMERAL },
        { op: "create", path: "/m/x", data: Buffer.alloc(0), mode: EPHEMERAL },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZkError);
    expect(err).toMatchObject({ code: "NODE_EXISTS", index: 1 });
    expect(await s.getChildren("/m")).toEqual(["x"]);
  });

  it("a black-holed connection shorter than the session resumes the same session: no churn", async () => {
    proxy = await startTcpProxy(zk.port);
    const { s, ids } = await open(proxy.connect, 4000);
    await s.mkdirp("/bh");
    await s.create("/bh/e", Buffer.alloc(0), EPHEMERAL);
    const before = (await s.exists("/bh/e"))?.czxid;
    proxy.blackhole(true);
    await waitUntil("the probe to notice the dead link", () => s.state !== "connected");
    expect(s.disconnectedSince()).toBeTypeOf("number");
    proxy.blackhole(false);
    await waitUntil("reconnect", () => s.state === "connected");
    expect(ids).toHaveLength(1);
    // The very same node: never deleted and re-created.
    expect((await s.exists("/bh/e"))?.czxid).toEqual(before);
  });

  it("a black hole longer than the session: the server expires it, we build a new session", async () => {
    proxy = await startTcpProxy(zk.port);
    const { s, ids } = await open(proxy.connect, 1500);
    await s.mkdirp("/exp");
    await s.create("/exp/e", Buffer.alloc(0), EPHEMERAL);
    const obs = await observer();
    proxy.blackhole(true);
    await waitUntil("the server to expire the session", async () => !(await obs.exists("/exp/e")));
    // Calls made while the link is dead fail within the op timeout instead of hanging.
    await expect(s.getChildren("/exp")).rejects.toBeInstanceOf(ZkError);
    proxy.blackhole(false);
    await waitUntil("a new session", () => ids.length === 2, 30_000);
    expect(ids[1]).not.toEqual(ids[0]);
    await s.create("/exp/e", Buffer.alloc(0), EPHEMERAL);
    expect(await obs.exists("/exp/e")).not.toBeNull();
  });

  it("survives a ZooKeeper restart", async () => {
    const own = await startZooKeeper();
    try {
      const { s, ids } = await open(own.connect, 4000);
      await own.kill();
      await waitUntil("disconnect", () => s.state !== "connected");
      await own.start();
      await waitUntil("reconnect", () => s.state === "connected", 30_000);
      await s.mkdirp("/after");
      expect(await s.exists("/after")).not.toBeNull();
      expect(ids.length).toBeGreaterThanOrEqual(1);
    } finally {
      await own.stop();
    }
  });

  it("a connection whose handshake is never answered is dropped and retried until one is", async () => {
    // A server that accepts connections but answers nothing (ZooKeeper starting up), twice;
    // from the third connection on, the bytes go to the real ZooKeeper.
    const hung: net.Socket[] = [];
    const closed = new Set<net.Socket>();
    const all: net.Socket[] = [];
    const fake = net.createServer((socket) => {
      all.push(socket);
      socket.on("error", () => socket.destroy());
      socket.on("close", () => closed.add(socket));
      if (hung.length < 2) {
        hung.push(socket);
        socket.resume(); // read and drop the handshake, so the client's close is seen
        return;
      }
      const upstream = net.connect(zk.port, "127.0.0.1");
      all.push(upstream);
      upstream.on("error", () => upstream.destroy());
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
    try {
      const port = (fake.address() as net.AddressInfo).port;
      const { s } = await open(`127.0.0.1:${port}`, 6000);
      expect(hung).toHaveLength(2);
      await waitUntil("the hung connections dropped", () => hung.every((h) => closed.has(h)));
      await s.mkdirp("/after-hang");
      expect(await s.exists("/after-hang")).not.toBeNull();
    } finally {
      for (const socket of all) socket.destroy();
      await new Promise((resolve) => fake.close(resolve));
    }
  });

  it("digest auth: nodes are world-readable, writable by the bridge only", async () => {
    const s = new ZkSession({
      connect: zk.connect,
      sessionTimeoutMs: 2000,
      auth: { user: "bridge", password: "s3cret:x" },
      logger: silentLogger(),
    });
    sessions.push(s);
    await s.start();
    await s.mkdirp("/auth/svc");
    const other = await observer();
    expect((await other.getData("/auth/svc")).data).toEqual(Buffer.alloc(0));
    await expect(other.setData("/auth/svc", Buffer.from("x"), -1)).rejects.toMatchObject({
      code: "NO_AUTH",
    });
    await s.setData("/auth/svc", Buffer.from("ok"), -1);
  });
});
