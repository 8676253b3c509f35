/**
 * The DNS vocabulary of the answerer: record types, rcodes, resource records as plain values,
 * and their zone-file text (`web.shop.zk.internal. 5 IN A 10.0.0.5`), which is also how tests,
 * `dig` and the benchmark's NSD zone file spell them.
 */
import { isIPv4, isIPv6 } from "node:net";

export const QTYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

export const QCLASS_IN = 1;
export const QCLASS_ANY = 255;

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended rcode 16 (EDNS version not supported): 0 in the header, 1 in the OPT. */
  BADVERS: 16,
} as const;
export type Rcode = (typeof RCODE)[keyof typeof RCODE];

const RCODE_NAMES = new Map<number, string>(Object.entries(RCODE).map(([k, v]) => [v, k]));
const QTYPE_NAMES = new Map<number, string>(Object.entries(QTYPE).map(([k, v]) => [v, k]));

export function rcodeName(rcode: number): string {
  return RCODE_NAMES.get(rcode) ?? `RCODE${rcode}`;
}

/** `A`, `SRV`, … or RFC 3597's `TYPE<n>` for the rest. */
export function qtypeName(qtype: number): string {
  return QTYPE_NAMES.get(qtype) ?? `TYPE${qtype}`;
}

export function qtypeFromName(name: string): number {
  const known = (QTYPE as Record<string, number>)[name.toUpperCase()];
  if (known !== undefined) return known;
  const m = /^TYPE(\d{1,5})$/i.exec(name);
  if (m && Number(m[1]) <= 0xffff) return Number(m[1]);
  throw new Error(`unknown DNS type "${name}"`);
}

interface RRBase {
  /** Absolute, lowercase: `web.shop.zk.internal.` */
  readonly name: string;
  readonly ttl: number;
}
export interface ARecord extends RRBase {
  readonly type: typeof QTYPE.A;
  readonly address: string;
}
export interface AAAARecord extends RRBase {
  readonly type: typeof QTYPE.AAAA;
  readonly address: string;
}
export interface SrvRecord extends RRBase {
  readonly type: typeof QTYPE.SRV;
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
}
export interface TxtRecord extends RRBase {
  readonly type: typeof QTYPE.TXT;
  /** Each ≤ 255 bytes (UTF-8). */
  readonly strings: readonly string[];
}
export interface NsRecord extends RRBase {
  readonly type: typeof QTYPE.NS;
  readonly target: string;
}
export interface SoaRecord extends RRBase {
  readonly type: typeof QTYPE.SOA;
  readonly mname: string;
  readonly rname: string;
  readonly serial: number;
  readonly refresh: number;
  readonly retry: number;
  readonly expire: number;
  /** Negative-caching TTL (RFC 2308). */
  readonly minimum: number;
}
export type ResourceRecord = ARecord | AAAARecord | SrvRecord | TxtRecord | NsRecord | SoaRecord;

/** What the answerer decides; the wire layer adds header bits, question and OPT. */
export interface DnsResponse {
  readonly rcode: Rcode;
  /** AA: set on every answer from zone data (NOERROR, NXDOMAIN), clear on errors. */
  readonly authoritative: boolean;
  readonly answer: readonly ResourceRecord[];
  readonly authority: readonly ResourceRecord[];
  readonly additional: readonly ResourceRecord[];
}

/** A 4-byte IPv4 or 16-byte IPv6 address; undefined for anything else (hostnames, zone ids). */
export function ipBytes(address: string): Buffer | undefined {
  const v4 = ipv4Bytes(address);
  if (v4) return v4;
  if (isIPv4(address)) return undefined; // forms like 010.0.0.1 that we do not publish
  if (!isIPv6(address) || address.includes("%")) return undefined;
  let text = address;
  const out = Buffer.alloc(16);
  // An embedded IPv4 tail (`::ffff:10.0.0.5`) becomes two hex groups.
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = ipBytes(tail);
    if (v4?.length !== 4) return undefined;
    text = `${text.slice(0, lastColon + 1)}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  const [head = "", rest] = text.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = rest === undefined || rest === "" ? [] : rest.split(":");
  const missing = 8 - headGroups.length - tailGroups.length;
  if (rest === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...headGroups, ...new Array<string>(missing).fill("0"), ...tailGroups];
  groups.forEach((g, i) => {
    out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  });
  return out;
}

/** Strict dotted-quad IPv4 (no leading zeros), parsed without allocating strings. */
function ipv4Bytes(address: string): Buffer | undefined {
  const len = address.length;
  if (len < 7 || len > 15) return undefined;
  const out = Buffer.allocUnsafe(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= len; i++) {
    const c = i === len ? 0x2e : address.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || part > 3) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return undefined; // leading zero
      value = value * 10 + (c - 0x30);
      if (++digits > 3 || value > 255) return undefined;
    } else {
      return undefined;
    }
  }
  return part === 4 ? out : undefined;
}

/** RFC 5952 text of a 16-byte IPv6 address (`fd00::5`), the way dig prints it. */
export function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Canonical text of an address (IPv6 compressed per RFC 5952); other text unchanged. */
export function canonicalAddress(address: string): string {
  const b = ipBytes(address);
  return b && b.length === 16 ? formatIPv6(b) : address;
}

/** A TXT character-string as dig prints it: quoted, `"` and `\` escaped, non-printables `\DDD`. */
export function quoteTxt(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, "utf8")) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte < 0x20 || byte > 0x7e) out += `\\${byte.toString().padStart(3, "0")}`;
    else out += String.fromCharCode(byte);
  }
  return `${out}"`;
}

/** Zone-file / dig text of one record. */
export function formatRecord(rr: ResourceRecord): string {
  const head = `${rr.name} ${rr.ttl} IN ${qtypeName(rr.type)}`;
  switch (rr.type) {
    case QTYPE.A:
      return `${head} ${rr.address}`;
    case QTYPE.AAAA:
      return `${head} ${canonicalAddress(rr.address)}`;
    case QTYPE.SRV:
      return `${head} ${rr.priority} ${rr.weight} ${rr.port} ${rr.target}`;
    case QTYPE.TXT:
      return `${head} ${rr.strings.map(quoteTxt).join(" ")}`;
    case QTYPE.NS:
      return `${head} ${rr.target}`;
    case QTYPE.SOA:
      return `${head} ${rr.mname} ${rr.rname} ${rr.serial} ${rr.refresh} ${rr.retry} ${rr.expire} ${rr.minimum}`;
  }
}
