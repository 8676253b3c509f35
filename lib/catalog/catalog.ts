/**
 * The DNS side's reader of ZooKeeper: watches both trees, whoever registered the nodes,
 *   <base-path>/<service>/<instance>                 Curator (any child is an instance)
 *   <serverset-base-path>/<service>/member_<seq>     ServerSet (other children ignored, as Finagle does)
 * and publishes an immutable Snapshot after each change. Watch events only mark paths dirty;
 * one refresh per burst (`coalesceMs`) re-reads them and recompiles only the services touched.
 *
 * Watches: on ZooKeeper 3.6+, one persistent recursive watch per tree reports every create,
 * delete and data change, so a new node costs one read and a deleted one none. It does not
 * survive a lost connection and ZooKeeper replays nothing missed, so after a reconnect the
 * watches are added again and everything is re-read, as Curator's CuratorCache does. A server
 * older than 3.6 refuses them (UNIMPLEMENTED); the catalog then uses one-shot watches, re-armed
 * by every read and by the library's SetWatches on reconnect, for the rest of its life.
 * Reads that need no watch go 200 to a 3.6 `multiRead` (lib/zookeeper/read-batcher.ts): a full
 * read of 100,000 nodes is about 500 requests.
 *
 * Serving rules (CoreDNS's kubernetes plugin discipline):
 *  - nothing (SERVFAIL) until the first full read has finished: a partial view would give
 *    false NXDOMAINs that resolvers cache;
 *  - if ZooKeeper becomes unreachable, or a new session is being re-read, the last snapshot is
 *    served for `serveStaleMs`, then nothing until ZooKeeper is back.
 */
import { EventEmitter } from "node:events";
import { performance } from "node:perf_hooks";
import zookeeper from "node-zookeeper-client";
import { Backoff } from "../backoff.js";
import type { Skipped, SnapshotOptions } from "../dns/snapshot.js";
import { type Snapshot, SnapshotBuilder, servedRegistrations } from "../dns/snapshot.js";
import { decodeCurator } from "../formats/curator.js";
import { FormatError } from "../formats/format-error.js";
import { decodeServerSet, isServerSetMember } from "../formats/serverset.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import type { Format, Registration } from "../registration.js";
import { ReportedOnce } from "../reported-once.js";
import { ZkError } from "../zookeeper/errors.js";
import { ReadBatcher } from "../zookeeper/read-batcher.js";
import type { ZkSession, ZkState } from "../zookeeper/session.js";
import { Limiter } from "./limiter.js";

/** What the catalog needs of the session layer (lib/zookeeper/session.ts). */
export type CatalogSession = Pick<
  ZkSession,
  "getChildren" | "getData" | "multiRead" | "exists" | "addPersistentRecursiveWatch" | "state"
> &
  Pick<EventEmitter<{ session: [string]; state: [ZkState] }>, "on" | "off">;

export interface CatalogOptions {
  /** Started (or starting) by the caller; the catalog only reads through it. */
  readonly session: CatalogSession;
  /** `--base-path`, root of the Curator tree. */
  readonly basePath: string;
  /** `--serverset-base-path`, root of the ServerSet tree. */
  readonly serversetBasePath: string;
  /** Zone, `--dns-ttl` and SOA naming for the snapshots. */
  readonly snapshot: SnapshotOptions;
  /** `--dns-serve-stale`. */
  readonly serveStaleMs: number;
  readonly logger: Logger;
  readonly metrics?: Pick<Metrics, "catalogSkipped" | "catalogInstances" | "staleSeconds">;
  /** Quiet time that batches a burst of watch events into one refresh. Default 10 ms. */
  readonly coalesceMs?: number;
  /** ZooKeeper reads in flight at most. Default 500. */
  readonly maxReadsInFlight?: number;
}

interface ServiceState {
  readonly tree: Format;
  readonly service: string;
  readonly path: string;
  /** Node name → its registration, or null for a node that does not decode (kept, logged once). */
  readonly nodes: Map<string, Registration | null>;
}

/** A `/readyz` part: same shape as lib/http's ReadinessPart. */
export interface CatalogReadiness {
  readonly ready: boolean;
  readonly detail?: string;
}

const TREES: readonly Format[] = ["curator", "serverset"];
const key = (tree: Format, service: string) => `${tree}|${service}`;
const join = (parent: string, child: string) =>
  parent === "/" ? `/${child}` : `${parent}/${child}`;
