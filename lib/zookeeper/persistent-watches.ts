/**
 * ZooKeeper 3.6+ persistent recursive watches (`addWatch`), which node-zookeeper-client 1.1.3
 * lacks. One such watch on a tree's root reports every create, delete and data change below
 * it and stays armed, where one-shot watches need one per node, each re-armed by a read after
 * every change: for a DNS catalog following 100,000 nodes, 110,000 watches and twice the reads.
 *
 *  - The request is queued on the library's connection manager like its own (same xids, same
 *    pending queue): a RequestHeader and an AddWatchRequest `{path, mode}`.
 *  - The reply is a bare header. The library drops the connection on a successful reply to an
 *    op it does not know, so replies to an addWatch are taken before it sees them.
 *  - Notifications are decoded by the library and dispatched by CompactWatchers
 *    (lib/zookeeper/watchers.ts) to the watcher registered for the enclosing root.
 *  - Nothing re-arms them after a reconnect: the library's SetWatches has no field for them, and
 *    ZooKeeper replays no missed change for them anyway. The owner re-adds and re-reads.
 *
 * A server older than 3.6 answers UNIMPLEMENTED and then closes the connection.
 */
import zookeeper, { type Client, type Event, type Exception } from "node-zookeeper-client";
import jute from "node-zookeeper-client/lib/jute/index.js";
import { connectionManagerOf } from "./connection-manager.js";
import { newRecord } from "./jute-records.js";
import type { CompactWatchers } from "./watchers.js";

/** ZooKeeper's OpCode.addWatch. */
const ADD_WATCH = 106;
/** AddWatchMode.PERSISTENT_RECURSIVE. */
const PERSISTENT_RECURSIVE = 1;
/** Length prefix, xid, zxid, err. */
const REPLY_BYTES = 4 + 4 + 8 + 4;

const ADD_WATCH_REQUEST = [
  { name: "path", type: "ustring" },
  { name: "mode", type: "int" },
] as const;

type Watcher = (event: Event) => void;
type Callback = (error: Exception | null) => void;

interface Packet {
  readonly request: { readonly header: { readonly type: number; readonly xid: number } | null };
  readonly callback?: Callback;
}

/** The part of the library's ConnectionManager this touches. */
interface Connection {
  queue(request: unknown, callback: Callback): void;
  onSocketData(frame: Buffer): void;
  pendingQueue: Packet[];
  zxid: Buffer;
  watcherManager: CompactWatchers;
}

const createException = (zookeeper.Exception as unknown as { create(code: number): Exception })
  .create;

/**
 * Adds a persistent recursive watch on `path` (which need not exist yet). Once the server has
 * accepted it, `watcher` gets every event at or below `path`; `done` gets the library's error,
 * e.g. UNIMPLEMENTED from a server older than 3.6.
 */
export function queueAddWatch(
  client: Client,
  path: string,
  watcher: Watcher,
  done: (error: Exception | null) => void,
): void {
  const connection = connectionManagerOf<Connection>(client, "queue", "pendingQueue");
  const RequestHeader = jute.protocol.RequestHeader;
  if (!RequestHeader) throw new Error("node-zookeeper-client has no jute record RequestHeader");
  const header = new RequestHeader();
  header.type = ADD_WATCH;
  connection.queue(
    new jute.Request(header, newRecord(ADD_WATCH_REQUEST, [path, PERSISTENT_RECURSIVE])),
    (error) => {
      if (!error) connection.watcherManager.registerPersistentRecursiveWatcher(path, watcher);
      done(error);
    },
  );
}

/**
 * Takes replies to addWatch requests off the library's hands. Installed before the frame
 * splitter (lib/zookeeper/frames.ts) wraps the same handler, so it is given one whole frame
 * at a time.
 */
export function installAddWatchReplies(client: Client): void {
  const connection = connectionManagerOf<Connection>(client, "pendingQueue", "onSocketData");
  const original = connection.onSocketData;
  connection.onSocketData = (frame: Buffer) => {
    const head = connection.pendingQueue[0];
    const header = head?.request.header;
    if (
      header?.type === ADD_WATCH &&
      frame.length >= REPLY_BYTES &&
      frame.readInt32BE(4) === header.xid
    ) {
      connection.pendingQueue.shift();
      connection.zxid = Buffer.from(frame.subarray(8, 16));
      const err = frame.readInt32BE(16);
      head?.callback?.(err === 0 ? null : createException(err));
      return;
    }
    original.call(connection, frame);
  };
}
