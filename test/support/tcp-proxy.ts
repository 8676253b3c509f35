/**
 * A loopback TCP proxy that can black-hole traffic: connections stay open but no byte moves
 * either way, the way a partitioned network looks to a client. As with TCP retransmission,
 * bytes sent into the hole arrive once it closes. Real sockets, nothing mocked.
 */
import net from "node:net";

export interface TcpProxy {
  readonly port: number;
  readonly connect: string;
  /** While on, bytes are held back in both directions (new connections too) until it is off. */
  blackhole(on: boolean): void;
  /** Reset every open connection (a crisp network error, unlike a black hole). */
  resetAll(): void;
  close(): Promise<void>;
}

/** Listens on a free 127.0.0.1 port; resolves with the port. */
export async function listenOnLoopback(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  return typeof addr === "object" && addr ? addr.port : 0;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let holed = false;
  const pairs = new Set<[net.Socket, net.Socket]>();
  const held: Array<() => void> = [];
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: "127.0.0.1", port: targetPort });
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on("data", (d) => {
        const send = () => {
          if (!to.destroyed) to.write(d);
        };
        if (holed) held.push(send);
        else send();
      });
    forward(client, upstream);
    forward(upstream, client);
    const close = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", close).on("error", close);
    upstream.on("close", close).on("error", close);
  });
  const port = await listenOnLoopback(server);
  return {
    port,
    connect: `127.0.0.1:${port}`,
    blackhole(on) {
      holed = on;
      if (!on) for (const send of held.splice(0)) send();
    },
    resetAll() {
      for (const [a, b] of pairs) {
        a.resetAndDestroy();
        b.destroy();
      }
      pairs.clear();
    },
    async close() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
