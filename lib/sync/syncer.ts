/**
 * The reconcile loop: hands the desired state to the planner whenever it may have changed
 * (and on a timer, to repair drift), applies the plan, and keeps an in-memory view of the nodes
 * it owns so a steady state costs no ZooKeeper reads.
 *
 * After a full pass, a change replans only the parents (service znodes) of the groups whose
 * desired registrations changed, so one endpoint's change costs the same with 10 Services or
 * 10,000. The first pass allowed to delete adds the parents whose last plan held a remove back;
 * a rescan or a new writer term replans everything.
 *
 * Deletes wait until the Kubernetes caches have synced AND the ZooKeeper tree has been scanned
 * in the current session: a restart or reconnect never mass-deregisters.
 */

import { Backoff } from "../backoff.js";
import type { FormatError } from "../formats/format-error.js";
import type { DesiredGeneration } from "../kubernetes/desired-state.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { type DesiredRegistration, registrationKey } from "../registration.js";
import { ReportedOnce } from "../reported-once.js";
import type { ShardedMap } from "../sharded-map.js";
import type { ApplyResult, ScannedParent, ZkRegistry } from "../zookeeper/registry.js";
import type { ZkSession } from "../zookeeper/session.js";
import { OwnedNodes } from "./owned.js";
import { type Change, chunksByParent, type OwnedNode, type ParentChunk, plan } from "./plan.js";

/** Registrations per planned-and-written chunk (whole parents, so a chunk may be larger). */
const CHUNK_SIZE = 1_000;
/** Chunks being written at once; each is itself several multis in flight. */
const CHUNKS_IN_FLIGHT = 3;
/** After a new scan: batches of parents being read ahead of the chunk being planned. */
const READ_AHEAD = 3;
/** Parents per scan batch at most, however few registrations they want. */
const PARENTS_PER_BATCH = 500;

/** What the syncer needs of the Kubernetes side. */
export interface DesiredSource {
  /**
   * The whole desired state now, in groups (per Service), with which groups changed since the
   * generation before (when known): the syncer replans only those.
   */
  desiredGeneration(): DesiredGeneration;
  /** True once every informer has listed since its last (re)start. */
  synced(): boolean;
  /** Called, coalesced, whenever the desired state or `synced()` may have changed. */
  onChange(cb: () => void): void;
}

export interface SyncerOptions {
  readonly source: DesiredSource;
  readonly registry: ZkRegistry;
  readonly session: ZkSession;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Log the plan, write nothing. */
  readonly dryRun?: boolean;
  /**
   * Check for drift this often (default 60 s): list the children of every parent we write to
   * and restore our nodes deleted behind our back. A full rescan (every node read) happens on a
   * new session, a new writer term or a failed write.
   */
  readonly resyncMs?: number;
  /** Delay before a pass after a change (default 2 ms); changes during a pass join the next one. */
  readonly debounceMs?: number;
  /** With several replicas: write only while this says so (leader election). */
  readonly gate?: WriteGate;
}

/** Permission to write, e.g. leadership. `change` must fire whenever `isLeader()` flips. */
export interface WriteGate {
  isLeader(): boolean;
  /** The leadership term while leading; the same term again means nobody else wrote since. */
  term?(): string | undefined;
  on(event: "change", listener: (leader: boolean) => void): unknown;
  off(event: "change", listener: (leader: boolean) => void): unknown;
}

export interface SyncStatus {
  /** The ZooKeeper tree has been scanned in the current session and one plan applied since. */
  readonly inSync: boolean;
  readonly owned: number;
  readonly lastError: string | undefined;
  /** While a pass writes: registrations of its chunks written so far, of all it plans. */
  readonly progress?: { readonly done: number; readonly total: number };
}