/** Cap on remembered "already reported" keys, so a churn of bad names cannot grow memory. */
const MAX_REPORTED = 100_000;

export class Catalog extends EventEmitter<{ snapshot: [Snapshot] }> implements SnapshotSourceLike {
  private readonly session: CatalogSession;
  private readonly roots: Record<Format, string>;
  private readonly builder: SnapshotBuilder;
  private readonly logger: Logger;
  private readonly metrics: CatalogOptions["metrics"];
  private readonly serveStaleMs: number;
  private readonly coalesceMs: number;
  private readonly limiter: Limiter;
  /** The reads that set no watch (the recursive watches cover them), 200 to a request. */
  private readonly batched: ReadBatcher;
  private readonly backoff = new Backoff({ initialMs: 200, maxMs: 5000 });

  private readonly services = new Map<string, ServiceState>();
  private readonly dirtyRoots = new Set<Format>();
  private readonly dirtyServices = new Set<string>();
  /** Service key → node names to re-read, each with whether its last event was a deletion. */
  private readonly dirtyNodes = new Map<string, Map<string, boolean>>();
  private fullReadPending = false;
  /** Persistent recursive watches, until the server turns out to be older than 3.6. */
  private recursive = true;
  /** The recursive watches are armed on the current connection. */
  private armed = false;

  private snapshot: Snapshot | undefined;
  private synced = false;
  /** When the snapshot stopped being known to match ZooKeeper; undefined while it does. */
  private staleSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** No incremental refresh before this time (ms since the epoch): see `pauseAfterRefresh`. */
  private notBefore = 0;
  private gaugeTimer: NodeJS.Timeout | undefined;
  private running = false;
  private closed = true;
  private readonly reportedNodes = new ReportedOnce(MAX_REPORTED);
  private readonly reportedNames = new ReportedOnce(MAX_REPORTED);

  constructor(options: CatalogOptions) {
    super();
    this.session = options.session;
    this.roots = { curator: options.basePath, serverset: options.serversetBasePath };
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.serveStaleMs = options.serveStaleMs;
    this.coalesceMs = options.coalesceMs ?? 10;
    this.limiter = new Limiter(options.maxReadsInFlight ?? 500);
    this.batched = new ReadBatcher(options.session);
    this.builder = new SnapshotBuilder(options.snapshot, (s) => this.reportSkipped(s));
  }

  /** Start watching. The first full read begins as soon as the session is connected. */
  start(): void {
    if (!this.closed) return;
    this.closed = false;
    this.session.on("session", this.onSession);
    this.session.on("state", this.onState);
    if (this.session.state !== "connected") this.staleSince = Date.now();
    this.onSession();
    this.gaugeTimer = setInterval(() => this.updateGauges(), 1000);
    this.gaugeTimer.unref();
  }

  /** Stop watching (late watch events are ignored). Does not close the session. */
  async close(): Promise<void> {
    this.closed = true;
    this.session.off("session", this.onSession);
    this.session.off("state", this.onState);
    clearTimeout(this.timer);
    clearInterval(this.gaugeTimer);
    this.timer = undefined;
  }

  /**
   * The snapshot to answer from (the DNS server's SnapshotSource): undefined before the first
   * full read, and once ZooKeeper has been out of reach for longer than serve-stale.
   */
  current(): Snapshot | undefined {
    const since = this.staleSince;
    if (since !== undefined && Date.now() - since > this.serveStaleMs) return undefined;
    return this.snapshot;
  }

  /** The last snapshot published, however stale (for /registrations). */
  latest(): Snapshot | undefined {
    return this.snapshot;
  }

  /** Every instance the latest snapshot serves. */
  registrations(): Registration[] {
    return this.snapshot ? servedRegistrations(this.snapshot) : [];
  }

  /** Seconds since the snapshot was last known to match ZooKeeper; 0 while it does. */
  staleSeconds(): number {
    return this.staleSince === undefined || !this.synced
      ? 0
      : (Date.now() - this.staleSince) / 1000;
  }

