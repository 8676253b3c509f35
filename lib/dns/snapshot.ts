/**
 * The DNS side's view of the registry: an immutable `Snapshot` built from `Registration`s,
 * compiled per service so a change to one service recompiles only that service.
 *
 * Naming (zone `Z`):
 *   `<service>.Z`                  A / AAAA / SRV of the service's non-draining instances
 *   `_<port>._tcp.<service>.Z`     SRV for each named port
 *   `<instance-id>.<service>.Z`    A / AAAA / TXT of one instance (draining ones too, so a
 *                                  client holding an SRV target can still resolve it while
 *                                  the instance drains; its TXT shows the status)
 * SRV records are `0 <weight> <port> <instance-id>.<service>.Z`; weight is the
 * registration's `weight`, default 1 (RFC 2782: 0 would starve the target whenever any
 * other has weight > 0). An instance whose address is a hostname rather than an IP gets no
 * A/AAAA; its SRV target is that hostname.
 */
import type { Format, Registration } from "../registration.js";
import { META } from "../registration.js";
import { ShardedMap } from "../sharded-map.js";
import {
  fqdn,
  isPublishableHostLabel,
  isPublishableLabel,
  MAX_NAME_WIRE_LENGTH,
  parseZone,
  wireLength,
} from "./names.js";
import {
  type AAAARecord,
  type ARecord,
  canonicalAddress,
  ipBytes,
  type NsRecord,
  QTYPE,
  type SoaRecord,
  type SrvRecord,
  type TxtRecord,
} from "./records.js";

export interface SnapshotOptions {
  /** The zone served, e.g. `zk.internal.` */
  readonly zone: string;
  /** Default TTL in seconds (`--dns-ttl`); also the SOA TTL and negative-caching TTL. */
  readonly ttl: number;
  /** NS target and SOA MNAME; default `ns.<zone>`. */
  readonly nsName?: string;
  /** SOA RNAME (the mailbox, `.` for `@`); default `hostmaster.<zone>`. */
  readonly hostmaster?: string;
  /** First SOA serial; default the current Unix time in seconds. Tests pin it. */
  readonly serial?: number;
}

/** Why something registered is not in DNS. */
export type SkipReason =
  | "service-name"
  | "instance-id"
  | "address"
  | "port"
  | "port-name"
  | "name-too-long"
  | "duplicate-id"
  | "txt-too-long";

export interface Skipped {
  readonly reason: SkipReason;
  readonly service: string;
  readonly id?: string;
  readonly detail: string;
}

/** Told about each skipped name or instance at every compile; callers log/count once. */
export type OnSkip = (skipped: Skipped) => void;

export interface InstanceNode {
  /** Lowercase. */
  readonly id: string;
  readonly fqdn: string;
  readonly registration: Registration;
  readonly a: readonly ARecord[];
  readonly aaaa: readonly AAAARecord[];
  readonly txt: readonly TxtRecord[];
}

export interface PortNode {
  readonly fqdn: string;
  readonly srv: readonly SrvRecord[];
  /** A/AAAA of the SRV targets. */
  readonly additional: readonly (ARecord | AAAARecord)[];
}

/** A service's instances by lowercase id. */
export interface InstanceLookup {
  readonly size: number;
  get(id: string): InstanceNode | undefined;
  values(): IterableIterator<InstanceNode>;
}

export interface ServiceNode {
  /** Lowercase, relative to the zone: `web.shop`. */
  readonly name: string;
  readonly fqdn: string;
  readonly ttl: number;
  readonly a: readonly ARecord[];
  readonly aaaa: readonly AAAARecord[];
  readonly srv: readonly SrvRecord[];
  readonly srvAdditional: readonly (ARecord | AAAARecord)[];
  readonly instances: InstanceLookup;
  /** Lowercase names of the ports with `_<port>._tcp` records (then `_tcp.<service>` exists). */
  readonly portNames: readonly string[];
  /** The SRV records of one named port (lowercase, without the `_`). */
  port(name: string): PortNode | undefined;
  /**
   * True once a later snapshot of the same builder holds another node (or none) under this
   * name: what the responder's cache checks instead of looking the name up again.
   */
  readonly superseded: boolean;
}

export interface ZoneData {
  /** Lowercase labels of the zone. */
  readonly labels: readonly string[];
  readonly fqdn: string;
  readonly ttl: number;
  readonly soa: SoaRecord;
  readonly ns: readonly NsRecord[];
}

