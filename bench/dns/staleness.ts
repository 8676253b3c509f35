/**
 * How stale the bridge's answers are under churn: for sampled replacements, poll the bridge
 * over UDP from the moment ZooKeeper acknowledged the write until the new instance's name
 * answers with its address (appeared) and the old instance's name is NXDOMAIN (gone).
 */
import dgram from "node:dgram";
import packet from "dns-packet";
import type { Replacement } from "./zk-registry.js";

export interface StalenessSample {
  /** Benchmark phase when ZooKeeper acknowledged the write. */
  readonly phase: string;
  /** ZooKeeper's multi round trip (write sent → acknowledged), ms. */
  readonly writeMs: number;
  /** Acknowledged → first answer with the new instance; undefined if not seen within the timeout. */
  appearMs: number | undefined;
  /** Acknowledged → first NXDOMAIN for the old instance; undefined if not seen within the timeout. */
  goneMs: number | undefined;
}

type Kind = "appear" | "gone";

interface Pending {
  readonly r: Replacement;
  readonly sample: StalenessSample;
  /** Query id in flight per kind, with when it was sent. */
  readonly outstanding: Map<Kind, { id: number; at: number }>;
}

export interface StalenessOptions {
  readonly port: number;
  readonly zone: string;
  /** Poll period per pending sample. Default 5 ms (the resolution of the figures). */
  readonly intervalMs?: number;
  /** Give up on a sample after this long. Default 10 s. */
  readonly timeoutMs?: number;
}

export class StalenessProbe {
  readonly samples: StalenessSample[] = [];
  private readonly socket = dgram.createSocket("udp4");
  private readonly pending = new Set<Pending>();
  private readonly byId = new Map<number, { p: Pending; kind: Kind }>();
  private nextId = 1;
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly opts: StalenessOptions) {
    this.intervalMs = opts.intervalMs ?? 5;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.socket.on("message", (msg) => this.onReply(msg));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.bind(0, "127.0.0.1", resolve));
    this.timer = setInterval(() => this.poll(), this.intervalMs);
  }

  /** Follow one acknowledged replacement until both its changes are visible (or time out). */
  track(r: Replacement, phase: string): void {
    const sample: StalenessSample = {
      phase,
      writeMs: r.ackAt - r.sentAt,
      appearMs: undefined,
      goneMs: undefined,
    };
    this.samples.push(sample);
    const p: Pending = { r, sample, outstanding: new Map() };
    this.pending.add(p);
    this.send(p, "appear");
    this.send(p, "gone");
  }

  /** Samples still being followed. */
  get inProgress(): number {
    return this.pending.size;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private name(p: Pending, kind: Kind): string {
    const r = kind === "appear" ? p.r.next : p.r.old;
    return `${r.id}.${r.service}.${this.opts.zone}`;
  }

  private send(p: Pending, kind: Kind): void {
    const id = this.nextId;
    this.nextId = (this.nextId % 65535) + 1;
    this.byId.set(id, { p, kind });
    p.outstanding.set(kind, { id, at: performance.now() });
    const q = packet.encode({
      type: "query",
      id,
      questions: [{ name: this.name(p, kind), type: "A", class: "IN" }],
    });
    this.socket.send(q, this.opts.port, "127.0.0.1");
  }

  private poll(): void {
    const now = performance.now();
    for (const p of this.pending) {
      if (now - p.r.ackAt > this.timeoutMs) {
        this.finish(p);
        continue;
      }
      for (const kind of ["appear", "gone"] as const) {
        if ((kind === "appear" ? p.sample.appearMs : p.sample.goneMs) !== undefined) continue;
        const out = p.outstanding.get(kind);
        // One query per kind in flight; a reply lost under load is re-asked after 100 ms.
        if (out && now - out.at < 100) continue;
        if (out) this.byId.delete(out.id);
        this.send(p, kind);
      }
    }
  }

  private onReply(msg: Buffer): void {
    const now = performance.now();
    let reply: packet.Packet;
    try {
      reply = packet.decode(msg);
    } catch {
      return;
    }
    const hit = this.byId.get(reply.id ?? -1);
    if (!hit) return;
    this.byId.delete(reply.id ?? -1);
    const { p, kind } = hit;
    p.outstanding.delete(kind);
    if (!this.pending.has(p)) return;
    const nxdomain = ((reply.flags ?? 0) & 0xf) === 3; // dns-packet keeps the rcode in flags
    const elapsed = now - p.r.ackAt;
    if (kind === "appear") {
      const seen = (reply.answers ?? []).some((a) => a.type === "A" && a.data === p.r.next.address);
      if (seen) p.sample.appearMs = elapsed;
    } else if (nxdomain) {
      p.sample.goneMs = elapsed;
    }
    if (p.sample.appearMs !== undefined && p.sample.goneMs !== undefined) this.finish(p);
  }

  private finish(p: Pending): void {
    this.pending.delete(p);
    for (const out of p.outstanding.values()) this.byId.delete(out.id);
  }
}
