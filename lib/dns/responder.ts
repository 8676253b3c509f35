/**
 * Query bytes in, reply bytes out, from memory: parse, look the question up in a cache of
 * encoded answers, else ask the pure answerer and encode once. Shared by the UDP and TCP
 * listeners; no I/O, no timers.
 *
 * The registry changes many times a second, so positive answers outlive snapshots: each
 * remembers the service lookups it was read from and stays valid while they would find the
 * same: a service found is still current until its builder marks it superseded (services are
 * immutable and recompiled only when they change); a name not found stays absent while no
 * snapshot adds names. So re-checking an answer after a new snapshot reads flags, not maps.
 * Negative and apex answers carry the SOA serial, which moves with every snapshot: they live
 * for one snapshot only.
 */
import { RCODE } from "./records.js";
import type { ServiceNode, Snapshot } from "./snapshot.js";
import {
  assembleReply,
  DROP,
  type EncodedBody,
  emptyReply,
  encodeBody,
  errorReply,
  MAX_MESSAGE,
  MIN_UDP_PAYLOAD,
  type ParsedQuery,
  parseQuery,
} from "./wire.js";
import { answerLabels, type SnapshotView } from "./zone.js";

/** A service lookup an answer depended on, and what it found. */
type Dependency = readonly [name: string, found: ServiceNode | undefined];

/** A positive answer and the lookups it came from. */
interface DurableEntry {
  readonly body: EncodedBody;
  readonly dependencies: readonly Dependency[];
  /**
   * The generation of the last snapshot it was checked against (a number, not the snapshot:
   * an entry must not keep an old snapshot alive).
   */
  checkedIn: number;
}

/** Where answers come from; `undefined` means "not servable now" (SERVFAIL). */
export interface SnapshotSource {
  /** The snapshot to answer from: undefined before the first full read or past serve-stale. */
  current(): Snapshot | undefined;
}

export interface ResponderOptions {
  /** Lowercase zone labels (`["zk","internal"]`). */
  readonly zone: readonly string[];
  readonly source: SnapshotSource;
  /**
   * Largest UDP reply we send and advertise, whatever the client offers. Default 1232 (the
   * DNS Flag Day 2020 size that avoids IP fragmentation); bigger answers go over TCP.
   */
  readonly maxUdpPayload?: number;
  /**
   * Encoded positive answers kept before that cache is emptied (default 100,000); negative,
   * apex and error answers get a tenth of that in a per-snapshot cache of their own.
   */
  readonly cacheEntries?: number;
}

export type Transport = "udp" | "tcp";

export class Responder {
  private readonly zone: readonly string[];
  private readonly source: SnapshotSource;
  readonly maxUdpPayload: number;
  private readonly cacheEntries: number;
  private cacheFor: Snapshot | undefined;
  /** Lineage and generation the positive cache was last checked against. */
  private cacheLineage: object | undefined;
  private cacheGeneration = 0;
  private cache = new Map<string, DurableEntry>();
  private negativeCache = new Map<string, EncodedBody>();
  private readonly negativeEntries: number;
  private rotation = 0;
  private readonly keyScratch = Buffer.alloc(256 + 4);

  /** Query type of the last `respond()` call (-1 when it was dropped or unparseable). */
  lastQtype = -1;
  /** Rcode of the last reply (-1 when dropped). */
  lastRcode = -1;

  constructor(options: ResponderOptions) {
    this.zone = options.zone;
    this.source = options.source;
    const max = options.maxUdpPayload ?? 1232;
    // 65507: the largest UDP payload IPv4 can carry.
    if (!Number.isInteger(max) || max < MIN_UDP_PAYLOAD || max > 65507) {
      throw new Error(`max UDP payload ${max}: must be 512 to 65507`);
    }
    this.maxUdpPayload = max;
    this.cacheEntries = options.cacheEntries ?? 100_000;
    this.negativeEntries = Math.max(1, Math.floor(this.cacheEntries / 10));
  }

