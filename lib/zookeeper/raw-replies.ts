/**
 * Requests for ZooKeeper 3.6+ ops node-zookeeper-client 1.1.3 does not know (`addWatch`,
 * `multiRead`), queued on its connection manager like its own (same xids, same pending queue,
 * same connection-loss handling). The library cannot read their replies (it drops the
 * connection on a successful reply to an op it does not know), so each such request carries a
 * mark, and its reply is taken off the library's hands before it sees it: the error code, and
 * the body for the caller to decode.
 *
 * A server older than 3.6 answers UNIMPLEMENTED, once every earlier request has its reply, and
 * then closes the connection (the session lives on).
 */
import zookeeper, { type Client, type Exception } from "node-zookeeper-client";
import type { RequestPayload } from "node-zookeeper-client/lib/jute/index.js";
import { connectionManagerOf, requestOf } from "./connection-manager.js";

/** Length prefix, xid, zxid, err: the reply header, then the body. */
const REPLY_HEADER_BYTES = 4 + 4 + 8 + 4;

export type RawCallback = (error: Exception | null, body?: Buffer) => void;

interface RawRequest {
  readonly header: { readonly type: number; readonly xid: number } | null;
  readonly rawReply?: true;
}

interface Packet {
  readonly request: RawRequest;
  readonly callback?: RawCallback;
}

interface Connection {
  queue(request: unknown, callback: RawCallback): void;
  onSocketData(frame: Buffer): void;
  pendingQueue: Packet[];
  zxid: Buffer;
}

export const createException = (
  zookeeper.Exception as unknown as { create(code: number): Exception }
).create;

/** Queues an op the library does not know; `done` gets the server's error, or the reply body. */
export function queueRaw(
  client: Client,
  type: number,
  payload: RequestPayload,
  done: RawCallback,
): void {
  const request = Object.assign(requestOf(type, payload), { rawReply: true as const });
  connectionManagerOf<Connection>(client, "queue").queue(request, done);
}

/**
 * Takes the replies to `queueRaw` requests. Installed before the frame splitter
 * (lib/zookeeper/frames.ts) wraps the same handler, so it is given one whole frame at a time.
 */
export function installRawReplies(client: Client): void {
  const connection = connectionManagerOf<Connection>(client, "pendingQueue", "onSocketData");
  const original = connection.onSocketData;
  connection.onSocketData = (frame: Buffer) => {
    const head = connection.pendingQueue[0];
    const header = head?.request.header;
    if (
      head?.request.rawReply &&
      header &&
      frame.length >= REPLY_HEADER_BYTES &&
      frame.readInt32BE(4) === header.xid
    ) {
      connection.pendingQueue.shift();
      connection.zxid = Buffer.from(frame.subarray(8, 16));
      const err = frame.readInt32BE(16);
      if (err !== 0) head.callback?.(createException(err));
      else head.callback?.(null, frame.subarray(REPLY_HEADER_BYTES));
      return;
    }
    original.call(connection, frame);
  };
}
