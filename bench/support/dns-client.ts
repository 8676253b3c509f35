/** A minimal UDP DNS client (one socket, queries matched by ID) for polling the bridge's answers. */
import dgram from "node:dgram";
import dnsPacket from "dns-packet";

export const NXDOMAIN = 3;

export interface DnsAnswer {
  /** The response code (dns-packet keeps it in the low 4 bits of `flags`): 0 NOERROR, 3 NXDOMAIN… */
  readonly rcode: number;
  /** Sorted A addresses in the answer section. */
  readonly addresses: string[];
  /** `performance.now()` when the reply arrived. */
  readonly at: number;
}

export class DnsClient {
  private nextId = 1;
  private readonly pending = new Map<number, (answer: DnsAnswer | undefined) => void>();

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly port: number,
  ) {
    socket.on("message", (msg) => {
      const at = performance.now();
      let packet: dnsPacket.Packet;
      try {
        packet = dnsPacket.decode(msg);
      } catch {
        return;
      }
      const done = this.pending.get(packet.id ?? -1);
      if (!done) return; // a reply after its query gave up
      const addresses: string[] = [];
      for (const a of packet.answers ?? []) if (a.type === "A") addresses.push(String(a.data));
      done({ rcode: (packet.flags ?? 0) & 0xf, addresses: addresses.sort(), at });
    });
  }

  /** A client for the DNS server on 127.0.0.1:`port`. */
  static async open(port: number): Promise<DnsClient> {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
    return new DnsClient(socket, port);
  }

  /** One A query; undefined if no answer came within `timeoutMs` (or the client was closed). */
  queryA(name: string, timeoutMs = 200): Promise<DnsAnswer | undefined> {
    const id = this.nextId;
    this.nextId = (this.nextId % 65_535) + 1;
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      const finish = (answer: DnsAnswer | undefined) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(answer);
      };
      this.pending.set(id, finish);
      this.socket.send(
        dnsPacket.encode({ type: "query", id, questions: [{ type: "A", name }] }),
        this.port,
        "127.0.0.1",
      );
    });
  }

  /** Closes the socket; queries still waiting resolve undefined. */
  close(): void {
    for (const finish of [...this.pending.values()]) finish(undefined);
    this.socket.close();
  }
}
