/**
 * An immutable string-keyed map whose next version copies only the parts a change touches.
 * Under churn the DNS side publishes a new snapshot, and the sync side a new desired state,
 * many times a second; copying a 10,000-entry map for each cost more than the change itself.
 *
 * Two levels: 64 branches of 64 leaves, each leaf a small Map. A change copies the root (64
 * pointers) once per version, and its branch (64 pointers) and leaf (a few entries at 10,000
 * keys) once each. With one level of 256 leaves, each change copied a ~40-entry Map: a fifth of
 * everything the DNS side allocated while following 1,000 changes a second.
 */

const BITS = 6;
const FANOUT = 1 << BITS;
const MASK = FANOUT - 1;

/** FNV-1a over UTF-16 code units: cheap, and spreads DNS names well. Low 12 bits used. */
function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

type Leaf<V> = ReadonlyMap<string, V>;
type Branch<V> = readonly Leaf<V>[];

const EMPTY_LEAF: Leaf<never> = new Map<string, never>();
const EMPTY_BRANCH: Branch<never> = new Array(FANOUT).fill(EMPTY_LEAF);

export class ShardedMap<V> {
  private constructor(
    private readonly branches: readonly Branch<V>[],
    readonly size: number,
  ) {}

  static empty<V>(): ShardedMap<V> {
    return new ShardedMap<V>(new Array(FANOUT).fill(EMPTY_BRANCH), 0);
  }

  get(key: string): V | undefined {
    const h = hashOf(key);
    return this.branches[(h >>> BITS) & MASK]?.[h & MASK]?.get(key);
  }

  has(key: string): boolean {
    const h = hashOf(key);
    return this.branches[(h >>> BITS) & MASK]?.[h & MASK]?.has(key) ?? false;
  }

  *keys(): IterableIterator<string> {
    for (const branch of this.branches) for (const leaf of branch) yield* leaf.keys();
  }

  *values(): IterableIterator<V> {
    for (const branch of this.branches) for (const leaf of branch) yield* leaf.values();
  }

  *entries(): IterableIterator<[string, V]> {
    for (const branch of this.branches) for (const leaf of branch) yield* leaf.entries();
  }

  /** A new map with `changes` applied (`undefined` deletes); this one is left as it was. */
  with(changes: ReadonlyMap<string, V | undefined>): ShardedMap<V> {
    if (changes.size === 0) return this;
    const branches = this.branches.slice() as Leaf<V>[][];
    // Branches and leaves already copied for this version (by index b * FANOUT + l, and b).
    const copiedBranches = new Set<number>();
    const copiedLeaves = new Set<number>();
    let size = this.size;
    changes.forEach((value, key) => {
      const h = hashOf(key);
      const b = (h >>> BITS) & MASK;
      const l = h & MASK;
      let branch = branches[b] as Leaf<V>[];
      if (!copiedBranches.has(b)) {
        branch = branch.slice();
        branches[b] = branch;
        copiedBranches.add(b);
      }
      let leaf = branch[l] as Map<string, V>;
      if (!copiedLeaves.has(b * FANOUT + l)) {
        leaf = new Map(leaf);
        branch[l] = leaf;
        copiedLeaves.add(b * FANOUT + l);
      }
      const had = leaf.has(key);
      if (value === undefined) {
        if (had) {
          leaf.delete(key);
          size--;
        }
      } else {
        leaf.set(key, value);
        if (!had) size++;
      }
    });
    return new ShardedMap(branches, size);
  }
}
