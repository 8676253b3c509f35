/**
 * A plain node-zookeeper-client, as any other ZooKeeper user would drive it: the observer of
 * the bridge's writes, and the raw-write reference the bridge is compared with.
 */
import zookeeper, { type Client, type Event, type Stat } from "node-zookeeper-client";
import { inParallel } from "./parallel.js";

export type { Client } from "node-zookeeper-client";
export const EPHEMERAL = zookeeper.CreateMode.EPHEMERAL;
export const PERSISTENT = zookeeper.CreateMode.PERSISTENT;

/** Connects and resolves once the session is established. */
export async function connectClient(connect: string, sessionTimeoutMs = 30_000): Promise<Client> {
  const c = zookeeper.createClient(connect, { sessionTimeout: sessionTimeoutMs, spinDelay: 100 });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ZooKeeper session on ${connect}`)), 30_000);
    c.once("connected", () => {
      clearTimeout(timer);
      resolve();
    });
    c.connect();
  });
  return c;
}

/** Closes the session (the server deletes its ephemerals at once). */
export function closeClient(c: Client): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 5000);
    c.once("disconnected", () => {
      clearTimeout(timer);
      resolve();
    });
    c.close();
  });
}

export function getChildren(
  c: Client,
  path: string,
  watcher?: (e: Event) => void,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const cb = (err: Error | zookeeper.Exception | null, children: string[]) =>
      err ? reject(err) : resolve(children);
    if (watcher) c.getChildren(path, watcher, cb);
    else c.getChildren(path, cb);
  });
}

export function exists(c: Client, path: string): Promise<Stat | undefined> {
  return new Promise((resolve, reject) =>
    c.exists(path, (err, stat) => (err ? reject(err) : resolve(stat ?? undefined))),
  );
}

/** Creates `path` and any missing parents (persistent, empty). */
export function mkdirp(c: Client, path: string): Promise<void> {
  return new Promise((resolve, reject) => c.mkdirp(path, (err) => (err ? reject(err) : resolve())));
}

export function getData(c: Client, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    c.getData(path, (err, data) => (err ? reject(err) : resolve(data ?? Buffer.alloc(0)))),
  );
}

export function create(c: Client, path: string, data: Buffer, mode: number): Promise<string> {
  return new Promise((resolve, reject) =>
    c.create(path, data, mode, (err, p) => (err ? reject(err) : resolve(p))),
  );
}

export function remove(c: Client, path: string): Promise<void> {
  return new Promise((resolve, reject) =>
    c.remove(path, -1, (err) => (err ? reject(err) : resolve())),
  );
}

export interface NodeToWrite {
  readonly path: string;
  readonly data: Buffer;
  readonly mode: number;
}

/**
 * Writes nodes in atomic multi batches of `batch` ops, `inFlight` batches at a time: the
 * fastest way a client can write many znodes (PITFALLS: 4 × 100–200 is the sweet spot here).
 * Nodes must be ordered parents first when they include parents.
 */
export async function writeBatched(
  c: Client,
  nodes: readonly NodeToWrite[],
  opts: { batch?: number; inFlight?: number } = {},
): Promise<void> {
  const size = opts.batch ?? 200;
  const jobs: (() => Promise<void>)[] = [];
  for (let i = 0; i < nodes.length; i += size) {
    const batch = nodes.slice(i, i + size);
    jobs.push(
      () =>
        new Promise<void>((resolve, reject) => {
          const tx = c.transaction();
          for (const n of batch) tx.create(n.path, n.data, n.mode);
          tx.commit((err) => (err ? reject(err) : resolve()));
        }),
    );
  }
  await inParallel(jobs, opts.inFlight ?? 4);
}

/**
 * Drops the client's TCP connection (library internals): it reconnects at once and resumes its
 * session. node-zookeeper-client puts no deadline on the session handshake, and ZooKeeper
 * accepts connections while it is still loading its data but never answers their handshake, so
 * a client that connected during a restart waits forever unless its connection is dropped.
 */
export function dropConnection(c: Client): void {
  (
    c as unknown as { connectionManager?: { socket?: { destroy(): void } } }
  ).connectionManager?.socket?.destroy();
}