export interface Snapshot {
  readonly zone: ZoneData;
  readonly serial: number;
  /** By lowercase name relative to the zone (`web.shop`); shared with older snapshots. */
  readonly services: ShardedMap<ServiceNode>;
  /** Relative names that exist only because names below them do (`shop` for `web.shop`). */
  readonly emptyNonTerminals: ReadonlySet<string>;
  readonly instanceCount: number;
  /** Who built it: `superseded` flags and generations mean something within one lineage. */
  readonly lineage: object;
  /** Counts the lineage's builds (never wraps, unlike the serial). */
  readonly generation: number;
  /** The last generation that added a service name (a name absent before may exist now). */
  readonly namesAddedIn: number;
}

/** Zone-wide settings a service compile needs (validated `SnapshotOptions`). */
export interface ZoneConfig {
  readonly labels: readonly string[];
  readonly fqdn: string;
  readonly ttl: number;
  readonly nsName: string;
  readonly hostmaster: string;
}

/** Validate the options; throws one clear line on a bad zone or TTL. */
export function resolveZone(options: SnapshotOptions): ZoneConfig {
  const labels = parseZone(options.zone);
  const zoneFqdn = fqdn(labels);
  if (!Number.isInteger(options.ttl) || options.ttl < 0 || options.ttl > 0x7fffffff) {
    throw new Error(`dns ttl ${options.ttl}: must be whole seconds, 0 to 2147483647`);
  }
  const absolute = (name: string) => (name.endsWith(".") ? name : `${name}.`).toLowerCase();
  return {
    labels,
    fqdn: zoneFqdn,
    ttl: options.ttl,
    nsName: absolute(options.nsName ?? `ns.${zoneFqdn}`),
    hostmaster: absolute(options.hostmaster ?? `hostmaster.${zoneFqdn}`),
  };
}

function zoneData(zone: ZoneConfig, serial: number): ZoneData {
  return {
    labels: zone.labels,
    fqdn: zone.fqdn,
    ttl: zone.ttl,
    soa: {
      name: zone.fqdn,
      ttl: zone.ttl,
      type: QTYPE.SOA,
      mname: zone.nsName,
      rname: zone.hostmaster,
      serial,
      // Nobody transfers this zone; conventional values so tools do not complain.
      refresh: 3600,
      retry: 600,
      expire: 86400,
      // RFC 2308: negative answers are cached min(SOA TTL, minimum) = --dns-ttl.
      minimum: zone.ttl,
    },
    ns: [{ name: zone.fqdn, ttl: zone.ttl, type: QTYPE.NS, target: zone.nsName }],
  };
}

/** Service name → lowercase labels, or undefined when a label could not be published. */
export function serviceLabels(service: string): string[] | undefined {
  if (service === "") return undefined;
  const labels = service.toLowerCase().split(".");
  return labels.every(isPublishableLabel) ? labels : undefined;
}

/** Metadata `ttl` in seconds (`30`, `30s`, `2m`, `1h`); undefined when absent or unusable. */
export function parseTtl(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(\d{1,10})\s*(s|m|h)?\s*$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1);
  return n <= 0x7fffffff ? n : undefined;
}

const TXT_STRING_MAX = 255;
/** Leave room in a 64 KiB message for the rest of the reply. */
const TXT_RDATA_BUDGET = 60_000;

/** Shared by every instance without records of a type. */
const NONE: readonly never[] = Object.freeze([]);

/** A/AAAA records of an instance, or of its service when it is the owner `name`. */
type AddressRecord = ARecord | AAAARecord;

/**
 * One published instance. Its records are made when asked for, not kept: at 100,000 instances
 * the kept records (the name, the A record and its copy in the service's set, one SRV per port)
 * were about 580 B an instance, most of the DNS side's heap, and every change to a service
 * re-made them all. Answers are cached encoded (the responder), so making them costs little.
 */
class Instance implements InstanceNode {
  constructor(
    /** Lowercase. */
    readonly id: string,
    private readonly service: Service,
    readonly registration: Registration,
    /** Canonical IP text (`family` 4 or 6), or the SRV target hostname (`family` 0). */
    private readonly address: string,
    private readonly family: 0 | 4 | 6,
  ) {}

  get fqdn(): string {
    return `${this.id}.${this.service.fqdn}`;
  }

