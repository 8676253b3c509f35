/**
 * The registry writer: reads which znodes are the bridge's own, renders registrations into
 * znode bytes, and applies a plan in batched, atomic multi-ops.
 *
 * Ownership. A node is ours when its ephemeral owner is a session listed in this cluster's
 * ledger (`/kube-zk-bridge/<cluster>/sessions/<id>`, written before the session writes anything),
 * or when it carries our cluster's marker in its Curator payload metadata. The ledger is what lets
 * a restarted bridge recognise `payload: none` and ServerSet nodes, which have no metadata.
 * Anything else is another client's and is never changed or deleted.
 */
import zookeeper, { type Stat } from "node-zookeeper-client";
import type { CuratorPayload } from "../config.js";
import { decodeCurator, encodeCurator } from "../formats/curator.js";
import {
  decodeServerSet,
  encodeServerSet,
  isServerSetMember,
  SERVERSET_MEMBER_PREFIX,
} from "../formats/serverset.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { type DesiredRegistration, type Format, META, registrationKey } from "../registration.js";
import type { Change, OwnedNode, Target } from "../sync/plan.js";
import { ZkError } from "./errors.js";
import { mapLimit } from "./map-limit.js";
import type { ZkOp, ZkRead, ZkReadResult, ZkSession } from "./session.js";

const EPHEMERAL = zookeeper.CreateMode.EPHEMERAL;
const EPHEMERAL_SEQUENTIAL = zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL;
const PERSISTENT = zookeeper.CreateMode.PERSISTENT;
/** Ops per multi, and multis in flight: measured sweet spot on ZooKeeper 3.8 (PITFALLS). */
const BATCH_OPS = 200;
const BATCHES_IN_FLIGHT = 4;
const READS_IN_FLIGHT = 500;
/**
 * A scan's reads go 200 to a multiRead (ZooKeeper 3.6+), 3 requests in flight: about as many
 * reads under way as READS_IN_FLIGHT one by one, in a fiftieth of the requests.
 */
const READS_PER_REQUEST = 200;
const READ_REQUESTS_IN_FLIGHT = 3;
/**
 * The drift check reads beside the passes' writes on the same session, and ZooKeeper serves a
 * session's requests in order: a write queued behind 500 reads waited for all of them (about a
 * second at 10,000 parents). One request of 16 reads at a time keeps a change's wait to a few
 * reads.
 */
const BACKGROUND_READS_PER_REQUEST = 16;

export interface RegistryOptions {
  readonly session: ZkSession;
  readonly clusterName: string;
  readonly basePath: string;
  readonly serversetBasePath: string;
  readonly curatorPayload: CuratorPayload;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

/** A service znode a scan reads, and the format of the tree it is in. */
export interface ScannedParent {
  readonly path: string;
  readonly format: Format;
}

/** What `apply` did: the nodes now written, and whether the in-memory view went stale. */
export interface ApplyResult {
  /** Nodes created, adopted or updated, as they now are. */
  readonly written: OwnedNode[];
  /** Nodes removed (or found already gone). */
  readonly removed: OwnedNode[];
  /** A change failed in a way that means our view of ZooKeeper is off: rescan. */
  readonly rescan: boolean;
  /** Changes that could not be made (conflicts with other clients' nodes, connection loss). */
  readonly failed: number;
}

export class ZkRegistry {
  private readonly ledgerPath: string;
  /** Parents known to exist in the current session (creates need no mkdirp round trip). */
  private readonly knownParents = new Set<string>();
  private readonly conflictsLogged = new Set<string>();
  private ledger = new Set<string>();
  /** The bytes last rendered for each registration (see `render`). */
  private readonly rendered = new WeakMap<DesiredRegistration, Buffer>();

  constructor(private readonly opts: RegistryOptions) {
    this.ledgerPath = `/kube-zk-bridge/${opts.clusterName}/sessions`;
  }

  private get session(): ZkSession {
    return this.opts.session;
  }

