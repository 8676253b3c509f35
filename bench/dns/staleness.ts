/**
 * How stale the bridge's answers are under churn: for sampled replacements, poll the bridge
 * over UDP from the moment ZooKeeper acknowledged the write until the new instance's name
 * answers with its address (appeared) and the old instance's name is NXDOMAIN (gone).
 */
import { DnsClient, NXDOMAIN } from "../support/dns-client.js";
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
const KINDS = ["appear", "gone"] as const;

interface Pending {
  readonly r: Replacement;
  readonly sample: StalenessSample;
  /** Kinds with a query in flight. */
  readonly asking: Set<Kind>;
}

export interface StalenessOptions {
  readonly port: number;
  readonly zone: string;
  /** Poll period per pending sample. Default 5 ms (the resolution of the figures). */
  readonly intervalMs?: number;
  /** Give up on a sample after this long. Default 10 s. */
  readonly timeoutMs?: number;
}

/** A reply lost under load is asked again after this long. */
const REASK_MS = 100;

export class StalenessProbe {
  readonly samples: StalenessSample[] = [];
  private readonly pending = new Set<Pending>();
  private client: DnsClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly opts: StalenessOptions) {
    this.intervalMs = opts.intervalMs ?? 5;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async start(): Promise<void> {
    this.client = await DnsClient.open(this.opts.port);
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
    const p: Pending = { r, sample, asking: new Set() };
    this.pending.add(p);
    for (const kind of KINDS) this.ask(p, kind);
  }

  /** Samples still being followed. */
  get inProgress(): number {
    return this.pending.size;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.pending.clear();
    this.client?.close();
  }

  private poll(): void {
    const now = performance.now();
    for (const p of this.pending) {
      if (now - p.r.ackAt > this.timeoutMs) {
        this.pending.delete(p);
        continue;
      }
      for (const kind of KINDS) if (!this.seen(p, kind) && !p.asking.has(kind)) this.ask(p, kind);
    }
  }

  private seen(p: Pending, kind: Kind): boolean {
    return (kind === "appear" ? p.sample.appearMs : p.sample.goneMs) !== undefined;
  }

  /** One query per kind in flight: its answer, or its timeout, lets the next poll ask again. */
  private ask(p: Pending, kind: Kind): void {
    const client = this.client;
    if (!client) return;
    const r = kind === "appear" ? p.r.next : p.r.old;
    p.asking.add(kind);
    void client.queryA(`${r.id}.${r.service}.${this.opts.zone}`, REASK_MS).then((answer) => {
      p.asking.delete(kind);
      if (!answer || !this.pending.has(p)) return;
      const elapsed = answer.at - p.r.ackAt;
      if (kind === "appear") {
        if (answer.addresses.includes(p.r.next.address)) p.sample.appearMs = elapsed;
      } else if (answer.rcode === NXDOMAIN) {
        p.sample.goneMs = elapsed;
      }
      if (this.seen(p, "appear") && this.seen(p, "gone")) this.pending.delete(p);
    });
  }
}
