/**
 * ReadBatcher (lib/zookeeper/read-batcher.ts) on a real ZooKeeper 3.8 (chrooted): reads asked
 * for together share multiRead requests, each settles as the session's own read would, and a
 * lost connection (a real reset, through a TCP proxy) fails the reads it was carrying.
 */
import zookeeper from "node-zookeeper-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReadBatcher } from "../../lib/zookeeper/read-batcher.js";
import type { ZkRead, ZkSession } from "../../lib/zookeeper/session.js";
import { openSession } from "../support/session.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { waitUntil } from "../support/wait.js";
import { freshChroot } from "../support/zk-chroot.js";

const PERSISTENT = zookeeper.CreateMode.PERSISTENT;
let connect: string;
let session: ZkSession;

/** The session, counting the multiRead requests it is asked for and their sizes. */
function counted(s: ZkSession) {
  const sizes: number[] = [];
  const counting = {
    multiRead: (reads: readonly ZkRead[]) => {
      sizes.push(reads.length);
      return s.multiRead(reads);
    },
  };
  return { counting, sizes };
}

beforeAll(async () => {
  connect = await freshChroot();
  session = await openSession(connect);
  await session.create("/svc", Buffer.alloc(0), PERSISTENT);
  await session.multi(
    Array.from({ length: 450 }, (_, i) => ({
      op: "create" as const,
      path: `/svc/n${i}`,
      data: Buffer.from(`data-${i}`),
      mode: PERSISTENT,
    })),
  );
});

afterAll(async () => {
  await session?.close();
});

describe("ReadBatcher", () => {
  it("sends the reads of one tick in requests of at most 200, each read its own result", async () => {
    const { counting, sizes } = counted(session);
    const batcher = new ReadBatcher(counting, { perRequest: 200, requestsInFlight: 3 });
    const reads = Array.from({ length: 450 }, (_, i) => batcher.getData(`/svc/n${i}`));
    const children = batcher.getChildren("/svc");
    const data = await Promise.all(reads);
    expect(data.map((d) => d.data.toString())).toEqual(
      Array.from({ length: 450 }, (_, i) => `data-${i}`),
    );
    expect((await children).length).toBe(450);
    expect(sizes).toEqual([200, 200, 51]);
    const direct = await session.getData("/svc/n7");
    expect(data[7]?.stat.mzxid.equals(direct.stat.mzxid)).toBe(true);
  });

  it("keeps at most N requests in flight; reads asked for meanwhile go in the next", async () => {
    const { counting, sizes } = counted(session);
    const batcher = new ReadBatcher(counting, { perRequest: 200, requestsInFlight: 1 });
    const first = Array.from({ length: 10 }, (_, i) => batcher.getData(`/svc/n${i}`));
    await new Promise((r) => process.nextTick(r)); // the first request is out
    const second = Array.from({ length: 30 }, (_, i) => batcher.getData(`/svc/n${100 + i}`));
    await Promise.all([...first, ...second]);
    expect(sizes).toEqual([10, 30]);
  });

  it("rejects a missing node's read alone, with the session's error", async () => {
    const batcher = new ReadBatcher(session);
    const [present, missing, missingChildren] = await Promise.allSettled([
      batcher.getData("/svc/n1"),
      batcher.getData("/svc/none"),
      batcher.getChildren("/none"),
    ]);
    expect(present.status).toBe("fulfilled");
    expect(missing).toMatchObject({ status: "rejected", reason: { code: "NO_NODE" } });
    expect(missingChildren).toMatchObject({ status: "rejected", reason: { code: "NO_NODE" } });
  });

  it("a lost connection fails the reads under way, hangs none, and reads work again after", async () => {
    const proxy = await startTcpProxy(Number(connect.split(/[:/]/)[1]));
    const proxied = await openSession(`${proxy.connect}${connect.slice(connect.indexOf("/"))}`);
    try {
      const batcher = new ReadBatcher(proxied, { perRequest: 2, requestsInFlight: 1 });
      proxy.blackhole(true); // the first request goes into the hole; the third read waits
      const reads = [1, 2, 3].map((i) => batcher.getData(`/svc/n${i}`));
      await new Promise((r) => setTimeout(r, 50));
      proxy.resetAll();
      proxy.blackhole(false);
      const settled = await Promise.allSettled(reads);
      expect(settled[0]).toMatchObject({ status: "rejected", reason: { code: "CONNECTION_LOSS" } });
      expect(settled[1]).toMatchObject({ status: "rejected", reason: { code: "CONNECTION_LOSS" } });
      await waitUntil("reconnected", () => proxied.state === "connected");
      expect((await batcher.getData("/svc/n4")).data.toString()).toBe("data-4");
    } finally {
      await proxied.close();
      await proxy.close();
    }
  });
});
