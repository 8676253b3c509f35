/**
 * The two reads a DNS catalog makes at every registry change, `getData` and `getChildren`,
 * queued on node-zookeeper-client's connection manager directly. The library's public methods
 * (1.1.3) wrap each request in a retry loop (`async.whilst`, closures, a results table) even
 * with `retries: 0`, and the session wrapped that in two promises more. A read waiting on a
 * busy ZooKeeper kept about 5 KB alive; with hundreds in flight, every young-generation GC
 * copied and promoted them. Here a read in flight is one request record, one promise and its
 * deadline timer. Same request bytes, same watcher bookkeeping as the library's methods.
 */
import type { Client, Event, Exception, Stat } from "node-zookeeper-client";
import jute, { type JuteRecord } from "node-zookeeper-client/lib/jute/index.js";
import { connectionManagerOf, requestOf } from "./connection-manager.js";

type Watcher = (event: Event) => void;

/** The part of the library's ConnectionManager a read needs. */
interface Connection {
  queue(request: unknown, callback: (error: Exception | null, response?: Reply) => void): void;
  registerDataWatcher(path: string, watcher: Watcher): void;
  registerChildWatcher(path: string, watcher: Watcher): void;
}

interface Reply {
  readonly payload: JuteRecord;
}

export interface ReadKind<T> {
  readonly op: number;
  readonly payloadClass: string;
  readonly register: "registerDataWatcher" | "registerChildWatcher";
  readonly result: (payload: JuteRecord) => T;
}

const EMPTY = Buffer.alloc(0);

export const GET_DATA: ReadKind<{ data: Buffer; stat: Stat }> = {
  op: jute.OP_CODES.GET_DATA,
  payloadClass: "GetDataRequest",
  register: "registerDataWatcher",
  result: (p) => ({ data: (p.data as Buffer | undefined) ?? EMPTY, stat: p.stat as Stat }),
};

export const GET_CHILDREN: ReadKind<string[]> = {
  op: jute.OP_CODES.GET_CHILDREN2,
  payloadClass: "GetChildren2Request",
  register: "registerChildWatcher",
  result: (p) => (p.children as string[] | undefined) ?? [],
};

function record(name: string): JuteRecord {
  const RecordClass = jute.protocol[name];
  if (!RecordClass) throw new Error(`node-zookeeper-client has no jute record ${name}`);
  return new RecordClass();
}

/**
 * Sends one read; `done` gets the library's error (an Exception) or the result. The watcher,
 * if any, is registered once the read succeeded, as the library does.
 */
export function queueRead<T>(
  client: Client,
  kind: ReadKind<T>,
  path: string,
  watcher: Watcher | undefined,
  done: (error: Exception | Error | null, result?: T) => void,
): void {
  const connection = connectionManagerOf<Connection>(client, "queue");
  const payload = record(kind.payloadClass);
  payload.path = path;
  payload.watch = watcher !== undefined;
  connection.queue(requestOf(kind.op, payload), (error, response) => {
    if (error || !response) {
      done(error ?? new Error("no reply"));
      return;
    }
    if (watcher) connection[kind.register](path, watcher);
    done(null, kind.result(response.payload));
  });
}
