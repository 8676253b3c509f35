import zookeeper from "node-zookeeper-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/log.js";
import { ZkSession } from "../../lib/zookeeper/session.js";
import { batchWritesPerTick } from "../../lib/zookeeper/write-batching.js";
import { startZooKeeper, type ZooKeeperServer } from "../support/zookeeper.js";

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("batchWritesPerTick", () => {
  it("corks at a tick's first write and uncorks on the next tick, passing every write on", async () => {
    const calls: string[] = [];
    const socket = {
      write: (chunk: Buffer) => {
        calls.push(`write ${chunk.toString()}`);
        return chunk.toString() !== "full"; // what the socket says is passed back
      },
      cork: () => calls.push("cork"),
      uncork: () => calls.push("uncork"),
    };
    batchWritesPerTick(socket);
    expect(socket.write(Buffer.from("a"))).toBe(true);
    socket.write(Buffer.from("b"));
    expect(socket.write(Buffer.from("full"))).toBe(false);
    expect(calls).toEqual(["cork", "write a", "write b", "write full"]);
    await tick();
    socket.write(Buffer.from("c"));
    await tick();
    expect(calls).toEqual([
      "cork",
      "write a",
      "write b",
      "write full",
      "uncork",
      "cork",
      "write c",
      "uncork",
    ]);
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
