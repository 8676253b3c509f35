/**
 * The pure answerer: (question, zone, snapshot) → response, with no I/O. Every DNS reply the
 * bridge sends is decided here; the wire layer only encodes (and caches) what this returns.
 *
 *   outside the zone (incl. `. NS`)      REFUSED, at once, even before the first read
 *   no snapshot (not read yet / stale)    SERVFAIL
 *   apex                                  SOA, NS
 *   <service> | <id>.<service> |
 *   _<port>._tcp.<service>                their records, else NODATA
 *   empty non-terminal                    NODATA (RFC 8020)
 *   anything else under the zone          NXDOMAIN
 * NODATA and NXDOMAIN carry the SOA in the authority section so resolvers cache them for the
 * SOA minimum (= --dns-ttl). Other classes than IN/ANY: REFUSED; AXFR/IXFR: NOTIMP.
 * If one name could mean two things (service `a.web` and instance `a` of `web`), the service
 * wins, then the instance, then the `_port._tcp` name.
 */
import { isPublishableLabel, splitName } from "./names.js";
import {
  type DnsResponse,
  QCLASS_ANY,
  QCLASS_IN,
  QTYPE,
  RCODE,
  type Rcode,
  type ResourceRecord,
} from "./records.js";
import type { ServiceNode, Snapshot } from "./snapshot.js";

/**
 * What the answerer reads of a snapshot: services are only ever looked up by name, so a caller
 * can record the lookups an answer depended on (see the responder's cache).
 */
export interface SnapshotView {
  readonly zone: Snapshot["zone"];
  readonly emptyNonTerminals: Snapshot["emptyNonTerminals"];
  readonly services: { get(name: string): ServiceNode | undefined };
}

export interface Question {
  /** As asked, any case, with or without the final dot. */
  readonly name: string;
  readonly type: number;
  /** Default IN. */
  readonly class?: number;
}

const EMPTY: readonly ResourceRecord[] = Object.freeze([]);

function reply(
  rcode: Rcode,
  authoritative: boolean,
  answer: readonly ResourceRecord[] = EMPTY,
  authority: readonly ResourceRecord[] = EMPTY,
  additional: readonly ResourceRecord[] = EMPTY,
): DnsResponse {
  return { rcode, authoritative, answer, authority, additional };
}

const REFUSED = Object.freeze(reply(RCODE.REFUSED, false));
const SERVFAIL = Object.freeze(reply(RCODE.SERVFAIL, false));
const NOTIMP = Object.freeze(reply(RCODE.NOTIMP, false));
const FORMERR = Object.freeze(reply(RCODE.FORMERR, false));

/** Answer a textual question (tests, tools). */
export function answer(
  question: Question,
  zone: readonly string[],
  snapshot: Snapshot | undefined,
): DnsResponse {
  const labels = splitName(question.name).map((l) => l.toLowerCase());
  return answerLabels(labels, question.type, question.class ?? QCLASS_IN, zone, snapshot);
}

/** True when lowercase `labels` end with the zone's labels. */
export function inZone(labels: readonly string[], zone: readonly string[]): boolean {
  const offset = labels.length - zone.length;
  if (offset < 0) return false;
  for (let i = 0; i < zone.length; i++) if (labels[offset + i] !== zone[i]) return false;
  return true;
}

/**
 * Answer a question given as lowercase labels (what the wire layer parses; labels may hold
 * any byte, including `.`, and then simply match nothing).
 */
export function answerLabels(
  labels: readonly string[],
  qtype: number,
  qclass: number,
  zone: readonly string[],
  snapshot: SnapshotView | undefined,
): DnsResponse {
  if ((qclass !== QCLASS_IN && qclass !== QCLASS_ANY) || !inZone(labels, zone)) return REFUSED;
  if (qtype === QTYPE.OPT) return FORMERR;
  // Zone transfers are not offered: nobody secondaries a registry that changes every second.
  if (qtype === QTYPE.AXFR || qtype === QTYPE.IXFR) return NOTIMP;
  if (!snapshot) return SERVFAIL;

  const soa = [snapshot.zone.soa];
  const nodata = () => reply(RCODE.NOERROR, true, EMPTY, soa);
  const nxdomain = () => reply(RCODE.NXDOMAIN, true, EMPTY, soa);
  const rel = labels.slice(0, labels.length - zone.length);

  if (rel.length === 0) {
    const z = snapshot.zone;
    if (qtype === QTYPE.SOA) return reply(RCODE.NOERROR, true, soa);
    if (qtype === QTYPE.NS) return reply(RCODE.NOERROR, true, z.ns);
    if (qtype === QTYPE.ANY) return reply(RCODE.NOERROR, true, [z.soa, ...z.ns]);
    return nodata();
  }
  // A label we could never publish (a dot inside, a space, …) cannot exist below the zone.
  if (!rel.every(isPublishableLabel)) return nxdomain();

  const services = snapshot.services;
  const relName = rel.join(".");
  const svc = services.get(relName);
  if (svc) return serviceAnswer(svc, qtype) ?? nodata();

  const first = rel[0] as string;
  if (rel.length >= 2) {
    const parentName = relName.slice(first.length + 1);
    const parent = services.get(parentName);
    if (parent) {
      const inst = parent.instances.get(first);
      if (inst) {
        const rrs = pick(qtype, { A: inst.a, AAAA: inst.aaaa, TXT: inst.txt });
        return rrs ? reply(RCODE.NOERROR, true, rrs) : nodata();
      }
      // `_tcp.<service>` exists as an empty non-terminal when the service has named ports.
      if (first === "_tcp" && parent.portNames.length > 0) return nodata();
    }
  }
  if (rel.length >= 3 && rel[1] === "_tcp" && first.startsWith("_")) {
    const owner = services.get(relName.slice(first.length + 6));
    const port = owner?.port(first.slice(1));
    if (port) {
      if (qtype === QTYPE.SRV || qtype === QTYPE.ANY) {
        return reply(RCODE.NOERROR, true, port.srv, EMPTY, port.additional);
      }
      return nodata();
    }
  }
  if (snapshot.emptyNonTerminals.has(relName)) return nodata();
  return nxdomain();
}

function serviceAnswer(svc: ServiceNode, qtype: number): DnsResponse | undefined {
  if (qtype === QTYPE.SRV) {
    return svc.srv.length > 0
      ? reply(RCODE.NOERROR, true, svc.srv, EMPTY, svc.srvAdditional)
      : undefined;
  }
  const rrs = pick(qtype, { A: svc.a, AAAA: svc.aaaa, SRV: svc.srv });
  return rrs ? reply(RCODE.NOERROR, true, rrs) : undefined;
}

/** The records of `qtype` (or all of them for ANY); undefined when there are none. */
function pick(
  qtype: number,
  sets: Partial<Record<"A" | "AAAA" | "SRV" | "TXT", readonly ResourceRecord[]>>,
): readonly ResourceRecord[] | undefined {
  let rrs: readonly ResourceRecord[] | undefined;
  if (qtype === QTYPE.ANY) {
    rrs = [...(sets.A ?? []), ...(sets.AAAA ?? []), ...(sets.SRV ?? []), ...(sets.TXT ?? [])];
  } else if (qtype === QTYPE.A) rrs = sets.A;
  else if (qtype === QTYPE.AAAA) rrs = sets.AAAA;
  else if (qtype === QTYPE.SRV) rrs = sets.SRV;
  else if (qtype === QTYPE.TXT) rrs = sets.TXT;
  return rrs && rrs.length > 0 ? rrs : undefined;
}
