/**
 * DNS wire format for the hot path, without dns-packet:
 *  - `parseQuery` checks the 12-byte header before touching anything else (dns-packet would
 *    allocate arrays from forged header counts) and reads the single question and an OPT;
 *  - `encodeBody` turns the answerer's response into answer/authority/additional bytes with
 *    name compression, for a question at offset 12, once per (name, type, class) and snapshot;
 *  - `assembleReply` copies ID, RD/CD/DO bits and the question *as asked* from the query
 *    and appends the precomputed body, truncating to the client's UDP size.
 */
import { MAX_LABEL_LENGTH, MAX_NAME_WIRE_LENGTH } from "./names.js";
import { type DnsResponse, ipBytes, QTYPE, RCODE, type ResourceRecord } from "./records.js";

const HEADER = 12;
/** Size of the OPT record we append: root name, type, class, TTL, RDLENGTH 0. */
export const OPT_SIZE = 11;
export const MIN_UDP_PAYLOAD = 512;
export const MAX_MESSAGE = 65535;
/** Counts a well-formed query never needs; more is junk (and a decode-cost attack). */
const MAX_SKIPPED_RECORDS = 8;

const QR = 0x8000;
const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
const CD = 0x0010;
const DO = 0x8000;

/** A query that could not be answered normally: drop it or send a header-only error. */
export const DROP = 0;
export type ParseFailure = typeof DROP | typeof RCODE.FORMERR | typeof RCODE.NOTIMP;

/** What the hot path needs from a query; offsets index into the query buffer. */
export interface ParsedQuery {
  readonly qnameEnd: number;
  /** End of the question: type and class included. */
  readonly questionEnd: number;
  readonly qtype: number;
  readonly qclass: number;
  /** The query carried an OPT record. */
  readonly edns: boolean;
  /** Client's advertised UDP payload size (512 without OPT, never below 512). */
  readonly udpSize: number;
  readonly ednsVersion: number;
  readonly dnssecOk: boolean;
}

/** Offset of a record's TYPE field (just past its owner name), or -1 if malformed. */
function typeOffset(msg: Buffer, pos: number): number {
  const len = msg.length;
  for (let guard = 0; guard < 128; guard++) {
    if (pos >= len) return -1;
    const l = msg[pos] as number;
    if (l === 0) return pos + 1;
    if ((l & 0xc0) === 0xc0) return pos + 2;
    if (l > MAX_LABEL_LENGTH) return -1;
    pos += l + 1;
  }
  return -1;
}

/** End of the record whose TYPE field is at `at`, or -1 if it runs past the message. */
function recordEnd(msg: Buffer, at: number): number {
  if (at < 0 || at + 10 > msg.length) return -1;
  const end = at + 10 + msg.readUInt16BE(at + 8);
  return end > msg.length ? -1 : end;
}

/**
 * Read a query's header, question and OPT. Returns DROP for what has no usable header or is
 * a response (answering those invites loops), NOTIMP for opcodes other than QUERY, FORMERR
 * for the rest of the junk.
 */
