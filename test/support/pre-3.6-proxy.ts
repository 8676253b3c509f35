/**
 * A loopback proxy in front of a real ZooKeeper that makes it look older than 3.6 to clients:
 * an `addWatch` or `multiRead` request (opcodes 106, 22) is answered as ZooKeeper 3.5's
 * UnimplementedRequestProcessor answers any op it does not know: once every earlier request
 * has its reply, an UNIMPLEMENTED reply header, then the connection is closed (the session
 * lives on). Everything else passes
 * through untouched. Real sockets and a real server; only the version is pretended.
 */
import net from "node:net";
import { frameSplitter } from "../../lib/zookeeper/frames.js";
import { listenOnLoopback } from "./tcp-proxy.js";

/** addWatch and multiRead, which ZooKeeper 3.6 added. */
const NEW_IN_3_6 = new Set([106, 22]);
const UNIMPLEMENTED = -6;
const NOTIFICATION_XID = -1;

export interface Pre36Proxy {
  readonly connect: string;
  /** 3.6 requests refused so far. */
  readonly refused: number;
  close(): Promise<void>;
}

/** Calls `onFrame` with each whole length-prefixed frame read from `socket` (the bridge's splitter). */
function frames(socket: net.Socket, onFrame: (frame: Buffer) => void): void {
  socket.on(
    "data",
    frameSplitter(
      onFrame,
      () => socket,
      () => socket.destroyed,
    ),
  );
}

export async function startPre36Proxy(targetPort: number): Promise<Pre36Proxy> {
  let refused = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: "127.0.0.1", port: targetPort });
    sockets.add(client).add(upstream);
    // The first frame each way is the handshake (ConnectRequest / ConnectResponse): no xid.
    let requestHandshakeSeen = false;
    let replyHandshakeSeen = false;
    let outstanding = 0; // requests forwarded and not yet answered
    let lastZxid = Buffer.alloc(8);
    let refusing: number | undefined; // xid of the request to refuse, once the rest is answered
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    const refuseIfDue = () => {
      if (refusing === undefined || outstanding > 0) return;
      const reply = Buffer.alloc(20);
      reply.writeInt32BE(16, 0);
      reply.writeInt32BE(refusing, 4);
      lastZxid.copy(reply, 8);
      reply.writeInt32BE(UNIMPLEMENTED, 16);
      refused++;
      refusing = undefined;
      client.end(reply, close);
    };
    frames(client, (frame) => {
      if (refusing !== undefined) return; // the connection is about to close
      if (!requestHandshakeSeen) {
        requestHandshakeSeen = true;
        upstream.write(frame);
        return;
      }
      if (frame.length >= 12 && NEW_IN_3_6.has(frame.readInt32BE(8))) {
        refusing = frame.readInt32BE(4);
        refuseIfDue();
        return;
      }
      outstanding++;
      upstream.write(frame);
    });
    frames(upstream, (frame) => {
      if (!replyHandshakeSeen) {
        replyHandshakeSeen = true;
      } else if (frame.readInt32BE(4) !== NOTIFICATION_XID) {
        outstanding--;
        lastZxid = Buffer.from(frame.subarray(8, 16));
      }
      if (!client.destroyed) client.write(frame);
      refuseIfDue();
    });
    client.on("close", close).on("error", close);
    upstream.on("close", close).on("error", close);
  });
  const port = await listenOnLoopback(server);
  return {
    connect: `127.0.0.1:${port}`,
    get refused() {
      return refused;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
