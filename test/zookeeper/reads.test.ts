import zookeeper, { type Client, type Event } from "node-zookeeper-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET_CHILDREN, GET_DATA, queueRead, type ReadKind } from "../../lib/zookeeper/reads.js";
import { waitUntil } from "../support/wait.js";
import { startZooKeeper, type ZooKeeperServer } from "../support/zookeeper.js";

/** queueRead against the library's own getData / getChildren, on one real ZooKeeper. */
describe("reads queued on the connection manager", () => {
  let zk: ZooKeeperServer;
  let client: Client;

  beforeAll(async () => {
    zk = await startZooKeeper();
    const setup = await connect(zk.connect);
    await call<string>((cb) => setup.mkdirp("/reads/svc", cb));
    await call((cb) => setup.create("/reads/svc/a", Buffer.from('{"a":1}'), cb));
    await call((cb) => setup.create("/reads/svc/empty", cb));
    setup.close();
    client = await connect(`${zk.connect}/reads`); // chrooted: paths below are relative to it
  });
  afterAll(async () => {
    client?.close();
    await zk.stop();
  });

  function connect(connectString: string): Promise<Client> {
    const c = zookeeper.createClient(connectString, { sessionTimeout: 5000, retries: 0 });
    return new Promise((resolve) => {
      c.once("connected", () => resolve(c));
      c.connect();
    });
  }

  function call<T>(
    invoke: (cb: (err: Error | zookeeper.Exception | null, result?: T) => void) => void,
  ): Promise<T> {
    return new Promise((resolve, reject) =>
      invoke((err, result) => (err ? reject(err) : resolve(result as T))),
    );
  }

  const read = <T>(kind: ReadKind<T>, path: string, watcher?: (e: Event) => void) =>
    call<T>((cb) => queueRead(client, kind, path, watcher, cb));

  it("getData and getChildren answer what the library's methods answer", async () => {
    const mine = await read(GET_DATA, "/svc/a");
    const theirs = await new Promise<[Buffer, zookeeper.Stat]>((resolve, reject) =>
      client.getData("/svc/a", (err, data, stat) => (err ? reject(err) : resolve([data, stat]))),
    );
    expect(mine.data.toString()).toBe('{"a":1}');
    expect(mine.data).toEqual(theirs[0]);
    expect(mine.stat.mzxid).toEqual(theirs[1].mzxid);
    expect(mine.stat.version).toBe(theirs[1].version);
    expect((await read(GET_DATA, "/svc/empty")).data).toEqual(Buffer.alloc(0));

    const children = await read(GET_CHILDREN, "/svc");
    const libraryChildren = await call<string[]>((cb) => client.getChildren("/svc", cb));
    expect(children.sort()).toEqual(libraryChildren.sort());
    expect(children).toEqual(["a", "empty"]);
  });

  it("a missing node is the library's NO_NODE exception", async () => {
    const err = await read(GET_DATA, "/svc/missing").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(zookeeper.Exception);
    expect((err as zookeeper.Exception).getCode()).toBe(zookeeper.Exception.NO_NODE);
  });

  it("watches fire once, and survive a reconnect (the library re-arms them)", async () => {
    const events: string[] = [];
    const onEvent = (e: Event) => events.push(`${e.getName()} ${e.getPath()}`);
    await read(GET_DATA, "/svc/a", onEvent);
    await read(GET_CHILDREN, "/svc", onEvent);

    // Drop the connection under the client; it reconnects with the same session.
    const manager = (client as unknown as { connectionManager: { socket: { destroy(): void } } })
      .connectionManager;
    const reconnected = new Promise<void>((resolve) => client.once("connected", () => resolve()));
    manager.socket.destroy();
    await reconnected;

    await call((cb) => client.setData("/svc/a", Buffer.from("2"), -1, cb));
    await call((cb) => client.create("/svc/b", cb));
    await waitUntil("both watches fired", () => events.length === 2);
    expect(events.sort()).toEqual(["NODE_CHILDREN_CHANGED /svc", "NODE_DATA_CHANGED /svc/a"]);

    // Fired once: further changes are not seen until the reads are made again.
    await call((cb) => client.setData("/svc/a", Buffer.from("3"), -1, cb));
    await call((cb) => client.remove("/svc/b", -1, cb));
    const sentinel: string[] = [];
    await read(GET_DATA, "/svc/empty", () => sentinel.push("empty"));
    await call((cb) => client.setData("/svc/empty", Buffer.from("x"), -1, cb));
    await waitUntil("the later watch fired", () => sentinel.length === 1);
    expect(events).toHaveLength(2);
  });
});