export class Syncer {
  private owned = new OwnedNodes();
  /** The leadership term of the last pass that wrote (see WriteGate.term). */
  private lastTerm: string | undefined;
  /** The generation the last pass planned, or undefined: plan everything next. */
  private planned: DesiredGeneration | undefined;
  private plannedAllowDeletes = false;
  /** Parents whose last plan held back a remove because deletes were not allowed yet. */
  private heldBack = new Set<string>();
  /** Which groups want registrations under each parent, for `planned`. */
  private groupsByParent = new Map<string, Set<string>>();
  /** Owned nodes per (service, format), for the registrations gauge. */
  private readonly counts = new Map<string, number>();
  private scannedSession: string | undefined;
  private needScan = true;
  /** A drift check is listing our parents (outside any pass, so changes keep flowing). */
  private checking = false;
  /** Nodes the last drift check found missing, to forget and replan in the next pass. */
  private missing: OwnedNode[] = [];
  private running = false;
  private stopped = true;
  private wakeTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private pass: Promise<void> = Promise.resolve();
  private applied = false;
  private passStartedAt: number | undefined;
  private lastError: string | undefined;
  private progress: { done: number; total: number } | undefined;
  private readonly backoff = new Backoff({ initialMs: 200, maxMs: 10_000 });
  private readonly changeLog: ChangeLog;
  /** Unwritable registrations already logged, with why (logged again only if that changes). */
  private readonly reportedUnwritable = new ReportedOnce(MAX_REPORTED);
  private readonly onSession = () => {
    this.needScan = true;
    this.applied = false;
    this.trigger();
  };
  private readonly onState = () => this.trigger();
  private readonly onGate = (leader: boolean) => {
    // Adopt what another leader wrote; after a mere disconnect in our own term, nobody did.
    if (leader && (this.lastTerm === undefined || this.opts.gate?.term?.() !== this.lastTerm))
      this.needScan = true;
    this.applied = false;
    this.trigger(0);
  };

  constructor(private readonly opts: SyncerOptions) {
    this.changeLog = new ChangeLog(opts.logger, opts.dryRun === true);
  }

  /** Starts reconciling; returns at once. */
  start(): void {
    this.stopped = false;
    this.opts.source.onChange(() => this.trigger());
    this.opts.session.on("session", this.onSession);
    this.opts.session.on("state", this.onState);
    this.opts.gate?.on("change", this.onGate);
    this.resyncTimer = setInterval(() => void this.checkDrift(), this.opts.resyncMs ?? 60_000);
    this.trigger(0);
  }

  /** Stops the loop and waits for a pass under way. Writes nothing more. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.wakeTimer);
    clearInterval(this.resyncTimer);
    this.opts.session.off("session", this.onSession);
    this.opts.session.off("state", this.onState);
    this.opts.gate?.off("change", this.onGate);
    await this.pass;
  }

  status(): SyncStatus {
    return {
      inSync: this.applied && this.scannedSession === this.opts.session.sessionId,
      owned: this.owned.size,
      lastError: this.lastError,
      ...(this.progress ? { progress: { ...this.progress } } : {}),
    };
  }

  /**
   * True when one pass has been under way longer than `boundMs`. Every ZooKeeper call has a
   * deadline, so a pass that long means the loop is wedged: /healthz then fails and the
   * kubelet restarts the process.
   */
  stalled(boundMs = 120_000): boolean {
    return this.passStartedAt !== undefined && Date.now() - this.passStartedAt > boundMs;
  }

  /** The nodes the bridge owns, as last written or scanned. */
  ownedNodes(): OwnedNode[] {
    return [...this.owned.values()];
  }

