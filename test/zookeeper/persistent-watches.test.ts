/**
 * Persistent recursive watches (lib/zookeeper/persistent-watches.ts) through a ZkSession, on a
 * real ZooKeeper 3.8 (chrooted), and against the same server made to look older than 3.6.
 */
import zookeeper, { type Event } from "node-zookeeper-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZkError } from "../../lib/zookeeper/errors.js";
import type { ZkSession, ZkState } from "../../lib/zookeeper/session.js";
import { startPre36Proxy } from "../support/pre-3.6-proxy.js";
import { openSession } from "../support/session.js";
import { waitUntil } from "../support/wait.js";
import { freshChroot } from "../support/zk-chroot.js";

const { NODE_CREATED, NODE_DELETED, NODE_DATA_CHANGED } = zookeeper.Event;
const PERSISTENT = zookeeper.CreateMode.PERSISTENT;

let connect: string;
let writer: ZkSession;
let reader: ZkSession;
const states: ZkState[] = [];

beforeAll(async () => {
  connect = await freshChroot();
  writer = await openSession(connect);
  reader = await openSession(connect);
  reader.on("state", (s) => states.push(s));
});

afterAll(async () => {
  await reader?.close();
  await writer?.close();
});

describe("a persistent recursive watch", () => {
  it("reports every create, data change and delete below its root, in order, and stays armed", async () => {
    const events: [number, string][] = [];
    // The root need not exist yet.
    await reader.addPersistentRecursiveWatch("/tree", (e: Event) =>
      events.push([e.getType(), e.getPath()]),
    );
    await writer.create("/tree", Buffer.alloc(0), PERSISTENT);
    await writer.create("/tree/svc", Buffer.alloc(0), PERSISTENT);
    await writer.create("/tree/svc/a", Buffer.from("1"), PERSISTENT);
    await writer.setData("/tree/svc/a", Buffer.from("2"), -1);
    await writer.setData("/tree/svc/a", Buffer.from("3"), -1); // fires again: not one-shot
    await writer.remove("/tree/svc/a", -1);
    await writer.create("/tree/svc/a", Buffer.from("4"), PERSISTENT);
    // A sibling whose name merely starts with the root's is outside the tree.
    await writer.create("/treeX", Buffer.alloc(0), PERSISTENT);
    await writer.create("/tree/svc/b", Buffer.alloc(0), PERSISTENT);
    await waitUntil("all events", () => events.some(([, p]) => p === "/tree/svc/b"));
    expect(events).toEqual([
      [NODE_CREATED, "/tree"],
      [NODE_CREATED, "/tree/svc"],
      [NODE_CREATED, "/tree/svc/a"],
      [NODE_DATA_CHANGED, "/tree/svc/a"],
      [NODE_DATA_CHANGED, "/tree/svc/a"],
      [NODE_DELETED, "/tree/svc/a"],
      [NODE_CREATED, "/tree/svc/a"],
      [NODE_CREATED, "/tree/svc/b"],
    ]);
  });

  it("is answered in turn with reads queued in the same tick, without dropping the connection", async () => {
    await writer.mkdirp("/mixed/svc");
    await writer.create("/mixed/svc/x", Buffer.from("x"), PERSISTENT);
    const before = states.length;
    const seen: string[] = [];
    const [first, watched, second] = await Promise.all([
      reader.getData("/mixed/svc/x"),
      reader.addPersistentRecursiveWatch("/mixed", (e) => seen.push(e.getPath())),
      reader.getChildren("/mixed/svc"),
    ]);
    expect(first.data.toString()).toBe("x");
    expect(watched).toBeUndefined();
    expect(second).toEqual(["x"]);
    await writer.setData("/mixed/svc/x", Buffer.from("y"), -1);
    await waitUntil("data change seen", () => seen.includes("/mixed/svc/x"));
    // The library drops the connection on a reply it does not understand: it did not.
    expect(states.slice(before)).toEqual([]);
    expect(reader.state).toBe("connected");
  });

  it("is refused with UNIMPLEMENTED by a server older than 3.6, which then drops the connection", async () => {
    const [hostPort = "", chroot = ""] = connect.split(/(?=\/)/);
    const proxy = await startPre36Proxy(Number(hostPort.split(":")[1]));
    const old = await openSession(`${proxy.connect}${chroot}`);
    const oldStates: ZkState[] = [];
    old.on("state", (s) => oldStates.push(s));
    try {
      const refusal = await old.addPersistentRecursiveWatch("/tree", () => {}).catch((e) => e);
      expect(refusal).toBeInstanceOf(ZkError);
      expect((refusal as ZkError).code).toBe("UNIMPLEMENTED");
      expect(proxy.refused).toBe(1);
      await waitUntil("reconnected", () => oldStates.includes("connected"));
      // Same session, still usable for one-shot reads.
      expect(await old.getChildren("/tree")).toEqual(["svc"]);
    } finally {
      await old.close();
      await proxy.close();
    }
  });
});
