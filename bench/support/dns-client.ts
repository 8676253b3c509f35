/** A minimal UDP DNS client (one socket, queries matched by ID) for polling the bridge's answers. */
import dgram from "node:dgram";
import dnsPacket from "dns-packet";

export interface AAnswer {
  /** Sorted A addresses in the answer section. */
  readonly addresses: string[];
}

export class DnsClient {
  private nextId = 1;
  private readonly pending = new Map<number, (packet: dnsPacket.Packet) => void>();

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly port: number,
  ) {
    socket.on("message", (msg) => {
      let packet: dnsPacket.Packet;
      try {
        packet = dnsPacket.decode(msg);
      } catch {
        return;
      }
      const done = this.pending.get(packet.id ?? -1);
      if (done) {
        this.pending.delete(packet.id ?? -1);
        done(packet);
      }
    });
  }

  /** A client for the DNS server on 127.0.0.1:`port`. */
  static async open(port: number): Promise<DnsClient> {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
    return new DnsClient(socket, port);
  }

  /** One A query; undefined if no answer came within `timeoutMs`. */
  async queryA(name: string, timeoutMs = 200): Promise<AAnswer | undefined> {
    const id = this.nextId;
    this.nextId = (this.nextId % 65_535) + 1;
    const packet = await new Promise<dnsPacket.Packet | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, timeoutMs);
      this.pending.set(id, (p) => {
        clearTimeout(timer);
        resolve(p);
      });
      this.socket.send(
        dnsPacket.encode({ type: "query", id, questions: [{ type: "A", name }] }),
        this.port,
        "127.0.0.1",
      );
    });
    if (!packet) return undefined;
    const addresses: string[] = [];
    for (const a of packet.answers ?? []) if (a.type === "A") addresses.push(String(a.data));
    return { addresses: addresses.sort() };
  }

  close(): void {
    this.socket.close();
  }
}
