/**
 * A few promise wrappers over a raw node-zookeeper-client session, for tests that plant
 * nodes for real readers (the product's own ZooKeeper layer is not ours to use here).
 */
import zookeeper from "node-zookeeper-client";

export interface TestZk {
  /** Create `path` (parents as needed) with `data`; returns the created path (sequential!). */
  create(path: string, data: Buffer, mode?: number): Promise<string>;
  getData(path: string): Promise<Buffer>;
  children(path: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
  close(): void;
}

const cb =
  <T>(resolve: (v: T) => void, reject: (e: unknown) => void) =>
  (err: unknown, v: T) =>
    err ? reject(err) : resolve(v);

export async function connectZk(connect: string): Promise<TestZk> {
  const client = zookeeper.createClient(connect, { sessionTimeout: 5000, retries: 2 });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ZooKeeper at ${connect}`)), 20_000);
    client.once("connected", () => {
      clearTimeout(timer);
      resolve();
    });
    client.connect();
  });
  return {
    async create(path, data, mode = zookeeper.CreateMode.EPHEMERAL) {
      const parent = path.slice(0, path.lastIndexOf("/"));
      if (parent) await new Promise((res, rej) => client.mkdirp(parent, cb(res, rej)));
      return new Promise<string>((res, rej) => client.create(path, data, mode, cb(res, rej)));
    },
    getData: (path) =>
      new Promise((res, rej) => client.getData(path, (err, data) => cb(res, rej)(err, data))),
    children: (path) =>
      new Promise((res, rej) => client.getChildren(path, (err, kids) => cb(res, rej)(err, kids))),
    exists: (path) =>
      new Promise((res, rej) => client.exists(path, (err, stat) => cb(res, rej)(err, !!stat))),
    close: () => client.close(),
  };
}

/** Poll `check` until true, or fail after `timeoutMs` naming `what`. */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