  get a(): readonly ARecord[] {
    return this.family === 4 ? [this.addressRecord(this.fqdn) as ARecord] : NONE;
  }

  get aaaa(): readonly AAAARecord[] {
    return this.family === 6 ? [this.addressRecord(this.fqdn) as AAAARecord] : NONE;
  }

  get txt(): readonly TxtRecord[] {
    const strings = txtStrings(this.registration, () => {});
    return strings.length > 0
      ? [{ name: this.fqdn, ttl: this.service.ttl, type: QTYPE.TXT, strings }]
      : NONE;
  }

  /** Where an SRV record points: the instance's name, or its hostname. */
  target(fqdn: string): string {
    return this.family === 0 ? this.address : fqdn;
  }

  /** Its A or AAAA record under `name`; undefined for a hostname. */
  addressRecord(name: string): AddressRecord | undefined {
    const ttl = this.service.ttl;
    if (this.family === 4) return { name, ttl, type: QTYPE.A, address: this.address };
    if (this.family === 6) return { name, ttl, type: QTYPE.AAAA, address: this.address };
    return undefined;
  }

  /** SRV weight: the registration's, default 1, within 0-65535. */
  get weight(): number {
    return Math.min(Math.max(Math.trunc(this.registration.weight ?? 1), 0), 65535);
  }
}

/** A service's instances in id order, found by binary search (a Map cost ~50 B each more). */
class InstancesById implements InstanceLookup {
  constructor(private readonly sorted: readonly Instance[]) {}

  get size(): number {
    return this.sorted.length;
  }

