/**
 * Query bytes in, reply bytes out, from memory: parse, look the question up in a per-snapshot
 * cache of encoded answers, else ask the pure answerer and encode once. Shared by the UDP
 * and TCP listeners; no I/O, no timers.
 */
import { RCODE } from "./records.js";
import type { Snapshot } from "./snapshot.js";
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
import { answerLabels } from "./zone.js";

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
   * Encoded NOERROR answers kept per snapshot before that cache is emptied (default 100,000);
   * negative and error answers get a tenth of that in a cache of their own.
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
  private cache = new Map<string, EncodedBody>();
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
      this.cache = new Map();
      this.negativeCache = new Map();
    }
    const key = this.questionKey(query, q);
    let entry = this.cache.get(key) ?? this.negativeCache.get(key);
    if (entry === undefined) {
      entry = this.compute(q, snapshot);
      if (snapshot !== undefined) {
        // Negative answers get their own, smaller cache: a flood of random names empties
        // that one, never the hot positive set.
        const cache = entry.rcode === RCODE.NOERROR ? this.cache : this.negativeCache;
        const cap = cache === this.cache ? this.cacheEntries : this.negativeEntries;
        if (cache.size >= cap) cache.clear();
        cache.set(key, entry);
      }
    }
    this.lastRcode = entry.rcode;
    if (entry.body.length === 0) {
      return emptyReply(query, q, entry.rcode, entry.authoritative, false, payload);
    }
    this.rotation = (this.rotation + 1) & 0x3fffffff;
    return assembleReply(query, q, entry, limit, payload, this.rotation);
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

  private compute(q: ParsedQuery, snapshot: Snapshot | undefined): EncodedBody {
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