  /** The reply to one query, or undefined when it must be dropped. Never throws on input. */
  respond(query: Buffer, transport: Transport): Buffer | undefined {
    const q = parseQuery(query);
    this.lastQtype = -1;
    if (typeof q === "number") {
      if (q === DROP) {
        this.lastRcode = -1;
        return undefined;
      }
      this.lastRcode = q;
      return errorReply(query, q);
    }
    this.lastQtype = q.qtype;
    const payload = this.maxUdpPayload;
    if (q.edns && q.ednsVersion !== 0) {
      this.lastRcode = RCODE.BADVERS;
      return emptyReply(query, q, RCODE.BADVERS, false, false, payload);
    }
    const limit = transport === "tcp" ? MAX_MESSAGE : Math.min(q.udpSize, payload);

    const snapshot = this.source.current();
    if (snapshot !== this.cacheFor) {
      this.cacheFor = snapshot;
      this.negativeCache = new Map();
      if (snapshot) this.followLineage(snapshot);
    }
    const key = this.questionKey(query, q);
    let entry = snapshot && (this.durable(key, snapshot) ?? this.negativeCache.get(key));
    if (entry === undefined) {
      const dependencies: Dependency[] = [];
      entry = this.compute(q, snapshot && recording(snapshot, dependencies));
      if (snapshot !== undefined) this.remember(key, entry, dependencies);
    }
    this.lastRcode = entry.rcode;
    if (entry.body.length === 0) {
      return emptyReply(query, q, entry.rcode, entry.authoritative, false, payload);
    }
    this.rotation = (this.rotation + 1) & 0x3fffffff;
    return assembleReply(query, q, entry, limit, payload, this.rotation);
  }

  /**
   * Flags and generations only order snapshots of one builder, read forwards: a snapshot of
   * another builder, or an older one, starts the positive cache afresh.
   */
  private followLineage(snapshot: Snapshot): void {
    if (snapshot.lineage !== this.cacheLineage || snapshot.generation < this.cacheGeneration) {
      this.cache.clear();
      this.cacheLineage = snapshot.lineage;
    }
    this.cacheGeneration = snapshot.generation;
  }

  /** The cached positive answer for `key` if its lookups would find the same now. */
  private durable(key: string, snapshot: Snapshot): EncodedBody | undefined {
    const hit = this.cache.get(key);
    if (hit === undefined) return undefined;
    if (hit.checkedIn !== snapshot.generation) {
      const namesAdded = snapshot.namesAddedIn > hit.checkedIn;
      for (const [name, found] of hit.dependencies) {
        const stale =
          found === undefined
            ? namesAdded && snapshot.services.get(name) !== undefined
            : found.superseded;
        if (stale) {
          this.cache.delete(key);
          return undefined;
        }
      }
      hit.checkedIn = snapshot.generation;
    }
    return hit.body;
  }

  private remember(key: string, body: EncodedBody, dependencies: readonly Dependency[]): void {
    // Only answers with records, read from services, can outlive the snapshot: the rest
    // (NXDOMAIN, NODATA, apex SOA/NS) carry the serial. A flood of random names empties the
    // small negative cache, never the hot positive set.
    if (body.rcode === RCODE.NOERROR && body.ancount > 0 && dependencies.length > 0) {
      if (this.cache.size >= this.cacheEntries) this.cache.clear();
      this.cache.set(key, { body, dependencies, checkedIn: this.cacheGeneration });
    } else {
      if (this.negativeCache.size >= this.negativeEntries) this.negativeCache.clear();
      this.negativeCache.set(key, body);
    }
  }

  /** Lowercased question name + type + class, as a string usable as a Map key. */
  private questionKey(query: Buffer, q: ParsedQuery): string {
    const scratch = this.keyScratch;
    let n = 0;
    // Length bytes are ≤ 63, below 'A', so lowercasing every byte of the name is safe.
    for (let i = 12; i < q.qnameEnd; i++) {
      const c = query[i] as number;
      scratch[n++] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
    for (let i = q.qnameEnd; i < q.questionEnd; i++) scratch[n++] = query[i] as number;
    return scratch.toString("latin1", 0, n);
  }

  private compute(q: ParsedQuery, snapshot: SnapshotView | undefined): EncodedBody {
    const scratch = this.keyScratch;
    const nameLength = q.qnameEnd - 12;
    const labels: string[] = [];
    for (let p = 0; scratch[p] !== 0; ) {
      const l = scratch[p] as number;
      labels.push(scratch.toString("latin1", p + 1, p + 1 + l));
      p += l + 1;
    }
    const response = answerLabels(labels, q.qtype, q.qclass, this.zone, snapshot);
    return encodeBody(Buffer.from(scratch.subarray(0, nameLength)), response);
  }
}

/** A view of `snapshot` that notes every service lookup (and its result) in `into`. */
function recording(snapshot: Snapshot, into: Dependency[]): SnapshotView {
  return {
    zone: snapshot.zone,
    emptyNonTerminals: snapshot.emptyNonTerminals,
    services: {
      get(name) {
        const found = snapshot.services.get(name);
        into.push([name, found]);
        return found;
      },
    },
  };
}