  /** Where a registration of format `f` for service `name` goes by default. */
  parentFor(format: Format, serviceName: string): string {
    return `${format === "curator" ? this.opts.basePath : this.opts.serversetBasePath}/${serviceName}`;
  }

  /** Records the current session in the ledger; must precede the session's first write. */
  async claimSession(): Promise<string> {
    const id = this.session.sessionId;
    if (!id) throw new ZkError("CONNECTION_LOSS", "claimSession: no session");
    this.knownParents.clear();
    await this.session.mkdirp(this.ledgerPath);
    try {
      await this.session.create(`${this.ledgerPath}/${id}`, Buffer.alloc(0), PERSISTENT);
    } catch (err) {
      if (!(err instanceof ZkError && err.code === "NODE_EXISTS")) throw err;
    }
    this.ledger.add(id);
    return id;
  }

  /**
   * Reads every node of ours under both trees and under `extraParents` (custom ServerSet
   * paths). Also prunes ledger entries of sessions that own nothing any more.
   */
  async scan(extraParents: Iterable<string>): Promise<OwnedNode[]> {
    const owned = await this.readOwned(await this.scanParents(extraParents));
    await this.pruneLedger(owned);
    return owned;
  }

  /**
   * The first step of a scan: reads the ledger and lists the parents to read, every service
   * node of both trees plus `extraParents`. `readOwned` then reads them, in batches if the
   * caller likes (a recovery writes the first parents while later ones are still being read),
   * and `pruneLedger` ends the scan.
   */
  async scanParents(extraParents: Iterable<string>): Promise<ScannedParent[]> {
    this.ledger = new Set(await this.childrenOrEmpty(this.ledgerPath));
    const parents = new Map<string, Format>();
    for (const [format, base] of [
      ["curator", this.opts.basePath],
      ["serverset", this.opts.serversetBasePath],
    ] as const) {
      for (const name of await this.childrenOrEmpty(base)) {
        parents.set(`${base}/${name}`, format);
        // Listed just now, so it exists: after a session expiry every parent is empty, and
        // creating 10,000 of them again only to get NODE_EXISTS cost seconds.
        this.knownParents.add(`${base}/${name}`);
      }
    }
    for (const p of extraParents) if (!parents.has(p)) parents.set(p, "serverset");
    return [...parents].map(([path, format]) => ({ path, format }));
  }

  /** Our nodes under `parents` (listed by `scanParents`). */
  async readOwned(parents: readonly ScannedParent[]): Promise<OwnedNode[]> {
    const listed = await this.readMany(
      parents.map((p) => ({ op: "getChildren", path: p.path })),
      READS_PER_REQUEST,
      READ_REQUESTS_IN_FLIGHT,
    );
    const reads: Array<{ parent: string; format: Format; name: string }> = [];
    parents.forEach(({ path: parent, format }, i) => {
      for (const name of childrenOf(listed[i])) {
        if (format === "serverset" && !isServerSetMember(name)) continue;
        reads.push({ parent, format, name });
        this.knownParents.add(parent);
      }
    });
    const nodes = await this.readMany(
      reads.map((r) => ({ op: "getData", path: `${r.parent}/${r.name}` })),
      READS_PER_REQUEST,
      READ_REQUESTS_IN_FLIGHT,
    );
    const owned: OwnedNode[] = [];
    reads.forEach((r, i) => {
      const n = nodes[i];
      if (n === undefined || "children" in n) throw new Error(`no getData result for ${r.name}`);
      if ("error" in n) {
        if (n.error.code === "NO_NODE") return; // gone meanwhile
        throw n.error;
      }
      const node = this.ownedNode(r.parent, r.format, r.name, n.data, n.stat);
      if (node) owned.push(node);
    });
    return owned;
  }

  /**
   * The child names of each parent (a missing parent has none): the cheap drift check, one
   * read per parent instead of one per node.
   */
  async childNames(parents: readonly string[]): Promise<Map<string, ReadonlySet<string>>> {
    const lists = await this.readMany(
      parents.map((path) => ({ op: "getChildren", path })),
      BACKGROUND_READS_PER_REQUEST,
      1,
    );
    return new Map(parents.map((p, i) => [p, new Set(childrenOf(lists[i]))]));
  }

