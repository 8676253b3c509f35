/**
 * node-zookeeper-client's ConnectionManager, which the lean request paths (reads, multis,
 * addWatch, multiRead) queue on directly, and the requests they queue. Its typings do not
 * describe it; callers name the members they rely on, so a library upgrade that renames one
 * fails at the first use, loudly.
 */
import type { Client } from "node-zookeeper-client";
import jute, { type Request, type RequestPayload } from "node-zookeeper-client/lib/jute/index.js";

export function connectionManagerOf<T extends object>(
  client: Client,
  ...members: ReadonlyArray<keyof T & string>
): T {
  const manager = (client as unknown as { connectionManager?: Record<string, unknown> })
    .connectionManager;
  for (const m of members) {
    if (manager?.[m] === undefined) {
      throw new Error(`node-zookeeper-client has no connectionManager.${m}`);
    }
  }
  return manager as unknown as T;
}

/** A request as the library queues its own: a RequestHeader of op `type`, then `payload`. */
export function requestOf(type: number, payload: RequestPayload): Request {
  const RequestHeader = jute.protocol.RequestHeader;
  if (!RequestHeader) throw new Error("node-zookeeper-client has no jute record RequestHeader");
  const header = new RequestHeader();
  header.type = type;
  return new jute.Request(header, payload);
}