export function parseQuery(msg: Buffer): ParsedQuery | ParseFailure {
  const len = msg.length;
  if (len < HEADER) return DROP;
  const flags = msg.readUInt16BE(2);
  if (flags & QR) return DROP;
  if (((flags >> 11) & 0xf) !== 0) return RCODE.NOTIMP;
  const qdcount = msg.readUInt16BE(4);
  const ancount = msg.readUInt16BE(6);
  const nscount = msg.readUInt16BE(8);
  const arcount = msg.readUInt16BE(10);
  if (qdcount !== 1) return RCODE.FORMERR;
  if (ancount + nscount > MAX_SKIPPED_RECORDS || arcount > MAX_SKIPPED_RECORDS) {
    return RCODE.FORMERR;
  }
  let pos = HEADER;
  for (;;) {
    if (pos >= len) return RCODE.FORMERR;
    const l = msg[pos] as number;
    if (l === 0) break;
    // No compression in a question: there is nothing before it to point to.
    if (l > MAX_LABEL_LENGTH) return RCODE.FORMERR;
    pos += l + 1;
    if (pos - HEADER >= MAX_NAME_WIRE_LENGTH) return RCODE.FORMERR;
  }
  const qnameEnd = pos + 1;
  const questionEnd = qnameEnd + 4;
  if (questionEnd > len) return RCODE.FORMERR;
  const qtype = msg.readUInt16BE(qnameEnd);
  const qclass = msg.readUInt16BE(qnameEnd + 2);

  pos = questionEnd;
  for (let i = 0; i < ancount + nscount; i++) {
    pos = recordEnd(msg, typeOffset(msg, pos));
    if (pos < 0) return RCODE.FORMERR;
  }
  let edns = false;
  let udpSize = MIN_UDP_PAYLOAD;
  let ednsVersion = 0;
  let dnssecOk = false;
  for (let i = 0; i < arcount; i++) {
    const at = typeOffset(msg, pos);
    const end = recordEnd(msg, at);
    if (end < 0) return RCODE.FORMERR;
    if (msg.readUInt16BE(at) === QTYPE.OPT) {
      // RFC 6891: one OPT, owned by the root name.
      if (edns || at !== pos + 1) return RCODE.FORMERR;
      edns = true;
      udpSize = Math.max(msg.readUInt16BE(at + 2), MIN_UDP_PAYLOAD);
      ednsVersion = msg[at + 5] as number;
      dnssecOk = (msg.readUInt16BE(at + 6) & DO) !== 0;
    }
    // TSIG, SIG(0) and friends are not supported: ignored.
    pos = end;
  }
  return { qnameEnd, questionEnd, qtype, qclass, edns, udpSize, ednsVersion, dnssecOk };
}

/** The answer sections of one response, in wire form, for a question at offset 12. */
export interface EncodedBody {
  readonly rcode: number;
  readonly authoritative: boolean;
  /** Answer, authority and additional records, compressed against the question. */
  readonly body: Buffer;
  readonly ancount: number;
  readonly nscount: number;
  readonly arcount: number;
  /** Where the additional section starts in `body` (it may be dropped to fit). */
  readonly additionalStart: number;
  /**
   * When the answer section is `ancount` records of this same size (an A or AAAA set owned by
   * the question name), replies may rotate them so clients do not all pick the first.
   */
  readonly rotatableRecordSize: number;
}

/** Grows as needed; tracks compression targets by lowercase name suffix. */
class MessageWriter {
  buf: Buffer;
  pos: number;
  private readonly names = new Map<string, number>();

