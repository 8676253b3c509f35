/**
 * An immutable string-keyed map whose next version copies only the shards a change touches.
 * Under churn the DNS side publishes a new snapshot, and the sync side a new desired state,
 * many times a second; copying a 10,000-entry map for each cost more than the change itself.
 */

const SHARD_BITS = 8;
const SHARDS = 1 << SHARD_BITS;

/** FNV-1a over UTF-16 code units: cheap, and spreads DNS names well. */
function shardOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) & (SHARDS - 1);
}

const NO_SHARD: ReadonlyMap<string, never> = new Map<string, never>();

export class ShardedMap<V> {
  private constructor(
    private readonly shards: readonly ReadonlyMap<string, V>[],
    readonly size: number,
  ) {}

  static empty<V>(): ShardedMap<V> {
    return new ShardedMap<V>(new Array(SHARDS).fill(NO_SHARD), 0);
  }

  get(key: string): V | undefined {
    return this.shards[shardOf(key)]?.get(key);
  }

  has(key: string): boolean {
    return this.shards[shardOf(key)]?.has(key) ?? false;
  }

  *keys(): IterableIterator<string> {
    for (const shard of this.shards) yield* shard.keys();
  }

  *values(): IterableIterator<V> {
    for (const shard of this.shards) yield* shard.values();
  }

  *entries(): IterableIterator<[string, V]> {
    for (const shard of this.shards) yield* shard.entries();
  }

  /** A new map with `changes` applied (`undefined` deletes); this one is left as it was. */
  with(changes: ReadonlyMap<string, V | undefined>): ShardedMap<V> {
    if (changes.size === 0) return this;
    const shards = [...this.shards];
    const copied = new Set<number>();
    let size = this.size;
    for (const [key, value] of changes) {
      const i = shardOf(key);
      let shard = shards[i] as Map<string, V>;
      if (!copied.has(i)) {
        shard = new Map(shard);
        shards[i] = shard;
        copied.add(i);
      }
      const had = shard.has(key);
      if (value === undefined) {
        if (had) {
          shard.delete(key);
          size--;
        }
      } else {
        shard.set(key, value);
        if (!had) size++;
      }
    }
    return new ShardedMap(shards, size);
  }
}