  /** `reads` in multiReads of `perRequest`, `inFlight` at a time; results in order. */
  private async readMany(
    reads: readonly ZkRead[],
    perRequest: number,
    inFlight: number,
  ): Promise<ZkReadResult[]> {
    const batches: ZkRead[][] = [];
    for (let i = 0; i < reads.length; i += perRequest) batches.push(reads.slice(i, i + perRequest));
    const results = await mapLimit(batches, inFlight, (b) => this.session.multiRead(b));
    return results.flat();
  }

  /** The node as ours, or undefined if another client's (or unreadable: then not ours to touch). */
  private ownedNode(
    parent: string,
    format: Format,
    name: string,
    data: Buffer,
    stat: Stat,
  ): OwnedNode | undefined {
    const owner = stat.ephemeralOwner.toString("hex");
    if (/^0+$/.test(owner)) return undefined; // persistent: never ours
    let registration: ReturnType<typeof decodeCurator> | undefined;
    try {
      registration =
        format === "curator" ? decodeCurator(data, "", name) : decodeServerSet(data, "", name);
    } catch {
      return undefined;
    }
    const marked = registration.metadata[META.cluster] === this.opts.clusterName;
    if (!this.ledger.has(owner) && !marked) return undefined;
    const key = registrationKey({
      format,
      parent,
      id: name,
      address: registration.address,
      port: registration.port,
    });
    return {
      key,
      format,
      parent,
      id: name,
      path: `${parent}/${name}`,
      version: stat.version,
      data,
      owner,
    };
  }

  /** Ends a scan: forgets ledger sessions that own none of `owned` (every node it found). */
  async pruneLedger(owned: Iterable<OwnedNode>): Promise<void> {
    const liveOwners = new Set<string>();
    for (const n of owned) liveOwners.add(n.owner);
    for (const id of this.ledger) {
      if (id === this.session.sessionId || liveOwners.has(id)) continue;
      try {
        await this.session.remove(`${this.ledgerPath}/${id}`, -1);
        this.ledger.delete(id);
      } catch (err) {
        if (!(err instanceof ZkError && err.code === "NO_NODE")) throw err;
      }
    }
  }

  /**
   * Whether a registration can be published as it is. A draining endpoint cannot be marked in a
   * `payload: none` Curator node (no metadata to say OUT_OF_SERVICE), so it is withdrawn instead.
   */
  publishable(d: DesiredRegistration): boolean {
    return !(d.draining && d.format === "curator" && this.opts.curatorPayload === "none");
  }

  /**
   * The znode bytes for a registration; an update keeps the original registration time. A
   * registration rendered before (the same object: the desired state keeps unchanged ones)
   * gets the same bytes again when its node is gone or still holds them, so re-registering
   * after a session expiry renders nothing and keeps the registration time, as Curator does.
   */
  render(d: DesiredRegistration, previous: OwnedNode | undefined): Buffer {
    const cached = this.rendered.get(d);
    if (cached && (previous === undefined || previous.data === cached)) return cached;
    const bytes = this.renderNew(d, previous);
    this.rendered.set(d, bytes);
    return bytes;
  }

  private renderNew(d: DesiredRegistration, previous: OwnedNode | undefined): Buffer {
    if (d.format === "serverset") return encodeServerSet(d, { shard: 0 });
    let registrationTimeUTC = Date.now();
    if (previous) {
      const m = /"registrationTimeUTC":(\d+)/.exec(previous.data.toString("utf8"));
      if (m?.[1]) registrationTimeUTC = Number(m[1]);
    }
    return encodeCurator(d, { payload: this.opts.curatorPayload, registrationTimeUTC });
  }

