/**
 * A compact stand-in for node-zookeeper-client's `WatcherManager`, installed on every client
 * the session builds. The library keeps an EventEmitter and a `once` wrapper per watched path,
 * about 0.5 KB each: 50 MB for a DNS catalog watching 100,000 nodes, all of it re-allocated
 * whenever a node is re-read. Here a watched path costs one map entry. The contract is the
 * library's (1.1.3): register per kind, deduplicate a watcher per path, fire once and forget,
 * and list the paths for the SetWatches request that re-arms them after a reconnect.
 * It also dispatches ZooKeeper 3.6's persistent recursive watches (lib/zookeeper/persistent-watches.ts):
 * they fire for every event at or below their path and are never forgotten, nor listed for
 * SetWatches, which cannot carry them.
 */
import zookeeper, { type Client, type Event } from "node-zookeeper-client";

type Watcher = (event: Event) => void;
type Kind = "data" | "child" | "existence";

/** A notification as the connection manager decodes it (a jute WatcherEvent). */
interface WatcherEvent {
  readonly type: number;
  readonly path: string;
}

// The library's Event class makes the objects watchers receive; its typings do not declare
// `create`. Taken from the package's main export (not required by file path) so that a bundle
// holds one copy of the library and needs no node_modules at run time.
const LibraryEvent = zookeeper.Event as unknown as {
  create(e: WatcherEvent): Event;
  NODE_CREATED: number;
  NODE_DELETED: number;
  NODE_DATA_CHANGED: number;
  NODE_CHILDREN_CHANGED: number;
};

const DATA_AND_EXISTENCE: readonly Kind[] = ["data", "existence"];
const CHILD: readonly Kind[] = ["child"];
const DATA_AND_CHILD: readonly Kind[] = ["data", "child"];

/** Which kinds of watch an event fires, as the library (and ZooKeeper's Java client) decide. */
function kindsFiredBy(type: number): readonly Kind[] {
  switch (type) {
    case LibraryEvent.NODE_DATA_CHANGED:
    case LibraryEvent.NODE_CREATED:
      return DATA_AND_EXISTENCE;
    case LibraryEvent.NODE_CHILDREN_CHANGED:
      return CHILD;
    case LibraryEvent.NODE_DELETED:
      return DATA_AND_CHILD;
    default:
      throw new Error(`Unknown event type: ${type}`);
  }
}

export class CompactWatchers {
  /** One watcher (the common case: the catalog passes one shared function) or several. */
  private readonly watchers: Record<Kind, Map<string, Watcher | Watcher[]>> = {
    data: new Map(),
    child: new Map(),
    existence: new Map(),
  };
  /** Persistent recursive watches: root path → its watchers. */
  private readonly recursive = new Map<string, Watcher[]>();

  registerDataWatcher(path: string, watcher: Watcher): void {
    this.add("data", path, watcher);
  }
  registerChildWatcher(path: string, watcher: Watcher): void {
    this.add("child", path, watcher);
  }
  registerExistenceWatcher(path: string, watcher: Watcher): void {
    this.add("existence", path, watcher);
  }
  registerPersistentRecursiveWatcher(path: string, watcher: Watcher): void {
    if (typeof watcher !== "function") throw new Error("watcher must be a valid function.");
    const list = this.recursive.get(path);
    if (!list) this.recursive.set(path, [watcher]);
    else if (!list.includes(watcher)) list.push(watcher);
  }
  getDataWatcherPaths(): string[] {
    return [...this.watchers.data.keys()];
  }
  getChildWatcherPaths(): string[] {
    return [...this.watchers.child.keys()];
  }
  getExistenceWatcherPaths(): string[] {
    return [...this.watchers.existence.keys()];
  }
  isEmpty(): boolean {
    return Object.values(this.watchers).every((m) => m.size === 0);
  }

  /** Fires and forgets every one-shot watch the event triggers; fires the persistent ones. */
  emit(watcherEvent: WatcherEvent): void {
    const fired: Watcher[] = [];
    for (const [root, list] of this.recursive) {
      if (!isAtOrBelow(watcherEvent.path, root)) continue;
      for (const w of list) if (!fired.includes(w)) fired.push(w);
    }
    for (const kind of kindsFiredBy(watcherEvent.type)) {
      const map = this.watchers[kind];
      const w = map.get(watcherEvent.path);
      if (w === undefined) continue;
      map.delete(watcherEvent.path);
      if (Array.isArray(w)) fired.push(...w);
      else fired.push(w);
    }
    if (fired.length === 0) return;
    const event = LibraryEvent.create(watcherEvent);
    for (const w of fired) w(event);
  }

  private add(kind: Kind, path: string, watcher: Watcher): void {
    if (typeof watcher !== "function") throw new Error("watcher must be a valid function.");
    const map = this.watchers[kind];
    const w = map.get(path);
    if (w === undefined) map.set(path, watcher);
    else if (Array.isArray(w)) {
      if (!w.includes(watcher)) w.push(watcher);
    } else if (w !== watcher) map.set(path, [w, watcher]);
  }
}

function isAtOrBelow(path: string, root: string): boolean {
  if (root === "/") return true;
  return path === root || (path.startsWith(root) && path.charCodeAt(root.length) === 47); // "/"
}

/** Puts a CompactWatchers in place of `client`'s own, before it connects (no watch yet). */
export function installCompactWatchers(client: Client): void {
  const manager = (client as unknown as { connectionManager?: { watcherManager?: unknown } })
    .connectionManager;
  if (typeof manager?.watcherManager !== "object") {
    throw new Error("node-zookeeper-client has no connectionManager.watcherManager to replace");
  }
  manager.watcherManager = new CompactWatchers();
}