  get(id: string): Instance | undefined {
    let lo = 0;
    let hi = this.sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const inst = this.sorted[mid] as Instance;
      if (inst.id === id) return inst;
      if (inst.id < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  values(): IterableIterator<Instance> {
    return this.sorted.values();
  }
}

/** A compiled service: what is published of it, its records made when asked for. */
class Service implements ServiceNode {
  readonly instances: InstancesById;
  /** Set by the builder that replaces it, never reset. */
  superseded = false;

  constructor(
    readonly name: string,
    readonly fqdn: string,
    readonly ttl: number,
    /** Room under 255 bytes for a label in front of the service name (port-name check). */
    private readonly room: number,
    readonly portNames: readonly string[],
    build: (service: Service) => Instance[],
  ) {
    this.instances = new InstancesById(build(this));
  }

  get a(): readonly ARecord[] {
    return this.addresses(4) as ARecord[];
  }

  get aaaa(): readonly AAAARecord[] {
    return this.addresses(6) as AAAARecord[];
  }

  get srv(): readonly SrvRecord[] {
    const out: SrvRecord[] = [];
    for (const inst of this.serving()) {
      const port = inst.registration.port;
      out.push(srvRecord(this.fqdn, this.ttl, inst.weight, port, inst.target(inst.fqdn)));
    }
    return out;
  }

  get srvAdditional(): readonly AddressRecord[] {
    return this.targetAddresses(() => true);
  }

  port(name: string): PortNode | undefined {
    if (!this.portNames.includes(name)) return undefined;
    const fqdn = `_${name}._tcp.${this.fqdn}`;
    const srv: SrvRecord[] = [];
    const has = new Set<Instance>();
    for (const inst of this.serving()) {
      const target = inst.target(inst.fqdn);
      forEachPublishablePort(inst.registration, this.room, (portName, port) => {
        if (portName !== name) return;
        srv.push(srvRecord(fqdn, this.ttl, inst.weight, port, target));
        has.add(inst);
      });
    }
    return { fqdn, srv, additional: this.targetAddresses((inst) => has.has(inst)) };
  }

  /** Non-draining instances, in id order: the ones the service's own records name. */
  private *serving(): Generator<Instance> {
    for (const inst of this.instances.values()) if (!inst.registration.draining) yield inst;
  }

  private addresses(family: 4 | 6): AddressRecord[] {
    const out: AddressRecord[] = [];
    for (const inst of this.serving()) {
      const rr = inst.addressRecord(this.fqdn);
      if (rr && (rr.type === QTYPE.A) === (family === 4)) out.push(rr);
    }
    return out;
  }

  /** A/AAAA of the SRV targets (under the instances' names) of the instances `which` picks. */
  private targetAddresses(which: (inst: Instance) => boolean): AddressRecord[] {
    const out: AddressRecord[] = [];
    for (const inst of this.serving()) {
      if (!which(inst)) continue;
      const rr = inst.addressRecord(inst.fqdn);
      if (rr) out.push(rr);
    }
    return out;
  }
}

function srvRecord(
  name: string,
  ttl: number,
  weight: number,
  port: number,
  target: string,
): SrvRecord {
  return { name, ttl, type: QTYPE.SRV, priority: 0, weight, port, target };
}

/**
 * Calls `each` with every named port of `r` that can be published: `_<name>._tcp` fits, 1-65535.
 * A callback, not a generator: this runs for every instance at every compile of its service.
 */
function forEachPublishablePort(
  r: Registration,
  room: number,
  each: (name: string, port: number) => void,
  report?: (reason: SkipReason, detail: string) => void,
): void {
  for (const portName in r.ports) {
    const port = r.ports[portName] as number;
    const name = portName.toLowerCase();
    if (!isPublishableHostLabel(name) || name.length + 6 > room) {
      report?.("port-name", `port name "${portName}" cannot be a DNS label`);
      continue;
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      report?.("port", `port ${portName}=${port} is not 1-65535`);
      continue;
    }
    each(name, port);
  }
}

/**
 * False when every `key=value` surely fits a TXT string and all of them one message (3 UTF-8
 * bytes per UTF-16 unit at most): then `txtStrings` would report nothing, and a compile, run
 * for every instance of a service at each of its changes, skips sorting and measuring them.
 */
function txtMayNotFit(r: Registration): boolean {
  let bound = 0;
  for (const key in r.metadata) {
    const size = 3 * (key.length + 1 + (r.metadata[key] as string).length);
    if (size > TXT_STRING_MAX) return true;
    bound += size + 1;
  }
  return bound > TXT_RDATA_BUDGET;
}

function txtStrings(r: Registration, report: (detail: string) => void): string[] {
  const strings: string[] = [];
  let budget = TXT_RDATA_BUDGET;
  for (const key of Object.keys(r.metadata).sort()) {
    const s = `${key}=${r.metadata[key]}`;
    const size = Buffer.byteLength(s, "utf8");
    // Splitting one key=value over two strings would hand readers a string without '=':
    // an entry that does not fit one string is left out instead.
    if (size > TXT_STRING_MAX) {
      report(`metadata "${key}" is ${size} bytes as key=value; a TXT string holds 255`);
      continue;
    }
    if (size + 1 > budget) {
      report(`metadata beyond "${key}" does not fit one DNS message`);
      break;
    }
    budget -= size + 1;
    strings.push(s);
  }
  return strings;
}

function publishableHostname(address: string): string | undefined {
  const bare = address.endsWith(".") ? address.slice(0, -1) : address;
  const labels = bare.toLowerCase().split(".");
  if (labels.length < 1 || !labels.every(isPublishableHostLabel)) return undefined;
  if (wireLength(labels) > MAX_NAME_WIRE_LENGTH) return undefined;
  return fqdn(labels);
}

/**
 * Compile one service from its merged registrations (already deduplicated by the caller's
 * order: first wins). Returns undefined when the name itself cannot be published.
 */
export function compileService(
  service: string,
  registrations: readonly Registration[],
  zone: ZoneConfig,
  onSkip: OnSkip,
): ServiceNode | undefined {
  const labels = serviceLabels(service);
  if (!labels) {
    onSkip({
      reason: "service-name",
      service,
      detail: "a label is not 1-63 letters, digits, '-' or '_'",
    });
    return undefined;
  }
  const all = [...labels, ...zone.labels];
  if (wireLength(all) > MAX_NAME_WIRE_LENGTH) {
    onSkip({ reason: "name-too-long", service, detail: "service name + zone exceed 255 bytes" });
    return undefined;
  }
  const name = labels.join(".");
  const serviceFqdn = fqdn(all);
  // Room left under 255 bytes for `<id>.` and `_<port>._tcp.` in front of the service name.
  const room = MAX_NAME_WIRE_LENGTH - wireLength(all);

  let ttl: number | undefined;
  for (const r of registrations) {
    const t = parseTtl(r.metadata[META.ttl]);
    if (t !== undefined && (ttl === undefined || t < ttl)) ttl = t;
  }
  ttl ??= zone.ttl;

  // In the caller's order, so the first of two duplicates wins: what can be published.
  const accepted: { r: Registration; id: string; address: string; family: 0 | 4 | 6 }[] = [];
  const seenEndpoints = new Set<string>();
  const seenIds = new Set<string>();
  const portNames = new Set<string>();
  const addPortName = (portName: string) => portNames.add(portName);
  // One closure per compile, not per instance: this loop runs for every instance on a re-read.
  let r: Registration;
  const skip = (reason: SkipReason, detail: string) =>
    onSkip({ reason, service, id: r.id, detail });
  for (r of registrations) {
    if (!isPublishableHostLabel(r.id)) {
      skip("instance-id", "not 1-63 letters, digits, '-' or '_' (not starting with '_')");
      continue;
    }
    if (r.id.length + 1 > room) {
      skip("name-too-long", "instance name exceeds 255 bytes");
      continue;
    }
    if (!Number.isInteger(r.port) || r.port < 1 || r.port > 65535) {
      skip("port", `port ${r.port} is not 1-65535`);
      continue;
    }
    const bytes = ipBytes(r.address);
    const hostname = bytes ? undefined : publishableHostname(r.address);
    if (!bytes && !hostname) {
      skip("address", `address "${r.address}" is neither an IP address nor a hostname`);
      continue;
    }
    const family = bytes?.length === 4 ? 4 : bytes ? 6 : 0;
    const address = family === 6 ? canonicalAddress(r.address) : (hostname ?? r.address);
    const endpoint = `${address}|${r.port}`;
    if (seenEndpoints.has(endpoint)) continue; // the same endpoint from the other tree
    const id = r.id.toLowerCase();
    if (seenIds.has(id)) {
      skip("duplicate-id", "another instance of this service has the same id");
      continue;
    }
    seenEndpoints.add(endpoint);
    seenIds.add(id);
    // TXT records are made on demand; what they must leave out is reported now, once.
    if (txtMayNotFit(r)) txtStrings(r, (detail) => skip("txt-too-long", detail));
    if (!r.draining) forEachPublishablePort(r, room, addPortName, skip);
    accepted.push({ r, id, address, family });
  }
  // In id order, so answers are stable.
  accepted.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  return new Service(name, serviceFqdn, ttl, room, [...portNames], (svc) =>
    accepted.map((e) => new Instance(e.id, svc, e.r, e.address, e.family)),
  );
}

/** One source of a service's instances: a service node in one of the two trees. */
export interface ServiceSource {
  readonly format: Format;
  /** The service node's name under its tree's base path (`web.shop`). */
  readonly service: string;
}

/**
 * Builds successive snapshots, recompiling only services whose sources changed.
 * Not thread-safe in spirit: one owner (the catalog) calls `setSource` and `build`.
 */
export class SnapshotBuilder {
  private readonly zone: ZoneConfig;
  private readonly onSkip: OnSkip;
  /** DNS name → source key (`<format>|<service>`) → registrations. */
  private readonly sources = new Map<string, Map<string, readonly Registration[]>>();
  /**
   * DNS name → its service compiled at `setSource` time (undefined: gone), so compile cost is
   * spread over the reads that feed it and `build()` only assembles.
   */
  private readonly pending = new Map<string, ServiceNode | undefined>();
  private readonly entRefs = new Map<string, number>();
  private previous: Snapshot | undefined;
  private serial: number;
  private readonly lineage = {};
  private generation = 0;
  private namesAddedIn = 0;

  constructor(options: SnapshotOptions, onSkip: OnSkip = () => {}) {
    this.zone = resolveZone(options);
    this.onSkip = onSkip;
    this.serial = (options.serial ?? Math.floor(Date.now() / 1000)) >>> 0;
  }

  /**
   * Replace the registrations one service node contributes (`undefined` or `[]`: it has none
   * any more). Service names that differ only in case share one DNS name and are merged.
   */
  setSource(source: ServiceSource, registrations: readonly Registration[] | undefined): void {
    const dnsName = source.service.toLowerCase();
    const key = `${source.format}|${source.service}`;
    let bySource = this.sources.get(dnsName);
    if (!registrations || registrations.length === 0) {
      if (!bySource?.delete(key)) return;
      if (bySource.size === 0) this.sources.delete(dnsName);
    } else {
      if (!bySource) {
        bySource = new Map();
        this.sources.set(dnsName, bySource);
      }
      bySource.set(key, registrations);
    }
    this.pending.set(dnsName, this.compile(dnsName));
  }

  /** Every source set now, so a full re-read can clear those that vanished meanwhile. */
  sourceKeys(): ServiceSource[] {
    const out: ServiceSource[] = [];
    for (const bySource of this.sources.values()) {
      for (const key of bySource.keys()) {
        const bar = key.indexOf("|");
        out.push({ format: key.slice(0, bar) as Format, service: key.slice(bar + 1) });
      }
    }
    return out;
  }

  /** True when `build()` would produce a new snapshot. */
  get hasChanges(): boolean {
    return this.pending.size > 0 || this.previous === undefined;
  }

  /** The current snapshot: the previous one unchanged if no source changed since. */
  build(): Snapshot {
    if (this.previous && this.pending.size === 0) return this.previous;
    const previous = this.previous?.services ?? ShardedMap.empty<ServiceNode>();
    let instanceCount = this.previous?.instanceCount ?? 0;
    let entChanged = false;
    let namesAdded = false;
    this.generation++;
    for (const [dnsName, after] of this.pending) {
      const before = previous.get(dnsName);
      if (before) {
        instanceCount -= before.instances.size;
        if (before !== after) (before as Service).superseded = true;
      }
      if (after) instanceCount += after.instances.size;
      if (before && !after) entChanged = this.adjustEnts(dnsName, -1) || entChanged;
      if (after && !before) {
        entChanged = this.adjustEnts(dnsName, +1) || entChanged;
        namesAdded = true;
      }
    }
    if (namesAdded) this.namesAddedIn = this.generation;
    const services = previous.with(this.pending);
    this.pending.clear();
    if (this.previous) this.serial = (this.serial + 1) >>> 0;
    const emptyNonTerminals =
      entChanged || !this.previous ? new Set(this.entRefs.keys()) : this.previous.emptyNonTerminals;
    this.previous = {
      zone: zoneData(this.zone, this.serial),
      serial: this.serial,
      services,
      emptyNonTerminals,
      instanceCount,
      lineage: this.lineage,
      generation: this.generation,
      namesAddedIn: this.namesAddedIn,
    };
    return this.previous;
  }

  private compile(dnsName: string): ServiceNode | undefined {
    const bySource = this.sources.get(dnsName);
    if (!bySource) return undefined;
    // Curator first: on a duplicate endpoint its registration (with metadata) wins.
    const keys = [...bySource.keys()].sort();
    const merged: Registration[] = [];
    for (const k of keys) merged.push(...(bySource.get(k) ?? []));
    const service = (keys[0] ?? dnsName).slice((keys[0] ?? "").indexOf("|") + 1);
    return compileService(service, merged, this.zone, this.onSkip);
  }

  /** Count `name`'s proper suffixes as empty non-terminals; true if the set changed. */
  private adjustEnts(name: string, delta: 1 | -1): boolean {
    let changed = false;
    let dot = name.indexOf(".");
    while (dot >= 0) {
      const suffix = name.slice(dot + 1);
      const n = (this.entRefs.get(suffix) ?? 0) + delta;
      if (n <= 0) {
        this.entRefs.delete(suffix);
        changed = true;
      } else {
        if (n === 1 && delta === 1) changed = true;
        this.entRefs.set(suffix, n);
      }
      dot = name.indexOf(".", dot + 1);
    }
    return changed;
  }
}

/** One-shot: a snapshot of registrations from the curator tree (tests, benchmarks, `ls`). */
export function buildSnapshot(
  registrations: readonly Registration[],
  options: SnapshotOptions,
  onSkip?: OnSkip,
): Snapshot {
  const builder = new SnapshotBuilder(options, onSkip);
  const byService = new Map<string, Registration[]>();
  for (const r of registrations) {
    const list = byService.get(r.service);
    if (list) list.push(r);
    else byService.set(r.service, [r]);
  }
  for (const [service, list] of byService) builder.setSource({ format: "curator", service }, list);
  return builder.build();
}

/** Every instance the snapshot serves, for `/registrations`. */
export function servedRegistrations(snapshot: Snapshot): Registration[] {
  const out: Registration[] = [];
  for (const svc of snapshot.services.values()) {
    for (const inst of svc.instances.values()) out.push(inst.registration);
  }
  return out;
}
