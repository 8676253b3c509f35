import net from "node:net";
import zookeeper from "node-zookeeper-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/log.js";
import { ZkSession } from "../../lib/zookeeper/session.js";
import { batchWritesPerTick } from "../../lib/zookeeper/write-batching.js";
import { waitUntil } from "../support/wait.js";
import { startZooKeeper, type ZooKeeperServer } from "../support/zookeeper.js";

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("batchWritesPerTick", () => {
  it("corks a real socket at a tick's first write and uncorks it on the next, in order, back-pressure kept", async () => {
    let received = Buffer.alloc(0);
    const server = net.createServer((peer) =>
      peer.on("data", (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    const socket = net.connect(port, "127.0.0.1");
    try {
      await new Promise<void>((resolve) => socket.once("connect", resolve));
      batchWritesPerTick(socket);
      expect(socket.write(Buffer.from("a"))).toBe(true);
      socket.write(Buffer.from("b"));
      expect(socket.writableCorked).toBe(1); // held until the tick ends
      // Past the high-water mark the socket says so, as it would without batching.
      expect(socket.write(Buffer.alloc(64 * 1024, "x"))).toBe(false);
      await tick();
      expect(socket.writableCorked).toBe(0);
      socket.write(Buffer.from("c"));
      expect(socket.writableCorked).toBe(1);
      await tick();
      expect(socket.writableCorked).toBe(0);
      const expected = Buffer.concat([
        Buffer.from("ab"),
        Buffer.alloc(64 * 1024, "x"),
        Buffer.from("c"),
      ]);
      await waitUntil("all bytes arrived", () => received.length === expected.length);
      expect(received.equals(expected)).toBe(true);
    } finally {
      socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("ZkSession with batched writes, against a real ZooKeeper", () => {
  let zk: ZooKeeperServer;
  let s: ZkSession;

  beforeAll(async () => {
    zk = await startZooKeeper();
    s = new ZkSession({ connect: zk.connect, sessionTimeoutMs: 5000, logger: silentLogger() });
    await s.start();
  });
  afterAll(async () => {
    await s?.close();
    await zk.stop();
  });

  it("thousands of reads queued in one tick (past the socket's high-water mark) all come back right", async () => {
    await s.mkdirp("/batch");
    for (let i = 0; i < 20; i++) {
      await s.create(`/batch/n${i}`, Buffer.from(`data-${i}`), zookeeper.CreateMode.PERSISTENT);
    }
    // About 40 bytes a request: 5,000 of them are past the 16 KiB high-water mark.
    const reads = Array.from({ length: 5000 }, (_, k) => s.getData(`/batch/n${k % 20}`));
    const listed = s.getChildren("/batch");
    const results = await Promise.all(reads);
    results.forEach((r, k) => {
      expect(r.data.toString()).toBe(`data-${k % 20}`);
    });
    expect((await listed).length).toBe(20);
  });
});