  /** For /readyz: ready once read in full and while within serve-stale. */
  readiness(): CatalogReadiness {
    if (!this.synced) {
      return { ready: false, detail: "first full read of ZooKeeper not finished" };
    }
    if (this.current() === undefined) {
      return {
        ready: false,
        detail: `ZooKeeper data ${Math.round(this.staleSeconds())}s stale, past --dns-serve-stale (${this.serveStaleMs / 1000}s): answering SERVFAIL`,
      };
    }
    const stale = this.staleSeconds();
    return stale > 0
      ? { ready: true, detail: `serving data ${Math.round(stale)}s stale` }
      : { ready: true };
  }

  // --- events -------------------------------------------------------------------------------

  /** A new session (first, or after expiry) holds none of our watches: read everything. */
  private readonly onSession = (): void => {
    if (this.closed) return;
    this.fullReadPending = true;
    this.armed = false;
    this.staleSince ??= Date.now();
    this.schedule(0);
  };

  private readonly onState = (state: ZkState): void => {
    if (this.closed) return;
    if (state === "connected") {
      if (this.recursive) {
        // The new connection holds no recursive watch, and what changed meanwhile is not replayed.
        this.armed = false;
        this.fullReadPending = true;
      } else if (this.synced) {
        // Same session: the library re-arms one-shot watches, but re-listing every service is
        // cheap insurance against a change it missed while we were away (new data is still watched).
        for (const tree of TREES) this.dirtyRoots.add(tree);
        for (const k of this.services.keys()) this.dirtyServices.add(k);
      }
      this.schedule(0);
    } else {
      this.staleSince ??= Date.now();
    }
    this.updateGauges();
  };

  private readonly onRootEvent = (e: zookeeper.Event): void => {
    const tree = TREES.find((t) => this.roots[t] === e.getPath());
    if (tree) this.markRoot(tree);
  };

  private readonly onServiceEvent = (e: zookeeper.Event): void => {
    const where = this.locate(e.getPath());
    if (where && where.node === undefined) this.markService(where.tree, where.service);
  };

  private readonly onNodeEvent = (e: zookeeper.Event): void => {
    const where = this.locate(e.getPath());
    if (where?.node !== undefined) this.markNode(where.tree, where.service, where.node, false);
  };

  /** A persistent recursive watch's event, anywhere in a tree. */
  private readonly onTreeEvent = (e: zookeeper.Event): void => {
    if (this.closed) return; // the session keeps the watch; a closed catalog ignores it
    const path = e.getPath();
    const type = e.getType();
    if (type === zookeeper.Event.NODE_DATA_CHANGED) {
      const where = this.locate(path);
      if (where?.node !== undefined) this.markNode(where.tree, where.service, where.node, false);
      return; // a root's or a service's own data is not read
    }
    for (const tree of TREES) if (this.roots[tree] === path) this.markRoot(tree);
    const where = this.locate(path);
    if (!where) return;
    if (where.node === undefined) this.markService(where.tree, where.service);
    else if (where.tree === "curator" || isServerSetMember(where.node)) {
      this.markNode(where.tree, where.service, where.node, type === zookeeper.Event.NODE_DELETED);
    }
  };

  private markRoot(tree: Format): void {
    this.dirtyRoots.add(tree);
    this.schedule(this.coalesceMs);
  }

  private markService(tree: Format, service: string): void {
    this.dirtyServices.add(key(tree, service));
    this.schedule(this.coalesceMs);
  }

  /**
   * `deleted`: the node's last event was its deletion, so it is dropped without a read. That is
   * safe because a refresh begins only after the last one's reads are applied, and events arrive
   * in order after the replies to reads sent before them.
   */
  private markNode(tree: Format, service: string, node: string, deleted: boolean): void {
    const k = key(tree, service);
    let names = this.dirtyNodes.get(k);
    if (!names) {
      names = new Map();
      this.dirtyNodes.set(k, names);
    }
    names.set(node, deleted);
    this.schedule(this.coalesceMs);
  }

  /** `<root>/<service>[/<node>]` → its parts; undefined for paths outside both trees. */
  private locate(path: string): { tree: Format; service: string; node?: string } | undefined {
    for (const tree of TREES) {
      const root = this.roots[tree];
      const prefix = root === "/" ? "/" : `${root}/`;
      if (!path.startsWith(prefix)) continue;
      const [service, node, ...rest] = path.slice(prefix.length).split("/");
      if (!service || rest.length > 0) return undefined;
      return node === undefined ? { tree, service } : { tree, service, node };
    }
    return undefined;
  }

