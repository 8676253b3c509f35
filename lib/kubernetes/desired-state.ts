/**
 * The desired state kept up to date change by change: the informers say which objects moved,
 * and only the Services they belong to are remapped. Each call to `current()` after a change
 * returns a new generation that knows which Services differ from the one before it, so the
 * syncer can replan just those (at 10,000 Services, one endpoint's change costs the same as
 * with ten).
 */
import type { DesiredRegistration } from "../registration.js";
import { ShardedMap } from "../sharded-map.js";
import {
  type DesiredOptions,
  type MappingWarning,
  serviceRegistrations,
  usesNodes,
} from "./desired.js";
import type { SlimEndpoints, SlimNode, SlimService } from "./objects.js";

/** The informers' caches, read when a change needs them. */
export interface CacheReader {
  services(): Iterable<SlimService>;
  /** By `namespace/name`. */
  service(key: string): SlimService | undefined;
  endpoints(): Iterable<SlimEndpoints>;
  /** By `namespace/name` of the EndpointSlice (or Endpoints). */
  endpointsObject(key: string): SlimEndpoints | undefined;
  nodes(): Iterable<SlimNode>;
}

/** One version of the desired state. Treat as immutable. */
export interface DesiredGeneration {
  /** Registrations per Service (`namespace/name`). */
  readonly groups: ShardedMap<Registrations>;
  /**
   * The generation this one was derived from and the Services that differ from it; both
   * undefined after a relist (everything may differ). Links older than a few generations are
   * cut, so old generations do not pile up in memory.
   */
  previous: DesiredGeneration | undefined;
  readonly changed: ReadonlySet<string> | undefined;
}

type Registrations = readonly DesiredRegistration[];

/** How far back `previous` links reach (the syncer asks for one or two at most). */
const KEPT_GENERATIONS = 16;

const serviceKey = (s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`;
const ownerKey = (e: SlimEndpoints) => `${e.namespace}/${e.service}`;

export class DesiredState {
  readonly #mapping: DesiredOptions;
  readonly #cache: CacheReader;
  /** Everything must be remapped (start, relist). */
  #all = true;
  readonly #dirty = new Set<string>();
  /** Service → its EndpointSlices by `namespace/name`. */
  #slices = new Map<string, Map<string, SlimEndpoints>>();
  /** Services that use node addresses: remapped when the Nodes change. */
  #nodeUsers = new Set<string>();
  #nodesByName: ReadonlyMap<string, SlimNode> | undefined;
  #warnings = new Map<string, readonly MappingWarning[]>();
  #current: DesiredGeneration | undefined;
  /** The latest generations, newest last; the oldest's link back is cut. */
  #recent: DesiredGeneration[] = [];

  constructor(mapping: DesiredOptions, cache: CacheReader) {
    this.#mapping = mapping;
    this.#cache = cache;
  }

  servicesChanged(changed: readonly SlimService[] | "relisted"): void {
    if (changed === "relisted") this.#all = true;
    else for (const s of changed) this.#dirty.add(serviceKey(s));
  }

  endpointsChanged(changed: readonly SlimEndpoints[] | "relisted"): void {
    if (changed === "relisted") {
      this.#all = true;
      return;
    }
    // Old and new versions may name different Services: drop both, re-add what is cached now.
    for (const e of changed) {
      this.#slices.get(ownerKey(e))?.delete(serviceKey(e));
      this.#dirty.add(ownerKey(e));
    }
    for (const e of changed) {
      const now = this.#cache.endpointsObject(serviceKey(e));
      if (now) this.#index(now);
    }
  }

  nodesChanged(): void {
    this.#nodesByName = undefined;
    for (const key of this.#nodeUsers) this.#dirty.add(key);
  }

  /** Warnings of every Service now (for logging once each). */
  warnings(): ReadonlyMap<string, readonly MappingWarning[]> {
    return this.#warnings;
  }

  /** The desired state now: the same generation until something changes. */
  current(): DesiredGeneration {
    if (this.#current && !this.#all && this.#dirty.size === 0) return this.#current;
    let next: DesiredGeneration;
    if (this.#all || !this.#current) {
      this.#all = false;
      this.#dirty.clear();
      this.#slices = new Map();
      for (const e of this.#cache.endpoints()) this.#index(e);
      this.#nodeUsers = new Set();
      this.#warnings = new Map();
      const groups = new Map<string, readonly DesiredRegistration[] | undefined>();
      for (const svc of this.#cache.services()) this.#map(serviceKey(svc), svc, groups);
      next = {
        groups: ShardedMap.empty<Registrations>().with(groups),
        previous: undefined,
        changed: undefined,
      };
    } else {
      const updates = new Map<string, readonly DesiredRegistration[] | undefined>();
      const changed = new Set(this.#dirty);
      this.#dirty.clear();
      for (const key of changed) this.#map(key, this.#cache.service(key), updates);
      next = { groups: this.#current.groups.with(updates), previous: this.#current, changed };
    }
    this.#current = next;
    this.#recent.push(next);
    if (this.#recent.length > KEPT_GENERATIONS) {
      this.#recent.shift();
      (this.#recent[0] as DesiredGeneration).previous = undefined;
    }
    return next;
  }

  #map(
    key: string,
    svc: SlimService | undefined,
    groups: Map<string, Registrations | undefined>,
  ): void {
    this.#nodeUsers.delete(key);
    if (!svc) {
      groups.set(key, undefined);
      this.#warnings.delete(key);
      return;
    }
    if (usesNodes(svc)) this.#nodeUsers.add(key);
    const slices = [...(this.#slices.get(key)?.values() ?? [])];
    const result = serviceRegistrations(svc, slices, this.#nodeMap(), this.#mapping);
    groups.set(key, result.registrations);
    if (result.warnings.length > 0) this.#warnings.set(key, result.warnings);
    else this.#warnings.delete(key);
  }

  #index(e: SlimEndpoints): void {
    const owner = ownerKey(e);
    const slices = this.#slices.get(owner) ?? new Map<string, SlimEndpoints>();
    this.#slices.set(owner, slices);
    slices.set(serviceKey(e), e);
  }

  #nodeMap(): ReadonlyMap<string, SlimNode> {
    if (!this.#nodesByName) {
      const byName = new Map<string, SlimNode>();
      for (const n of this.#cache.nodes()) byName.set(n.name, n);
      this.#nodesByName = byName;
    }
    return this.#nodesByName;
  }
}
