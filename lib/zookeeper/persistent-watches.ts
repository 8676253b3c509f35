/**
 * ZooKeeper 3.6+ persistent recursive watches (`addWatch`), which node-zookeeper-client 1.1.3
 * lacks. One such watch on a tree's root reports every create, delete and data change below
 * it and stays armed, where one-shot watches need one per node, each re-armed by a read after
 * every change: for a DNS catalog following 100,000 nodes, 110,000 watches and twice the reads.
 *
 *  - The request, an AddWatchRequest `{path, mode}`, and its reply (a bare header) go through
 *    lib/zookeeper/raw-replies.ts, as the library does not know the op.
 *  - Notifications are decoded by the library and dispatched by CompactWatchers
 *    (lib/zookeeper/watchers.ts) to the watcher registered for the enclosing root.
 *  - Nothing re-arms them after a reconnect: the library's SetWatches has no field for them, and
 *    ZooKeeper replays no missed change for them anyway. The owner re-adds and re-reads.
 *
 * A server older than 3.6 answers UNIMPLEMENTED and then closes the connection.
 */
import type { Client, Event, Exception } from "node-zookeeper-client";
import { connectionManagerOf } from "./connection-manager.js";
import { newRecord } from "./jute-records.js";
import { queueRaw } from "./raw-replies.js";
import type { CompactWatchers } from "./watchers.js";

/** ZooKeeper's OpCode.addWatch. */
const ADD_WATCH = 106;
/** AddWatchMode.PERSISTENT_RECURSIVE. */
const PERSISTENT_RECURSIVE = 1;
const ADD_WATCH_REQUEST = [
  { name: "path", type: "ustring" },
  { name: "mode", type: "int" },
] as const;

type Watcher = (event: Event) => void;

/** The part of the library's ConnectionManager this touches. */
interface Connection {
  watcherManager: CompactWatchers;
}

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
  const connection = connectionManagerOf<Connection>(client, "watcherManager");
  const request = newRecord(ADD_WATCH_REQUEST, [path, PERSISTENT_RECURSIVE]);
  queueRaw(client, ADD_WATCH, request, (error) => {
    if (!error) connection.watcherManager.registerPersistentRecursiveWatcher(path, watcher);
    done(error);
  });
}