  // --- refresh ------------------------------------------------------------------------------

  /** A refresh in `delayMs`; 0 means at once (a new session, a reconnect), paced or not. */
  private schedule(delayMs: number): void {
    if (this.closed || this.running) return; // a running refresh reschedules when done
    if (this.timer && delayMs > 0) return; // already due: this event joins the burst
    clearTimeout(this.timer);
    const wait = delayMs === 0 ? 0 : Math.max(delayMs, this.notBefore - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, wait);
  }

  private hasWork(): boolean {
    return (
      this.fullReadPending ||
      this.dirtyRoots.size > 0 ||
      this.dirtyServices.size > 0 ||
      this.dirtyNodes.size > 0
    );
  }

  private async refresh(): Promise<void> {
    if (this.closed || this.running) return;
    if (this.session.state !== "connected") return; // onState schedules us on reconnect
    this.running = true;
    const started = Date.now();
    const loopBefore = performance.eventLoopUtilization();
    let retryIn: number | undefined;
    let work: Work | undefined;
    try {
      // Before the reads, so no change falls between them and the watch.
      if (this.recursive && !this.armed) await this.armRecursiveWatches();
      work = this.takeWork();
      await this.readAll(work);
      this.publish(work.full, started);
      this.backoff.reset();
    } catch (err) {
      // Put the work back; reads are idempotent. Publish what is done once synced.
      if (work) this.putBack(work);
      if (this.synced) this.publish(false, started);
      retryIn = this.backoff.next();
      this.logger.warn({ err, retryInMs: retryIn }, "catalog: ZooKeeper read failed; will retry");
    } finally {
      this.running = false;
      const loop = performance.eventLoopUtilization(loopBefore).utilization;
      const full = work?.full ?? false;
      this.notBefore = Date.now() + pauseAfterRefresh(Date.now() - started, full, loop);
    }
    if (retryIn !== undefined) this.schedule(retryIn);
    else if (this.hasWork()) this.schedule(this.coalesceMs);
  }

  /** Arms the recursive watches on this connection; notes a server older than 3.6. */
  private async armRecursiveWatches(): Promise<void> {
    try {
      for (const tree of TREES) {
        await this.session.addPersistentRecursiveWatch(this.roots[tree], this.onTreeEvent);
      }
      this.armed = true;
    } catch (err) {
      if (!(err instanceof ZkError && err.code === "UNIMPLEMENTED")) throw err;
      this.recursive = false;
      this.fullReadPending = true; // with one-shot watches this time
      this.logger.info(
        "catalog: ZooKeeper is older than 3.6 (no persistent watches): using one-shot watches",
      );
      throw err; // the server closes the connection after refusing; retried once reconnected
    }
  }

  /** What is dirty, taken for one refresh. */
  private takeWork(): Work {
    const full = this.fullReadPending;
    const work: Work = {
      full,
      roots: full ? new Set(TREES) : new Set(this.dirtyRoots),
      services: new Set(this.dirtyServices),
      nodes: new Map(this.dirtyNodes),
    };
    if (full) for (const k of this.services.keys()) work.services.add(k);
    this.fullReadPending = false;
    this.dirtyRoots.clear();
    this.dirtyServices.clear();
    this.dirtyNodes.clear();
    return work;
  }

  /** Returns a failed refresh's work; events that came meanwhile are newer and win. */
  private putBack(work: Work): void {
    if (work.full) this.fullReadPending = true;
    for (const t of work.roots) this.dirtyRoots.add(t);
    for (const k of work.services) this.dirtyServices.add(k);
    for (const [k, names] of work.nodes) {
      const mine = this.dirtyNodes.get(k);
      if (!mine) this.dirtyNodes.set(k, new Map(names));
      else for (const [n, deleted] of names) if (!mine.has(n)) mine.set(n, deleted);
    }
  }

