/**
 * The planner: a pure diff of what the bridge owns in ZooKeeper against what Kubernetes wants.
 *
 *   desired │ owned node             │ bytes equal │ change
 *   ────────┼────────────────────────┼─────────────┼────────────────────────────────────────────
 *   yes     │ none                   │      –      │ create
 *   yes     │ ours, this session     │     yes     │ –
 *   yes     │ ours, this session     │     no      │ update (setData at the node's version)
 *   yes     │ ours, an older session │   either    │ adopt  (atomic remove + create under this
 *           │                        │             │         session, so it outlives the old one)
 *   yes     │ several of ours        │      –      │ keep the best as above, remove the rest¹
 *   no      │ ours, any session      │      –      │ remove¹
 *   no      │ ours, an older session │      –      │ adopt as it is, while deletes are not yet
 *           │                        │             │ allowed (a restart never drops what the
 *           │                        │             │ old incarnation registered)
 *
 *   ¹ only once deletes are allowed: the Kubernetes caches and the ZooKeeper tree both synced.
 *
 * Nodes of other clients never reach the planner: the registry leaves them out when it scans.
 * A desired registration that cannot be rendered counts as not desired: one bad registration
 * never stalls a pass.
 */
import { FormatError } from "../formats/format-error.js";
import { type DesiredRegistration, type Format, registrationKey } from "../registration.js";

/** Where a registration lives. */
export interface Target {
  readonly key: string;
  readonly format: Format;
  /** The service's znode. */
  readonly parent: string;
  /** Curator instance id (the node name); for ServerSets, informational. */
  readonly id: string;
}

/** A znode the bridge wrote (this session or an earlier incarnation). */
export interface OwnedNode extends Target {
  /** Full znode path (for ServerSets, with the sequential suffix). */
  readonly path: string;
  readonly version: number;
  readonly data: Buffer;
  /** Hex session id that owns the ephemeral. */
  readonly owner: string;
}

export type Change =
  | { readonly kind: "create"; readonly target: Target; readonly data: Buffer }
  | { readonly kind: "update"; readonly node: OwnedNode; readonly data: Buffer }
  | { readonly kind: "adopt"; readonly node: OwnedNode; readonly data: Buffer }
  | { readonly kind: "remove"; readonly node: OwnedNode };

export interface PlanOptions {
  /** Hex id of the session the writer holds now. */
  readonly session: string;
  /** False until the Kubernetes caches and the ZooKeeper tree have both fully synced. */
  readonly allowDeletes: boolean;
  /** Renders a registration's znode bytes; `previous` lets it keep e.g. the registration time. */
  readonly render: (desired: DesiredRegistration, previous: OwnedNode | undefined) => Buffer;
  /** Told of each registration `render` refused (with a FormatError), which is then left out. */
  readonly onUnwritable?: (desired: DesiredRegistration, error: FormatError) => void;
  /** Told of each node it would remove were deletes allowed (only while they are not). */
  readonly onHeldBack?: (node: OwnedNode) => void;
}

export function targetOf(d: DesiredRegistration): Target {
  return { key: registrationKey(d), format: d.format, parent: d.parent, id: d.id };
}

export function plan(
  owned: Iterable<OwnedNode>,
  desired: Iterable<DesiredRegistration>,
  opts: PlanOptions,
): Change[] {
  const byKey = new Map<string, OwnedNode[]>();
  for (const node of owned) {
    const list = byKey.get(node.key);
    if (list) list.push(node);
    else byKey.set(node.key, [node]);
  }

  const changes: Change[] = [];
  const extras: OwnedNode[] = [];
  const seen = new Set<string>();
  for (const d of desired) {
    const target = targetOf(d);
    if (seen.has(target.key)) continue; // e.g. two pods behind one node:NodePort: one member
    const nodes = byKey.get(target.key);
    const keep = nodes ? pickKeeper(nodes, opts.session) : undefined;
    let data: Buffer;
    try {
      data = opts.render(d, keep);
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      opts.onUnwritable?.(d, err);
      continue; // its nodes stay in byKey: leftovers, as if it were not desired
    }
    seen.add(target.key);
    byKey.delete(target.key);
    if (nodes) extras.push(...nodes.filter((n) => n !== keep));
    if (!keep) changes.push({ kind: "create", target, data });
    else if (keep.owner !== opts.session) changes.push({ kind: "adopt", node: keep, data });
    else if (!keep.data.equals(data)) changes.push({ kind: "update", node: keep, data });
  }

  const leftovers = [...byKey.values()].flat();
  if (opts.allowDeletes) {
    for (const node of [...extras, ...leftovers]) changes.push({ kind: "remove", node });
  } else {
    for (const node of extras) opts.onHeldBack?.(node);
    for (const node of leftovers) {
      opts.onHeldBack?.(node);
      if (node.owner !== opts.session) changes.push({ kind: "adopt", node, data: node.data });
    }
  }
  return changes;
}

/** Owned nodes and desired registrations of some parents: plans for it touch nothing else. */
export interface ParentChunk {
  readonly owned: OwnedNode[];
  readonly desired: DesiredRegistration[];
}

/**
 * Splits a planning job into chunks of whole parents (all of a parent's owned nodes and desired
 * registrations together, since the plan matches them by key within a parent), each closed once
 * it holds `size` items or more. Planning the chunks one by one gives the same changes as
 * planning everything at once.
 */
export function chunksByParent(
  owned: Iterable<OwnedNode>,
  desired: Iterable<DesiredRegistration>,
  size: number,
): ParentChunk[] {
  const byParent = new Map<string, ParentChunk>();
  const of = (parent: string) => {
    let part = byParent.get(parent);
    if (!part) {
      part = { owned: [], desired: [] };
      byParent.set(parent, part);
    }
    return part;
  };
  for (const d of desired) of(d.parent).desired.push(d);
  for (const n of owned) of(n.parent).owned.push(n);

  const chunks: ParentChunk[] = [];
  let chunk: ParentChunk = { owned: [], desired: [] };
  for (const part of byParent.values()) {
    chunk.owned.push(...part.owned);
    chunk.desired.push(...part.desired);
    if (chunk.owned.length + chunk.desired.length >= size) {
      chunks.push(chunk);
      chunk = { owned: [], desired: [] };
    }
  }
  if (chunk.owned.length + chunk.desired.length > 0) chunks.push(chunk);
  return chunks;
}

/** Prefer a node of the current session (no write needed), then the newest. */
function pickKeeper(nodes: OwnedNode[], session: string): OwnedNode {
  return nodes.reduce((best, n) => {
    const bestOurs = best.owner === session;
    const nOurs = n.owner === session;
    if (nOurs !== bestOurs) return nOurs ? n : best;
    return n.path > best.path ? n : best;
  });
}
