/**
 * A benchmark registry in a real ZooKeeper: N services × M instances written as Curator JSON
 * (lib/formats' encoder, so the bytes are what Curator/Spring clients write) under the
 * bridge's default base path, by a plain client in batched multi-ops; and a churn
 * driver that replaces instances at a fixed rate, as a fleet of redeploying clients would.
 */
import { encodeCurator } from "../../lib/formats/curator.js";
import type { Registration } from "../../lib/registration.js";
import { BASE_PATH } from "../support/bridge-defaults.js";
import { inParallel } from "../support/parallel.js";
import {
  type Client,
  EPHEMERAL,
  exists,
  mkdirp,
  PERSISTENT,
  writeBatched,
} from "../support/zk-client.js";

export const servicePath = (service: string) => `${BASE_PATH}/${service}`;
export const instancePath = (r: Registration) => `${servicePath(r.service)}/${r.id}`;

const encode = (r: Registration) =>
  encodeCurator(r, { payload: "spring", registrationTimeUTC: 1_700_000_000_000 });

/**
 * Create the service nodes (persistent, as Curator leaves them) and one EPHEMERAL node per
 * registration, owned by `client`'s session. Services that exist already are left as they are.
 */
export async function writeRegistry(client: Client, regs: readonly Registration[]): Promise<void> {
  await mkdirp(client, BASE_PATH);
  const services = [...new Set(regs.map((r) => r.service))];
  const missing: string[] = [];
  await inParallel(
    services.map((s) => async () => {
      if (!(await exists(client, servicePath(s)))) missing.push(s);
    }),
    64,
  );
  const empty = Buffer.alloc(0);
  await writeBatched(
    client,
    missing.map((s) => ({ path: servicePath(s), data: empty, mode: PERSISTENT })),
  );
  await writeBatched(
    client,
    regs.map((r) => ({ path: instancePath(r), data: encode(r), mode: EPHEMERAL })),
  );
}

/** One instance replaced: the old one's node deleted and a new one created, atomically. */
export interface Replacement {
  readonly old: Registration;
  readonly next: Registration;
  /** performance.now() when the multi was sent / acknowledged by ZooKeeper. */
  readonly sentAt: number;
  ackAt: number;
}

export interface ChurnOptions {
  /** Replacements per second. */
  readonly rate: number;
  /** Instance slots never replaced (the first `stableSlots` of each service), so queries for them keep resolving. */
  readonly stableSlots: number;
  /** Multis in flight at most; past that the driver falls behind (and the achieved rate shows it). */
  readonly maxInFlight?: number;
  /** Told of each acknowledged replacement. */
  readonly onReplaced?: (r: Replacement) => void;
}

/**
 * Replaces instances at `rate` per second, spread over services (a stride through them, a
 * random replaceable slot in each), each as one multi {remove old, create new with a new id
 * and address}. Keeps the registry's current state in `current`.
 */
export class ChurnDriver {
  /** Service index → its current instances, by slot. */
  readonly current: Registration[][];
  private readonly opts: Required<Omit<ChurnOptions, "onReplaced">> &
    Pick<ChurnOptions, "onReplaced">;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private issued = 0;
  private inFlight = 0;
  private cursor = 0;
  private generation = 0;
  private nextAddress: number;
  private seed = 987654321;
  /** Replacements acknowledged / failed so far. */
  acked = 0;
  failed = 0;
  private stopped = true;

  constructor(
    private readonly client: Client,
    registrations: readonly Registration[],
    options: ChurnOptions,
  ) {
    this.opts = { maxInFlight: 500, ...options };
    const byService = new Map<string, Registration[]>();
    for (const r of registrations) {
      const list = byService.get(r.service);
      if (list) list.push(r);
      else byService.set(r.service, [r]);
    }
    this.current = [...byService.values()];
    this.nextAddress = registrations.length;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.startedAt = performance.now();
    this.issued = 0;
    this.timer = setInterval(() => this.tick(), 5);
  }

  /** Stop issuing; resolves when the multis in flight are acknowledged. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    while (this.inFlight > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private rand(n: number): number {
    this.seed = (this.seed * 1103515245 + 12345) & 0x7fffffff;
    return this.seed % n;
  }

  private tick(): void {
    const due = Math.floor(((performance.now() - this.startedAt) / 1000) * this.opts.rate);
    while (this.issued < due && this.inFlight < this.opts.maxInFlight) {
      this.issued++;
      this.replaceOne();
    }
    // Falling behind is not caught up in a burst: the achieved rate reports it instead.
    if (due - this.issued > this.opts.rate) this.issued = due - this.opts.rate;
  }

  private replaceOne(): void {
    const services = this.current.length;
    // A stride coprime with most service counts walks every service before repeating one.
    const s = (this.cursor++ * 7919) % services;
    const list = this.current[s] as Registration[];
    const stable = Math.min(this.opts.stableSlots, list.length - 1);
    const slot = stable + this.rand(list.length - stable);
    const old = list[slot] as Registration;
    const n = this.nextAddress++;
    const next: Registration = {
      ...old,
      id: `${old.service.split(".")[0]}-g${++this.generation}`,
      address: `10.${128 + ((n >> 16) & 127)}.${(n >> 8) & 255}.${n & 255}`,
    };
    list[slot] = next;
    const tx = this.client.transaction();
    tx.remove(instancePath(old), -1);
    tx.create(instancePath(next), encode(next), EPHEMERAL);
    const r: Replacement = { old, next, sentAt: performance.now(), ackAt: 0 };
    this.inFlight++;
    tx.commit((e) => {
      this.inFlight--;
      if (e) {
        this.failed++;
        return;
      }
      r.ackAt = performance.now();
      this.acked++;
      this.opts.onReplaced?.(r);
    });
  }
}