  constructor(size: number) {
    this.buf = Buffer.alloc(size);
    this.pos = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Register `labels[i..]` suffixes as living at the given offsets (the question's name). */
  remember(labels: readonly string[], offsets: readonly number[]): void {
    for (let i = 0; i < labels.length; i++) {
      const at = offsets[i] as number;
      if (at < 0x4000) this.names.set(labels.slice(i).join("."), at);
    }
  }

  /** An absolute, validated name (`a.b.`); `compress` false for SRV targets (RFC 2782). */
  name(name: string, compress: boolean): void {
    const labels =
      name === "." ? [] : name.slice(0, name.endsWith(".") ? -1 : undefined).split(".");
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join(".");
      const at = this.names.get(suffix);
      if (compress && at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.pos < 0x4000 && at === undefined) this.names.set(suffix, this.pos);
      const label = Buffer.from(labels[i] as string, "latin1");
      if (label.length === 0 || label.length > MAX_LABEL_LENGTH) {
        throw new Error(`cannot encode name "${name}": bad label length ${label.length}`);
      }
      this.u8(label.length);
      this.bytes(label);
    }
    this.u8(0);
  }
}

function writeRecord(w: MessageWriter, rr: ResourceRecord): void {
  w.name(rr.name, true);
  w.u16(rr.type);
  w.u16(1); // IN
  w.u32(rr.ttl);
  const rdlenAt = w.pos;
  w.u16(0);
  switch (rr.type) {
    case QTYPE.A:
    case QTYPE.AAAA: {
      const b = ipBytes(rr.address);
      if (!b || b.length !== (rr.type === QTYPE.A ? 4 : 16)) {
        throw new Error(`cannot encode ${rr.name}: bad address ${rr.address}`);
      }
      w.bytes(b);
      break;
    }
    case QTYPE.SRV:
      w.u16(rr.priority);
      w.u16(rr.weight);
      w.u16(rr.port);
      w.name(rr.target, false);
      break;
    case QTYPE.TXT:
      for (const s of rr.strings) {
        const b = Buffer.from(s, "utf8");
        if (b.length > 255) throw new Error(`cannot encode ${rr.name}: TXT string over 255 bytes`);
        w.u8(b.length);
        w.bytes(b);
      }
      break;
    case QTYPE.NS:
      w.name(rr.target, true);
      break;
    case QTYPE.SOA:
      w.name(rr.mname, true);
      w.name(rr.rname, true);
      w.u32(rr.serial);
      w.u32(rr.refresh);
      w.u32(rr.retry);
      w.u32(rr.expire);
      w.u32(rr.minimum);
      break;
  }
  const rdlen = w.pos - rdlenAt - 2;
  if (rdlen > 0xffff) throw new Error(`cannot encode ${rr.name}: RDATA over 65535 bytes`);
  w.buf.writeUInt16BE(rdlen, rdlenAt);
}

/**
 * Encode `response` for a question whose name is `qnameWire` (lowercase wire bytes, root
 * included). Records that would push a reply past 65535 bytes (even over TCP) are left out,
 * whole sections from the first one that does not fit.
 */
export function encodeBody(qnameWire: Buffer, response: DnsResponse): EncodedBody {
  const questionEnd = HEADER + qnameWire.length + 4;
  const w = new MessageWriter(questionEnd + 512);
  w.pos = HEADER;
  w.bytes(qnameWire);
  w.pos = questionEnd;
  // The question's labels are compression targets; labels holding '.' would alias other
  // names as text, so only the suffix after the last such label is offered.
  const labels: string[] = [];
  const offsets: number[] = [];
  for (let p = HEADER; qnameWire[p - HEADER] !== 0; ) {
    const l = qnameWire[p - HEADER] as number;
    labels.push(qnameWire.toString("latin1", p - HEADER + 1, p - HEADER + 1 + l));
    offsets.push(p);
    p += l + 1;
  }
  let firstSafe = 0;
  labels.forEach((l, i) => {
    if (l.includes(".")) firstSafe = i + 1;
  });
  w.remember(labels.slice(firstSafe), offsets.slice(firstSafe));

  const limit = MAX_MESSAGE - OPT_SIZE;
  const counts = [0, 0, 0];
  let additionalStart = -1;
  let full = false;
  const sections = [response.answer, response.authority, response.additional];
  sections.forEach((records, s) => {
    if (s === 2) additionalStart = w.pos;
    for (const rr of records) {
      if (full) return;
      const before = w.pos;
      writeRecord(w, rr);
      if (w.pos > limit) {
        // Later names might point into what is cut off, so stop writing altogether.
        w.pos = before;
        full = true;
        return;
      }
      counts[s] = (counts[s] as number) + 1;
    }
  });
  const body = Buffer.from(w.buf.subarray(questionEnd, w.pos));
  const ancount = counts[0] as number;
  const answerBytes = (additionalStart < 0 ? w.pos : additionalStart) - questionEnd;
  let rotatableRecordSize = 0;
  const t = response.answer[0]?.type;
  if (
    ancount > 1 &&
    counts[1] === 0 &&
    (t === QTYPE.A || t === QTYPE.AAAA) &&
    response.answer.every((rr) => rr.type === t)
  ) {
    const size = t === QTYPE.A ? 16 : 28;
    // Only when every owner name compressed to the question: fixed-size records.
    if (answerBytes === ancount * size && body.readUInt16BE(0) === (0xc000 | HEADER)) {
      rotatableRecordSize = size;
    }
  }
  return {
    rcode: response.rcode,
    authoritative: response.authoritative,
    body,
    ancount,
    nscount: counts[1] as number,
    arcount: counts[2] as number,
    additionalStart: additionalStart < 0 ? body.length : additionalStart - questionEnd,
    rotatableRecordSize,
  };
}

/** Header-only error reply (FORMERR, NOTIMP) for a query whose question could not be used. */
export function errorReply(query: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(HEADER);
  out[0] = query[0] as number;
  out[1] = query[1] as number;
  const flags = query.readUInt16BE(2);
  // Keep opcode and RD so the client can match the reply to what it asked.
  out.writeUInt16BE(QR | (flags & 0x7800) | (flags & RD) | (rcode & 0xf), 2);
  return out;
}

/** Flags, counts and question of a reply to `query`; returns the offset after the question. */
function writeHead(
  out: Buffer,
  query: Buffer,
  q: ParsedQuery,
  rcode: number,
  aa: boolean,
  tc: boolean,
  counts: readonly [number, number, number],
): number {
  out[0] = query[0] as number;
  out[1] = query[1] as number;
  const qflags = query.readUInt16BE(2);
  out.writeUInt16BE(QR | (aa ? AA : 0) | (tc ? TC : 0) | (qflags & (RD | CD)) | (rcode & 0xf), 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(counts[0], 6);
  out.writeUInt16BE(counts[1], 8);
  out.writeUInt16BE(counts[2] + (q.edns ? 1 : 0), 10);
  // A plain loop: for ~30 bytes it beats Buffer#copy, which allocates a view per call.
  for (let i = HEADER; i < q.questionEnd; i++) out[i] = query[i] as number;
  return q.questionEnd;
}

/** Our OPT: advertised payload size, extended rcode bits, version 0, DO echoed (RFC 3225). */
function writeOpt(out: Buffer, at: number, q: ParsedQuery, rcode: number, payload: number): void {
  out[at] = 0;
  out.writeUInt16BE(QTYPE.OPT, at + 1);
  out.writeUInt16BE(payload, at + 3);
  out[at + 5] = rcode >> 4;
  out[at + 6] = 0;
  out.writeUInt16BE(q.dnssecOk ? DO : 0, at + 7);
  out.writeUInt16BE(0, at + 9);
}

/** A reply with no records (REFUSED, SERVFAIL, BADVERS, a TC stub): question and OPT only. */
export function emptyReply(
  query: Buffer,
  q: ParsedQuery,
  rcode: number,
  aa: boolean,
  tc: boolean,
  payload: number,
): Buffer {
  const size = q.questionEnd + (q.edns ? OPT_SIZE : 0);
  const out = Buffer.allocUnsafe(size);
  const at = writeHead(out, query, q, rcode, aa, tc, [0, 0, 0]);
  if (q.edns) writeOpt(out, at, q, rcode, payload);
  return out;
}

/**
 * The reply to `query` from a precomputed body, within `limit` bytes: the whole body; else
 * without the additional section (RFC 2181 §9: no TC for that); else an empty TC=1 reply.
 * `rotation` picks the first record of a rotatable answer set.
 */
export function assembleReply(
  query: Buffer,
  q: ParsedQuery,
  entry: EncodedBody,
  limit: number,
  payload: number,
  rotation: number,
): Buffer {
  const opt = q.edns ? OPT_SIZE : 0;
  let bodyLength = entry.body.length;
  let arcount = entry.arcount;
  if (q.questionEnd + bodyLength + opt > limit) {
    bodyLength = entry.additionalStart;
    arcount = 0;
    if (q.questionEnd + bodyLength + opt > limit) {
      return emptyReply(query, q, entry.rcode, entry.authoritative, true, payload);
    }
  }
  const out = Buffer.allocUnsafe(q.questionEnd + bodyLength + opt);
  let at = writeHead(out, query, q, entry.rcode, entry.authoritative, false, [
    entry.ancount,
    entry.nscount,
    arcount,
  ]);
  const size = entry.rotatableRecordSize;
  if (size > 0) {
    const split = (rotation % entry.ancount) * size;
    const answerEnd = entry.ancount * size;
    at += entry.body.copy(out, at, split, answerEnd);
    at += entry.body.copy(out, at, 0, split);
    at += entry.body.copy(out, at, answerEnd, bodyLength);
  } else if (bodyLength === entry.body.length) {
    out.set(entry.body, at);
    at += bodyLength;
  } else {
    at += entry.body.copy(out, at, 0, bodyLength);
  }
  if (q.edns) writeOpt(out, at, q, entry.rcode, payload);
  return out;
}