  /**
   * Applies changes in multi batches (several in flight). A failed batch is retried change by
   * change so one conflict does not block the rest.
   */
  async apply(changes: readonly Change[]): Promise<ApplyResult> {
    const result = {
      written: [] as OwnedNode[],
      removed: [] as OwnedNode[],
      rescan: false,
      failed: 0,
    };
    if (changes.length === 0) return result;
    const owner = this.session.sessionId ?? "";
    await this.ensureParents(changes);

    const batches: Change[][] = [];
    let batch: Change[] = [];
    let ops = 0;
    for (const c of changes) {
      batch.push(c);
      ops += c.kind === "adopt" ? 2 : 1;
      if (ops >= BATCH_OPS) {
        batches.push(batch);
        batch = [];
        ops = 0;
      }
    }
    if (batch.length) batches.push(batch);

    await mapLimit(batches, BATCHES_IN_FLIGHT, async (b) => {
      try {
        const results = await this.session.multi(b.flatMap((c) => this.opsOf(c)));
        this.collect(b, results, owner, result);
      } catch (err) {
        if (!(err instanceof ZkError) || err.transient) throw err;
        for (const c of b) await this.applyOne(c, owner, result);
      }
    });
    for (const c of changes) this.opts.metrics?.reconcileOps.inc({ op: c.kind });
    return result;
  }

  private async applyOne(
    c: Change,
    owner: string,
    result: ApplyResult & { rescan: boolean; failed: number },
  ) {
    try {
      const results = await this.session.multi(this.opsOf(c));
      this.collect([c], results, owner, result);
    } catch (err) {
      if (!(err instanceof ZkError) || err.transient) throw err;
      if (c.kind === "remove" && err.code === "NO_NODE") {
        result.removed.push(c.node);
        return;
      }
      result.failed++;
      if (c.kind === "create" && err.code === "NODE_EXISTS") {
        // Our stable id collides with a node we do not own: another client's. Never touch it.
        const path = `${c.target.parent}/${c.target.id}`;
        if (!this.conflictsLogged.has(path)) {
          this.conflictsLogged.add(path);
          this.opts.logger.warn(
            { path },
            "a node of another client holds this instance's path; skipping",
          );
        }
        return;
      }
      if (err.code === "NO_NODE" && c.kind === "create") this.knownParents.delete(c.target.parent);
      result.rescan = true;
      this.opts.logger.info(
        { change: c.kind, code: err.code },
        "registry changed under us; rescanning",
      );
    }
  }

  private opsOf(c: Change): ZkOp[] {
    switch (c.kind) {
      case "create":
        return [createOp(c.target, c.data)];
      case "update":
        // Inside a multi the library treats version 0 as "any" (its issue #67); we own the node.
        return [{ op: "setData", path: c.node.path, data: c.data, version: c.node.version }];
      case "adopt":
        return [
          { op: "remove", path: c.node.path, version: c.node.version },
          createOp(c.node, c.data),
        ];
      case "remove":
        return [{ op: "remove", path: c.node.path, version: c.node.version }];
    }
  }

  private collect(
    changes: readonly Change[],
    results: ReadonlyArray<{ path?: string; stat?: Stat }>,
    owner: string,
    into: { written: OwnedNode[]; removed: OwnedNode[] },
  ): void {
    let i = 0;
    for (const c of changes) {
      if (c.kind === "remove") {
        i++;
        into.removed.push(c.node);
        continue;
      }
      if (c.kind === "adopt") {
        into.removed.push(c.node);
        i++;
      }
      const r = results[i++];
      if (c.kind === "update") {
        into.written.push({
          ...c.node,
          data: c.data,
          version: r?.stat?.version ?? c.node.version + 1,
        });
        continue;
      }
      const t: Target = c.kind === "create" ? c.target : c.node;
      const path = r?.path ?? `${t.parent}/${t.id}`;
      const id = t.format === "serverset" ? path.slice(t.parent.length + 1) : t.id;
      into.written.push({
        key: t.key,
        format: t.format,
        parent: t.parent,
        id,
        path,
        version: 0,
        data: c.data,
        owner,
      });
    }
  }

