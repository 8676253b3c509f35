/**
 * Requests queued in one tick leave in one socket write. node-zookeeper-client (1.1.3) writes
 * each request as it is queued: a catalog refresh that reads 100 services makes 200 write(2)
 * calls, and ZooKeeper as many reads. Here the first write of a tick corks the socket and the
 * next tick uncorks it, so Node sends the batch with one writev. Back-pressure is unchanged:
 * `write` still returns false past the high-water mark, and `drain` follows the flush.
 */
import type { Client } from "node-zookeeper-client";

interface Writable {
  write(chunk: Buffer, ...rest: unknown[]): boolean;
  cork(): void;
  uncork(): void;
}

/** The part of the library's ConnectionManager this touches. */
interface Connection {
  socket?: Writable;
  onSocketConnected(...args: unknown[]): void;
}

/** Wraps `socket.write` so writes made in the same tick are sent together. */
export function batchWritesPerTick(socket: Writable): void {
  const write = socket.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = function (this: Writable, chunk: Buffer, ...rest: unknown[]) {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write.call(this, chunk, ...rest);
  };
}

/**
 * Installs the batching on every socket `client` connects with (before it connects): the
 * library binds `onSocketConnected` afresh for each new socket.
 */
export function installWriteBatching(client: Client): void {
  const manager = (client as unknown as { connectionManager?: Connection }).connectionManager;
  if (typeof manager?.onSocketConnected !== "function") {
    throw new Error("node-zookeeper-client has no connectionManager.onSocketConnected to wrap");
  }
  const original = manager.onSocketConnected;
  manager.onSocketConnected = function (this: Connection, ...args: unknown[]) {
    if (this.socket) batchWritesPerTick(this.socket);
    original.apply(this, args);
  };
}
