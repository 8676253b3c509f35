import zookeeper, { type Event } from "node-zookeeper-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ZkSession } from "../../lib/zookeeper/session.js";
import { CompactWatchers } from "../../lib/zookeeper/watchers.js";
import { openSession } from "../support/session.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { sleep, waitUntil } from "../support/wait.js";
import { freshChroot } from "../support/zk-chroot.js";

const { NODE_CREATED, NODE_DELETED, NODE_DATA_CHANGED, NODE_CHILDREN_CHANGED } = zookeeper.Event;

/** A watcher that records the events it gets, as "TYPE path". */
function recorder() {
  const seen: string[] = [];
  const watcher = (e: Event) => seen.push(`${e.getName()} ${e.getPath()}`);
  return { seen, watcher };
}

describe("CompactWatchers (the library's WatcherManager contract)", () => {
  it("fires a persistent recursive watcher for its root and below, every time, and never lists it", () => {
    const m = new CompactWatchers();
    const tree = recorder();
    const everything = recorder();
    const once = recorder();
    m.registerPersistentRecursiveWatcher("/tree", tree.watcher);
    m.registerPersistentRecursiveWatcher("/tree", tree.watcher); // deduplicated
    m.registerPersistentRecursiveWatcher("/", everything.watcher);
    m.registerDataWatcher("/tree/a", once.watcher);
    expect(m.isEmpty()).toBe(false); // the one-shot watch
    expect(m.getDataWatcherPaths()).toEqual(["/tree/a"]);

    m.emit({ type: NODE_DATA_CHANGED, path: "/tree/a" });
    m.emit({ type: NODE_DATA_CHANGED, path: "/tree/a" });
    m.emit({ type: NODE_CREATED, path: "/tree" });
    m.emit({ type: NODE_CREATED, path: "/treeX" }); // a sibling, not below /tree
    m.emit({ type: NODE_DELETED, path: "/tree/a/deep" });
    expect(tree.seen).toEqual([
      "NODE_DATA_CHANGED /tree/a",
      "NODE_DATA_CHANGED /tree/a",
      "NODE_CREATED /tree",
      "NODE_DELETED /tree/a/deep",
    ]);
    expect(everything.seen).toHaveLength(5);
    expect(once.seen).toEqual(["NODE_DATA_CHANGED /tree/a"]);
    expect(m.isEmpty()).toBe(true); // SetWatches has nothing to carry
  });

  it("an event fires the kinds of watch ZooKeeper's clients fire for it, once", () => {
    const m = new CompactWatchers();
    const data = recorder();
    const child = recorder();
    const exist = recorder();
    m.registerDataWatcher("/a", data.watcher);
    m.registerChildWatcher("/a", child.watcher);
    m.registerExistenceWatcher("/a", exist.watcher);
    expect(m.getDataWatcherPaths()).toEqual(["/a"]);

    m.emit({ type: NODE_CHILDREN_CHANGED, path: "/a" });
    m.emit({ type: NODE_CHILDREN_CHANGED, path: "/a" });
    expect(child.seen).toEqual(["NODE_CHILDREN_CHANGED /a"]);
    expect(m.getChildWatcherPaths()).toEqual([]);

    m.emit({ type: NODE_DATA_CHANGED, path: "/a" });
    expect(data.seen).toEqual(["NODE_DATA_CHANGED /a"]);
    expect(exist.seen).toEqual(["NODE_DATA_CHANGED /a"]);
    expect(m.isEmpty()).toBe(true);

    m.registerDataWatcher("/b", data.watcher);
    m.registerChildWatcher("/b", child.watcher);
    m.registerExistenceWatcher("/b", exist.watcher);
    m.emit({ type: NODE_DELETED, path: "/b" });
    expect(data.seen.at(-1)).toBe("NODE_DELETED /b");
    expect(child.seen.at(-1)).toBe("NODE_DELETED /b");
    expect(m.getExistenceWatcherPaths()).toEqual(["/b"]); // a delete leaves an exists watch armed
    m.emit({ type: NODE_CREATED, path: "/b" });
    expect(exist.seen.at(-1)).toBe("NODE_CREATED /b");
    expect(m.isEmpty()).toBe(true);
  });

  it("the same watcher twice on a path fires once; different watchers each fire", () => {
    const m = new CompactWatchers();
    const one = recorder();
    const two = recorder();
    const three = recorder();
    for (const w of [one, one, two, three, two]) m.registerDataWatcher("/p", w.watcher);
    m.emit({ type: NODE_DATA_CHANGED, path: "/p" });
    m.emit({ type: NODE_DATA_CHANGED, path: "/other" });
    expect([one.seen, two.seen, three.seen]).toEqual([
      ["NODE_DATA_CHANGED /p"],
      ["NODE_DATA_CHANGED /p"],
      ["NODE_DATA_CHANGED /p"],
    ]);
  });
});

describe("watches through a session on a real ZooKeeper", () => {
  let connect: string;
  let proxy: TcpProxy | undefined;
  const sessions: ZkSession[] = [];
  beforeEach(async () => {
    connect = await freshChroot();
  });
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close()));
    await proxy?.close();
    proxy = undefined;
  });
  async function open(conn = connect) {
    const s = await openSession(conn, 8000);
    sessions.push(s);
    return s;
  }

  it("data, child and existence watches fire once each for the server's changes", async () => {
    const s = await open();
    const obs = await open();
    await obs.mkdirp("/w/a");
    const data = recorder();
    const child = recorder();
    const exist = recorder();
    await s.getData("/w/a", data.watcher);
    await s.getData("/w/a", data.watcher);
    await s.getChildren("/w", child.watcher);
    await s.exists("/w/new", exist.watcher);

    await obs.setData("/w/a", Buffer.from("1"), -1);
    await obs.create("/w/new", Buffer.alloc(0), zookeeper.CreateMode.PERSISTENT);
    await obs.setData("/w/a", Buffer.from("2"), -1);
    await waitUntil("events", () => child.seen.length > 0 && exist.seen.length > 0);
    await sleep(200); // a second data event, if one were (wrongly) delivered, arrives by now
    expect(data.seen).toEqual(["NODE_DATA_CHANGED /w/a"]);
    expect(child.seen).toEqual(["NODE_CHILDREN_CHANGED /w"]);
    expect(exist.seen).toEqual(["NODE_CREATED /w/new"]);
  });

  it("after a reconnect the watches are re-armed and a change made meanwhile is delivered", async () => {
    const port = Number(connect.split("/")[0]?.split(":")[1]);
    const chroot = connect.slice(connect.indexOf("/"));
    proxy = await startTcpProxy(port);
    const s = await open(`${proxy.connect}${chroot}`);
    const obs = await open();
    await obs.mkdirp("/r/a");
    const data = recorder();
    const child = recorder();
    await s.getData("/r/a", data.watcher);
    await s.getChildren("/r", child.watcher);

    proxy.blackhole(true); // the link goes dead; the session lives on
    await waitUntil("the probe to notice", () => s.state !== "connected");
    await obs.setData("/r/a", Buffer.from("changed while away"), -1);
    await obs.create("/r/b", Buffer.alloc(0), zookeeper.CreateMode.PERSISTENT);
    proxy.blackhole(false);
    await waitUntil(
      "both events, through SetWatches",
      () => data.seen.length + child.seen.length === 2,
    );
    expect(data.seen).toEqual(["NODE_DATA_CHANGED /r/a"]);
    expect(child.seen).toEqual(["NODE_CHILDREN_CHANGED /r"]);
  });
});
