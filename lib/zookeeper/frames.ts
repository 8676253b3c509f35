/**
 * Hands node-zookeeper-client's connection manager one whole reply frame at a time. Given a
 * socket chunk holding many frames, the library (1.1.3) handles the first and then calls itself
 * again with `Buffer.concat([rest, empty])`, copying the rest of the chunk once per frame:
 * quadratic in the frames per chunk. A DNS catalog reading 100,000 nodes gets hundreds of small
 * replies per chunk, and those copies were a large share of its CPU and garbage. Here each frame
 * (a 4-byte big-endian length, then the body) is cut out without copying; only a frame split
 * across chunks is joined.
 */
import type { Client } from "node-zookeeper-client";

/** The part of the library's ConnectionManager this touches. */
interface FrameReader {
  socket?: { readonly destroyed: boolean };
  pendingBuffer: Buffer | null;
  onSocketData(chunk: Buffer): void;
}

/** Length prefix of a ZooKeeper frame. */
const HEADER = 4;

/**
 * Wraps `handleFrame` (called with exactly one frame each time) as a socket `data` handler.
 * `connection()` names the connection the data comes from: a new one discards a partial frame
 * left by the last. Stops at a frame after which `stopped()` holds (the handler gave up on the
 * connection), and passes a frame with a negative length on as the rest of the chunk.
 */
export function frameSplitter(
  handleFrame: (frame: Buffer) => void,
  connection: () => unknown,
  stopped: () => boolean,
): (chunk: Buffer) => void {
  let pending: Buffer | undefined;
  let pendingFor: unknown;
  return (chunk) => {
    const conn = connection();
    const buf = pending && pendingFor === conn ? Buffer.concat([pending, chunk]) : chunk;
    pending = undefined;
    let offset = 0;
    while (buf.length - offset >= HEADER) {
      const size = buf.readInt32BE(offset);
      if (size < 0) {
        handleFrame(buf.subarray(offset)); // corrupt: the library's own handling decides
        return;
      }
      const end = offset + HEADER + size;
      if (end > buf.length) break;
      handleFrame(buf.subarray(offset, end));
      offset = end;
      if (stopped()) return;
    }
    if (offset < buf.length) {
      // Copied: a view would keep the whole chunk alive until the frame completes.
      pending = Buffer.from(buf.subarray(offset));
      pendingFor = conn;
    }
  };
}

/** Installs the splitter on `client`'s connection manager (before it connects). */
export function installFrameSplitter(client: Client): void {
  const manager = (client as unknown as { connectionManager?: FrameReader }).connectionManager;
  if (typeof manager?.onSocketData !== "function") {
    throw new Error("node-zookeeper-client has no connectionManager.onSocketData to wrap");
  }
  const original = manager.onSocketData;
  manager.onSocketData = frameSplitter(
    (frame) => {
      // Whole frames only, so the library never keeps a remainder of its own.
      manager.pendingBuffer = null;
      original.call(manager, frame);
    },
    () => manager.socket,
    () => manager.socket?.destroyed ?? true,
  );
}