  /** Creates missing service nodes (persistent, marked as ours so only we clean them up). */
  private async ensureParents(changes: readonly Change[]): Promise<void> {
    const missing = new Set<string>();
    for (const c of changes) {
      if (c.kind === "create" && !this.knownParents.has(c.target.parent))
        missing.add(c.target.parent);
    }
    // Level by level, so each missing path costs exactly one create, however many share it.
    const levels: Array<Set<string>> = [];
    for (const parent of missing) {
      let prefix = "";
      parent
        .split("/")
        .filter(Boolean)
        .forEach((part, depth) => {
          prefix += `/${part}`;
          if (this.knownParents.has(prefix)) return;
          const level = levels[depth] ?? new Set<string>();
          levels[depth] = level;
          level.add(prefix);
        });
    }
    for (const level of levels) {
      const paths = [...(level ?? [])];
      const batches: string[][] = [];
      for (let i = 0; i < paths.length; i += BATCH_OPS) batches.push(paths.slice(i, i + BATCH_OPS));
      // A cold start creates thousands of parents: in multis, as registrations are. A batch
      // that meets an existing parent fails whole and is redone one create at a time.
      await mapLimit(batches, BATCHES_IN_FLIGHT, async (batch) => {
        const marker = this.parentMarker();
        try {
          await this.session.multi(
            batch.map((path) => ({ op: "create", path, data: marker, mode: PERSISTENT })),
          );
        } catch (err) {
          if (!(err instanceof ZkError && err.code === "NODE_EXISTS")) throw err;
          await mapLimit(batch, READS_IN_FLIGHT, (path) => this.createParent(path, marker));
        }
        for (const path of batch) this.knownParents.add(path);
      });
    }
  }

  private async createParent(path: string, marker: Buffer): Promise<void> {
    try {
      await this.session.create(path, marker, PERSISTENT);
    } catch (err) {
      if (!(err instanceof ZkError && err.code === "NODE_EXISTS")) throw err;
    }
  }

  private parentMarker(): Buffer {
    return Buffer.from(`${META.cluster}=${this.opts.clusterName}`);
  }

  /**
   * Removes service nodes left empty, only those the bridge made (marked) and never the base
   * paths. Another client's parent, or one that gained a child meanwhile, stays.
   */
  async cleanupParents(parents: Iterable<string>): Promise<void> {
    const bases = new Set([this.opts.basePath, this.opts.serversetBasePath]);
    for (const parent of new Set(parents)) {
      if (bases.has(parent)) continue;
      try {
        const { data, stat } = await this.session.getData(parent);
        if (stat.numChildren !== 0 || !data.equals(this.parentMarker())) continue;
        await this.session.remove(parent, stat.version);
        this.knownParents.delete(parent);
        this.opts.logger.info({ path: parent }, "removed empty service node");
      } catch (err) {
        if (!(err instanceof ZkError) || err.transient) throw err;
        // NO_NODE (already gone), NOT_EMPTY (a child arrived), BAD_VERSION: leave it.
      }
    }
  }

  private async childrenOrEmpty(path: string): Promise<string[]> {
    try {
      return await this.session.getChildren(path);
    } catch (err) {
      if (err instanceof ZkError && err.code === "NO_NODE") return [];
      throw err;
    }
  }
}

/** A getChildren result's names; a missing node has none, any other error is thrown. */
function childrenOf(result: ZkReadResult | undefined): string[] {
  if (result === undefined) throw new Error("no getChildren result");
  if ("children" in result) return result.children;
  if ("error" in result && result.error.code === "NO_NODE") return [];
  throw "error" in result ? result.error : new Error("a getData result for a getChildren");
}

function createOp(t: Target, data: Buffer): ZkOp {
  return t.format === "serverset"
    ? {
        op: "create",
        path: `${t.parent}/${SERVERSET_MEMBER_PREFIX}`,
        data,
        mode: EPHEMERAL_SEQUENTIAL,
      }
    : { op: "create", path: `${t.parent}/${t.id}`, data, mode: EPHEMERAL };
}