  /** Schedules a pass after `delayMs` (coalescing: an earlier schedule wins). */
  private trigger(delayMs = this.opts.debounceMs ?? 2): void {
    if (this.stopped || this.wakeTimer) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.pass = this.pass.then(() => this.runPass());
    }, delayMs);
  }

  private async runPass(): Promise<void> {
    if (this.stopped || this.running) return;
    if (this.opts.session.state !== "connected") return; // the state event triggers us again
    if (this.opts.gate && !this.opts.gate.isLeader()) return; // the gate's change triggers us
    this.running = true;
    this.passStartedAt = Date.now();
    const started = performance.now();
    try {
      const again = await this.reconcile();
      this.backoff.reset();
      this.lastError = undefined;
      if (again) this.trigger(0);
    } catch (err) {
      this.needScan = true;
      this.lastError = (err as Error).message;
      const delay = this.backoff.next();
      this.opts.logger.warn({ err: this.lastError, retryInMs: delay }, "reconcile failed");
      this.trigger(delay);
    } finally {
      this.running = false;
      this.passStartedAt = undefined;
      this.opts.metrics?.reconcileDuration.observe((performance.now() - started) / 1000);
    }
  }

  /** One pass; true if another pass is needed at once. */
  private async reconcile(): Promise<boolean> {
    const { registry, session, source } = this.opts;
    const generation = source.desiredGeneration();
    const groups = generation.groups;
    const allowDeletes = source.synced();
    let scan: Scan | undefined;
    if (this.needScan || this.scannedSession !== session.sessionId) {
      const sessionId = this.opts.dryRun ? session.sessionId : await registry.claimSession();
      const extraParents = new Set<string>();
      for (const regs of groups.values())
        for (const d of regs) if (d.format === "serverset") extraParents.add(d.parent);
      // Only listed here: the parents are read chunk by chunk as the plan is written.
      scan = { sessionId, parents: await registry.scanParents(extraParents) };
      this.owned = new OwnedNodes();
      this.missing = [];
      this.planned = undefined;
    }
    const drifted = this.forgetMissing();
    const changed = this.planned && changedSince(generation, this.planned);
    const scope =
      changed && this.planned
        ? this.changedParents(this.planned.groups, groups, changed)
        : undefined;
    for (const parent of drifted) scope?.add(parent);
    // Plans with and without deletes differ only where a remove was held back.
    if (allowDeletes && !this.plannedAllowDeletes) for (const p of this.heldBack) scope?.add(p);
    if (scope === undefined) {
      this.indexParents(groups);
      this.heldBack.clear();
    } else for (const p of scope) this.heldBack.delete(p);
    this.planned = generation;
    this.plannedAllowDeletes = allowDeletes;
    if (scope?.size === 0) {
      // Nothing to write: what we own already is the plan (e.g. regaining the lead in our term).
      this.applied = allowDeletes || this.applied;
      this.lastTerm = this.opts.gate?.term?.();
      return false;
    }

    const desired: DesiredRegistration[] = [];
    let chunks: Iterable<ParentChunk> | AsyncIterable<ParentChunk>;
    if (scope === undefined) {
      for (const regs of groups.values())
        for (const d of regs) if (registry.publishable(d)) desired.push(d);
      chunks = scan
        ? this.scannedChunks(scan, desired)
        : chunksByParent(this.owned.values(), desired, CHUNK_SIZE);
    } else {
      for (const parent of scope) {
        for (const key of this.groupsByParent.get(parent) ?? []) {
          for (const d of groups.get(key) ?? [])
            if (d.parent === parent && registry.publishable(d)) desired.push(d);
        }
      }
      chunks = chunksByParent(this.owned.under(scope), desired, CHUNK_SIZE);
    }
    let result: ApplyResult | undefined;
    try {
      result = await this.planAndApply(chunks, desired.length, allowDeletes);
    } catch (err) {
      this.planned = undefined;
      throw err;
    }
    if (result === undefined) {
      this.applied = true; // dry run: the plan is logged, nothing written
      return false;
    }
    const touched = new Set<string>();
    for (const n of result.removed) {
      if (this.owned.delete(n.path)) this.count(n, -1, touched);
    }
    for (const n of result.written) {
      if (!this.owned.has(n.path)) this.count(n, 1, touched);
      this.owned.set(n);
    }
    this.publishCounts(touched);
    const emptied = result.removed.map((n) => n.parent);
    if (allowDeletes && emptied.length > 0) await registry.cleanupParents(emptied);
    if (result.rescan) {
      this.needScan = true;
      return true;
    }
    this.applied = allowDeletes || this.applied;
    this.lastTerm = this.opts.gate?.term?.();
    return false;
  }

  /** An unwritable registration is left out of the plan: warned about once, and counted. */
  private reportUnwritable(d: DesiredRegistration, err: FormatError): void {
    if (!this.reportedUnwritable.first(registrationKey(d), err.message)) return;
    this.opts.metrics?.syncSkipped.inc({ reason: err.reason });
    this.opts.logger.warn(
      { service: d.service, id: d.id, format: d.format, reason: err.message },
      "sync: skipping a registration that cannot be written",
    );
  }

  /**
   * Plans and writes in chunks of whole parents, each chunk's writes under way while the next
   * is rendered: a cold start of 100,000 registrations would otherwise render and log them all
   * before its first write. Resolves with every chunk's result merged, or undefined on a dry
   * run; after a failed chunk, starts no more and rejects once those under way have settled.
   */
  private async planAndApply(
    chunks: Iterable<ParentChunk> | AsyncIterable<ParentChunk>,
    total: number,
    allowDeletes: boolean,
  ): Promise<ApplyResult | undefined> {
    const { registry, session, metrics } = this.opts;
    const dryRun = this.opts.dryRun === true;
    const merged = {
      written: [] as OwnedNode[],
      removed: [] as OwnedNode[],
      rescan: false,
      failed: 0,
    };
    const writing: Promise<void>[] = [];
    let failure: { error: unknown } | undefined;
    let queued = 0;
    const progress = { done: 0, total };
    this.progress = progress;
    try {
      for await (const chunk of chunks) {
        if (failure) break;
        const changes = plan(chunk.owned, chunk.desired, {
          session: session.sessionId ?? "",
          allowDeletes,
          render: (d, prev) => registry.render(d, prev),
          onUnwritable: (d, err) => this.reportUnwritable(d, err),
          onHeldBack: (node) => this.heldBack.add(node.parent),
        });
        this.changeLog.log(changes);
        if (changes.length === 0 || dryRun) {
          progress.done += chunk.desired.length;
          continue;
        }
        queued += changes.length;
        metrics?.queueDepth.set(queued);
        const write = registry.apply(changes).then(
          (r) => {
            merged.written.push(...r.written);
            merged.removed.push(...r.removed);
            merged.rescan ||= r.rescan;
            merged.failed += r.failed;
            queued -= changes.length;
            metrics?.queueDepth.set(queued);
            progress.done += chunk.desired.length;
          },
          (error: unknown) => {
            failure ??= { error };
          },
        );
        writing.push(write);
        if (writing.length >= CHUNKS_IN_FLIGHT) await writing.shift();
      }
      await Promise.all(writing);
    } finally {
      this.progress = undefined;
    }
    metrics?.queueDepth.set(0);
    if (failure) throw failure.error;
    return dryRun ? undefined : merged;
  }

  /**
   * The chunks of the full plan after a new scan, each as soon as its parents have been read,
   * so a recovery's first writes go out while later parents are still being read. Reads run
   * READ_AHEAD batches ahead of the plan: the session serves requests in order, so a read sent
   * after a chunk's writes would wait for their commit. Once every parent is read the scan is
   * done: the owned view complete, the ledger pruned. Desired parents that do not exist yet
   * (nothing to read) come last.
   */
  private async *scannedChunks(
    scan: Scan,
    desired: readonly DesiredRegistration[],
  ): AsyncGenerator<ParentChunk> {
    const { registry } = this.opts;
    const wanted = new Map<string, DesiredRegistration[]>();
    for (const d of desired) {
      const list = wanted.get(d.parent);
      if (list) list.push(d);
      else wanted.set(d.parent, [d]);
    }
    const batches = parentBatches(scan.parents, wanted, CHUNK_SIZE);
    const reads: Promise<OwnedNode[]>[] = [];
    const readNext = () => {
      const batch = batches[reads.length];
      if (!batch) return;
      const read = registry.readOwned(batch);
      read.catch(() => undefined); // awaited below; this only covers a pass abandoned early
      reads.push(read);
    };
    for (let i = 0; i < READ_AHEAD; i++) readNext();
    for (const [i, batch] of batches.entries()) {
      const owned = await (reads[i] as Promise<OwnedNode[]>);
      readNext();
      for (const n of owned) this.owned.set(n);
      const chunk: ParentChunk = { owned, desired: [] };
      for (const p of batch) {
        chunk.desired.push(...(wanted.get(p.path) ?? []));
        wanted.delete(p.path);
      }
      yield chunk;
    }
    this.recount();
    await registry.pruneLedger(this.owned.values());
    this.scannedSession = scan.sessionId;
    this.needScan = false;
    yield* chunksByParent([], [...wanted.values()].flat(), CHUNK_SIZE);
  }

  /**
   * Lists the children of every parent we own nodes under, without holding up passes, and
   * queues the owned nodes that are gone for the next pass to restore.
   */
  private async checkDrift(): Promise<void> {
    if (this.checking || this.stopped || this.opts.session.state !== "connected") return;
    if (this.opts.gate && !this.opts.gate.isLeader()) return;
    this.checking = true;
    try {
      const before = [...this.owned.values()];
      const names = await this.opts.registry.childNames([...this.owned.parents()]);
      this.missing = before.filter(
        (n) => !names.get(n.parent)?.has(n.path.slice(n.parent.length + 1)),
      );
      if (this.missing.length > 0) this.trigger();
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, "drift check failed; next one later");
    } finally {
      this.checking = false;
    }
  }

  /**
   * Forgets the nodes the drift check found missing, unless a pass has rewritten or removed
   * them since it listed (then the listing is older than our own write); returns their parents.
   */
  private forgetMissing(): string[] {
    const drifted = new Set<string>();
    const touched = new Set<string>();
    for (const n of this.missing) {
      if (this.owned.get(n.path) !== n) continue;
      this.owned.delete(n.path);
      this.count(n, -1, touched);
      drifted.add(n.parent);
    }
    this.missing = [];
    this.publishCounts(touched);
    if (drifted.size > 0) {
      this.opts.logger.warn(
        { parents: [...drifted].slice(0, 10), count: drifted.size },
        "registrations deleted behind our back; restoring them",
      );
    }
    return [...drifted];
  }

  /** Parents the `changed` groups had or have, with `groupsByParent` moved on to `now`. */
  private changedParents(
    before: ShardedMap<readonly DesiredRegistration[]>,
    now: ShardedMap<readonly DesiredRegistration[]>,
    changed: ReadonlySet<string>,
  ): Set<string> {
    const parents = new Set<string>();
    const moved = (key: string, old: readonly DesiredRegistration[] | undefined) => {
      for (const d of old ?? []) {
        parents.add(d.parent);
        this.groupsByParent.get(d.parent)?.delete(key);
      }
      for (const d of now.get(key) ?? []) {
        parents.add(d.parent);
        this.linkParent(d.parent, key);
      }
    };
    for (const key of changed) moved(key, before.get(key));
    return parents;
  }

  private indexParents(groups: ShardedMap<readonly DesiredRegistration[]>): void {
    this.groupsByParent = new Map();
    for (const [key, regs] of groups.entries()) {
      for (const d of regs) this.linkParent(d.parent, key);
    }
  }

  private linkParent(parent: string, key: string): void {
    const keys = this.groupsByParent.get(parent);
    if (keys) keys.add(key);
    else this.groupsByParent.set(parent, new Set([key]));
  }

  private recount(): void {
    const touched = new Set(this.counts.keys());
    this.counts.clear();
    for (const n of this.owned.values()) this.count(n, 1, touched);
    this.publishCounts(touched);
  }

  private count(n: OwnedNode, delta: 1 | -1, touched: Set<string>): void {
    const service = n.parent.slice(n.parent.lastIndexOf("/") + 1);
    const key = `${service}\u0000${n.format}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + delta);
    touched.add(key);
  }

  /** Sets the registrations gauge for the (service, format) pairs whose counts moved. */
  private publishCounts(touched: ReadonlySet<string>): void {
    const gauge = this.opts.metrics?.registrations;
    for (const key of touched) {
      const n = this.counts.get(key) ?? 0;
      const [service, format] = key.split("\u0000") as [string, string];
      if (n > 0) gauge?.set({ service, format }, n);
      else {
        this.counts.delete(key);
        gauge?.remove({ service, format });
      }
    }
  }
}

/** A scan under way: its session and the parents it has listed but not yet read. */
interface Scan {
  readonly sessionId: string | undefined;
  readonly parents: readonly ScannedParent[];
}

/**
 * Scanned parents in batches wanting about `size` registrations (at most PARENTS_PER_BATCH
 * parents, for trees full of other clients' services that want none).
 */
function parentBatches(
  parents: readonly ScannedParent[],
  wanted: ReadonlyMap<string, readonly DesiredRegistration[]>,
  size: number,
): ScannedParent[][] {
  const batches: ScannedParent[][] = [];
  let batch: ScannedParent[] = [];
  let count = 0;
  for (const p of parents) {
    batch.push(p);
    count += wanted.get(p.path)?.length ?? 0;
    if (count >= size || batch.length >= PARENTS_PER_BATCH) {
      batches.push(batch);
      batch = [];
      count = 0;
    }
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** The groups that changed from `planned` to `now`, or undefined if that is not known. */
function changedSince(now: DesiredGeneration, planned: DesiredGeneration): Set<string> | undefined {
  const keys = new Set<string>();
  for (let g = now; g !== planned; ) {
    if (!g.changed || !g.previous) return undefined;
    for (const k of g.changed) keys.add(k);
    g = g.previous;
  }
  return keys;
}

/** Warnings about unwritable registrations remembered at most; past it, they may repeat. */
const MAX_REPORTED = 10_000;

/**
 * One line per registry change at info (the operator's audit trail), through a child logger
 * per kind of change: its fields are serialised once, not on each of 100,000 lines.
 */
class ChangeLog {
  private readonly byKind = new Map<Change["kind"], Logger>();
  constructor(
    private readonly logger: Logger,
    private readonly dryRun: boolean,
  ) {}

  log(changes: readonly Change[]): void {
    const msg = this.dryRun ? "would change registry" : "registry change";
    for (const c of changes) {
      let child = this.byKind.get(c.kind);
      if (!child) {
        child = this.logger.child({ change: c.kind, dryRun: this.dryRun });
        this.byKind.set(c.kind, child);
      }
      child.info(
        { path: c.kind === "create" ? `${c.target.parent}/${c.target.id}` : c.node.path },
        msg,
      );
    }
  }
}
