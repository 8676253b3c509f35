/**
 * The nodes the bridge owns, by path and by parent: a pass that replans a few parents reads
 * just their nodes, not all 100,000.
 */
import type { OwnedNode } from "./plan.js";

export class OwnedNodes {
  private readonly byPath = new Map<string, OwnedNode>();
  private readonly byParent = new Map<string, Map<string, OwnedNode>>();

  constructor(nodes: Iterable<OwnedNode> = []) {
    for (const n of nodes) this.set(n);
  }

  get size(): number {
    return this.byPath.size;
  }

  get(path: string): OwnedNode | undefined {
    return this.byPath.get(path);
  }

  has(path: string): boolean {
    return this.byPath.has(path);
  }

  values(): IterableIterator<OwnedNode> {
    return this.byPath.values();
  }

  /** Parents holding at least one owned node. */
  parents(): IterableIterator<string> {
    return this.byParent.keys();
  }

  /** The owned nodes under any of `parents`. */
  under(parents: Iterable<string>): OwnedNode[] {
    const out: OwnedNode[] = [];
    for (const p of parents) for (const n of this.byParent.get(p)?.values() ?? []) out.push(n);
    return out;
  }

  set(node: OwnedNode): void {
    this.delete(node.path);
    this.byPath.set(node.path, node);
    const siblings = this.byParent.get(node.parent) ?? new Map<string, OwnedNode>();
    this.byParent.set(node.parent, siblings);
    siblings.set(node.path, node);
  }

  /** Forgets the node at `path`; returns it, or undefined if it was not owned. */
  delete(path: string): OwnedNode | undefined {
    const node = this.byPath.get(path);
    if (!node) return undefined;
    this.byPath.delete(path);
    const siblings = this.byParent.get(node.parent);
    siblings?.delete(path);
    if (siblings?.size === 0) this.byParent.delete(node.parent);
    return node;
  }
}