  private async readAll({ roots, services, nodes, full }: Work): Promise<void> {
    for (const tree of roots) {
      const names = await this.listRoot(tree);
      const present = new Set(names);
      for (const name of names) {
        if (!this.services.has(key(tree, name))) services.add(key(tree, name));
      }
      for (const [k, st] of this.services) {
        if (st.tree === tree && !present.has(st.service)) {
          services.delete(k);
          this.dropService(k);
        }
      }
    }
    const work: Promise<void>[] = [];
    for (const k of services) work.push(this.readService(k, nodes.get(k), full));
    for (const [k, names] of nodes) {
      if (!services.has(k)) work.push(this.readNodes(k, names));
    }
    // Every read runs to the end (the limiter bounds them); the first failure is rethrown.
    const results = await Promise.allSettled(work);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /** Children of a tree's root (its services); watches the root, or its creation if absent. */
  private async listRoot(tree: Format): Promise<string[]> {
    const root = this.roots[tree];
    try {
      return await this.limiter.run(() => this.children(root, this.onRootEvent));
    } catch (err) {
      if (!(err instanceof ZkError && err.code === "NO_NODE")) throw err;
      if (this.recursive) return []; // its creation is reported by the recursive watch
      const stat = await this.session.exists(root, this.onRootEvent);
      if (stat) this.markRoot(tree); // created meanwhile
      return [];
    }
  }

  /**
   * A node's children: batched while the recursive watches cover everything, else read with
   * the one-shot `watcher`.
   */
  private children(path: string, watcher: (e: zookeeper.Event) => void): Promise<string[]> {
    return this.recursive
      ? this.batched.getChildren(path)
      : this.session.getChildren(path, watcher);
  }

  private async readService(
    k: string,
    dirty: ReadonlyMap<string, boolean> | undefined,
    full: boolean,
  ) {
    const bar = k.indexOf("|");
    const tree = k.slice(0, bar) as Format;
    const service = k.slice(bar + 1);
    const path = join(this.roots[tree], service);
    let children: string[];
    try {
      children = await this.limiter.run(() => this.children(path, this.onServiceEvent));
    } catch (err) {
      if (err instanceof ZkError && err.code === "NO_NODE") {
        this.dropService(k);
        return;
      }
      // NO_AUTH and the like will not heal by retrying: skip this service, not the catalog.
      if (!isTransient(err)) {
        this.reportNode(path, tree, `unreadable (${(err as ZkError).code ?? "error"})`, err);
        this.dropService(k);
        return;
      }
      throw err;
    }
    let st = this.services.get(k);
    if (!st) {
      st = { tree, service, path, nodes: new Map() };
      this.services.set(k, st);
    }
    const members = tree === "serverset" ? children.filter(isServerSetMember) : children;
    const present = new Set(members);
    for (const name of st.nodes.keys()) {
      if (!present.has(name)) this.forgetNode(st, name);
    }
    const toRead = members.filter((n) => full || !st.nodes.has(n) || dirty?.has(n));
    await this.readNodesOf(st, toRead);
  }

  private async readNodes(k: string, names: ReadonlyMap<string, boolean>): Promise<void> {
    const st = this.services.get(k);
    if (!st) return this.readService(k, names, false); // not listed yet: list it
    const toRead: string[] = [];
    for (const [name, deleted] of names) {
      if (deleted) this.forgetNode(st, name);
      else toRead.push(name);
    }
    await this.readNodesOf(st, toRead);
  }

  private async readNodesOf(st: ServiceState, names: readonly string[]): Promise<void> {
    const results = await Promise.allSettled(names.map((n) => this.readNode(st, n)));
    // Whatever was read is kept even if another read failed: the service stays consistent.
    this.builder.setSource({ format: st.tree, service: st.service }, registrationsOf(st));
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  private async readNode(st: ServiceState, name: string): Promise<void> {
    const path = join(st.path, name);
    let data: Buffer;
    try {
      ({ data } = await this.limiter.run(() =>
        this.recursive ? this.batched.getData(path) : this.session.getData(path, this.onNodeEvent),
      ));
    } catch (err) {
      if (err instanceof ZkError && err.code === "NO_NODE") {
        this.forgetNode(st, name);
        return;
      }
      if (!isTransient(err)) {
        st.nodes.set(name, null);
        this.reportNode(path, st.tree, `unreadable (${(err as ZkError).code ?? "error"})`, err);
        return;
      }
      throw err;
    }
    try {
      const decode = st.tree === "curator" ? decodeCurator : decodeServerSet;
      st.nodes.set(name, decode(data, st.service, name));
      this.reportedNodes.forget(path);
    } catch (err) {
      // One malformed node never hides the rest of its service.
      st.nodes.set(name, null);
      this.reportNode(
        path,
        st.tree,
        err instanceof FormatError ? err.reason : "decode failed",
        err,
      );
    }
  }

  /** Log and count a node we cannot serve, once per node and reason (not on every refresh). */
  private reportNode(path: string, tree: Format, reason: string, err: unknown): void {
    if (!this.reportedNodes.first(path, reason)) return;
    this.metrics?.catalogSkipped.inc({ reason: "bad-node" });
    this.logger.warn(
      { path, format: tree, reason: (err as Error).message ?? reason },
      "catalog: skipping a znode that is not a registration",
    );
  }

  private forgetNode(st: ServiceState, name: string): void {
    st.nodes.delete(name);
    this.reportedNodes.forget(join(st.path, name));
  }

  private dropService(k: string): void {
    const st = this.services.get(k);
    if (!st) return;
    for (const name of st.nodes.keys()) this.reportedNodes.forget(join(st.path, name));
    this.services.delete(k);
    this.builder.setSource({ format: st.tree, service: st.service }, undefined);
  }

  private publish(full: boolean, started: number): void {
    if (!this.synced && !full) return; // SERVFAIL until one full read is complete
    const before = this.snapshot;
    const next = this.builder.build();
    const firstSync = !this.synced;
    this.synced = true;
    if (full || this.staleSince !== undefined) {
      // In sync again only if connected now and no new session asked for a full read.
      if (this.session.state === "connected" && !this.fullReadPending) this.staleSince = undefined;
    }
    if (firstSync || full) {
      this.logger.info(
        {
          services: next.services.size,
          instances: next.instanceCount,
          ms: Date.now() - started,
        },
        firstSync ? "catalog: first full read of ZooKeeper done" : "catalog: re-read ZooKeeper",
      );
    }
    if (next !== before) {
      this.snapshot = next;
      this.emit("snapshot", next);
    }
    this.updateGauges();
  }

  private updateGauges(): void {
    this.metrics?.staleSeconds.set(this.staleSeconds());
    if (this.snapshot) this.metrics?.catalogInstances.set(this.snapshot.instanceCount);
  }

  private reportSkipped(s: Skipped): void {
    const k = `${s.reason}|${s.service}|${s.id ?? ""}|${s.detail}`;
    if (!this.reportedNames.first(k)) return;
    this.metrics?.catalogSkipped.inc({ reason: s.reason });
    this.logger.warn(
      { service: s.service, id: s.id, reason: s.reason, detail: s.detail },
      "catalog: not publishing in DNS",
    );
  }
}

/** One refresh's share of the dirty paths. */
interface Work {
  readonly full: boolean;
  readonly roots: Set<Format>;
  readonly services: Set<string>;
  readonly nodes: Map<string, ReadonlyMap<string, boolean>>;
}

/** Structural twin of lib/dns/responder's SnapshotSource, to keep the import graph one-way. */
interface SnapshotSourceLike {
  current(): Snapshot | undefined;
}

/** Errors worth retrying (connection trouble); anything else is a property of the node. */
function isTransient(err: unknown): boolean {
  return !(err instanceof ZkError) || err.transient;
}

function registrationsOf(st: ServiceState): Registration[] {
  const out: Registration[] = [];
  for (const r of st.nodes.values()) if (r) out.push(r);
  return out;
}

/** The longest quiet time owed after a refresh, however long it took. */
const MAX_PAUSE_MS = 500;
/** Event-loop utilisation from which the process counts as saturated. */
const SATURATED = 0.9;

/**
 * How long the catalog waits after an incremental refresh that took `tookMs`, during which the
 * event loop was busy `loopUtilization` (0–1) of the time, before the next. While the loop has
 * time to spare, nothing: changes flow as fast as they come. Once it is saturated (queries and
 * a flood of changes at once), as long again as the refresh took, up to MAX_PAUSE_MS: the
 * catalog then holds the loop about half the time and DNS queries get the rest, answered from
 * a snapshot that lags instead of not at all. A full read owes nothing.
 */
export function pauseAfterRefresh(tookMs: number, full: boolean, loopUtilization: number): number {
  if (full || !(loopUtilization >= SATURATED)) return 0;
  return Math.min(Math.max(tookMs, 0), MAX_PAUSE_MS);
}
