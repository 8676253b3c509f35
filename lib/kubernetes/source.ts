/**
 * The Kubernetes source (external-dns `source.Source` shape): informers for Services and
 * EndpointSlices (or core/v1 Endpoints), and Nodes once a Service asks for node addresses,
 * feeding the pure mapping. It hands out the whole desired state, never deltas.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { BackoffOptions } from "../backoff.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { type DesiredRegistration, type Format, registrationKey } from "../registration.js";
import { KubeApi } from "./api.js";
import {
  type DesiredOptions,
  type DesiredResult,
  type MappingWarning,
  serviceRegistrations,
  templateProblem,
  usesNodes,
} from "./desired.js";
import {
  endpointCount,
  type SlimEndpoints,
  type SlimNode,
  type SlimService,
  slimEndpointSlice,
  slimEndpoints,
  slimNode,
  slimService,
} from "./objects.js";
import { Reflector } from "./reflector.js";

/** One Service's last mapping and the inputs it came from (compared by identity). */
interface ServiceMemo {
  readonly svc: SlimService;
  readonly endpoints: readonly SlimEndpoints[];
  /** The Nodes version used, or -1 when the Service does not use node addresses. */
  readonly nodesVersion: number;
  readonly result: DesiredResult;
}

const NO_NODES: ReadonlyMap<string, SlimNode> = new Map();

export type EndpointsApi = "endpointslices" | "endpoints";

export interface KubernetesSourceOptions {
  readonly kubeConfig: KubeConfig;
  /** "all" watches cluster-wide (one informer per resource); a list, one informer per namespace. */
  readonly namespaces: readonly string[] | "all";
  /** Default `endpointslices` (discovery.k8s.io/v1); `endpoints` is the legacy core/v1 API. */
  readonly endpointsApi?: EndpointsApi;
  readonly clusterName: string;
  /** `{service}`, `{namespace}`, `{cluster}`; default `{service}.{namespace}`. */
  readonly serviceNameTemplate?: string;
  readonly defaultFormats: readonly Format[];
  readonly basePath: string;
  readonly serversetBasePath: string;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** A list or watch silent this long is restarted. Default 5 min (bookmarks keep healthy watches talking). */
  readonly watchdogMs?: number;
  /** Restart delays after failures. Default 500 ms doubling to 30 s, ±20%. */
  readonly backoff?: BackoffOptions;
  /** List page size. Default 500. */
  readonly pageSize?: number;
  /** onChange callbacks run at most once per this window. Default 5 ms: long enough to take a
   * watch chunk's events as one change, short next to the propagation budget. */
  readonly coalesceMs?: number;
}

export interface InformerProgress {
  readonly resource: string;
  /** "" for cluster-wide. */
  readonly namespace: string;
  readonly synced: boolean;
  readonly items: number;
  readonly restarts: number;
}

export interface SourceProgress {
  /** Services in the caches. */
  readonly services: number;
  /** Endpoints (addresses) in the caches, ready or not. */
  readonly endpoints: number;
  readonly nodes: number;
  /** Same as `synced()`. */
  readonly synced: boolean;
  /** Every informer has completed a list at least once since start (stays true across restarts). */
  readonly initialSyncDone: boolean;
  readonly informers: readonly InformerProgress[];
}

export class KubernetesSource {
  readonly #o: KubernetesSourceOptions;
  readonly #mapping: DesiredOptions;
  readonly #log: Logger;
  readonly #api: KubeApi;
  readonly #services: Reflector<SlimService>[] = [];
  readonly #endpoints: Reflector<SlimEndpoints>[] = [];
  #nodes: Reflector<SlimNode> | undefined;
  readonly #callbacks = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  #state: "new" | "running" | "stopped" = "new";
  #initialSyncDone = false;
  /** Bumped on every cache change; `desiredByService()` recomputes only when it moved. */
  #version = 0;
  /** Bumped when the Nodes change: remaps only Services that use node addresses. */
  #nodesVersion = 0;
  #groups:
    | { version: number; value: ReadonlyMap<string, readonly DesiredRegistration[]> }
    | undefined;
  #serviceMemo = new Map<string, ServiceMemo>();
  #nodesByName: { version: number; value: ReadonlyMap<string, SlimNode> } | undefined;
  /** Warnings already logged, per Service, so each is logged once while it holds. */
  #warned = new Map<string, Set<string>>();

  constructor(options: KubernetesSourceOptions) {
    const template = options.serviceNameTemplate ?? "{service}.{namespace}";
    const problem = templateProblem(template);
    if (problem) throw new Error(`service name template ${JSON.stringify(template)}: ${problem}`);
    if (options.namespaces !== "all" && options.namespaces.length === 0) {
      throw new Error('namespaces: give "all" or at least one namespace');
    }
    if (options.defaultFormats.length === 0)
      throw new Error("defaultFormats: need at least one format");
    this.#o = options;
    this.#mapping = {
      clusterName: options.clusterName,
      serviceNameTemplate: template,
      defaultFormats: options.defaultFormats,
      basePath: options.basePath,
      serversetBasePath: options.serversetBasePath,
    };
    this.#log = options.logger.child({ component: "kubernetes" });
    this.#api = new KubeApi(options.kubeConfig);
  }

  /**
   * Starts the informers and returns without waiting for any list (watch `synced()` and
   * `onChange`). Rejects only for a KubeConfig that cannot work (no cluster, bad TLS or auth
   * settings); API errors after that are retried forever with backoff. Call once.
   */
  async start(): Promise<void> {
    if (this.#state !== "new") throw new Error("KubernetesSource.start: already started");
    const server = this.#api.server();
    try {
      await this.#o.kubeConfig.applyToHTTPSOptions({});
    } catch (err) {
      throw new Error(
        `kubeconfig for ${server}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (this.#state !== "new") return;
    this.#state = "running";
    const slices = (this.#o.endpointsApi ?? "endpointslices") === "endpointslices";
    // Deduplicated: two informers on one namespace would list every Service twice.
    for (const ns of this.#o.namespaces === "all" ? [""] : new Set(this.#o.namespaces)) {
      const within = ns ? `/namespaces/${encodeURIComponent(ns)}` : "";
      this.#services.push(
        this.#reflector("services", ns, `/api/v1${within}/services`, slimService, () =>
          this.#servicesChanged(),
        ),
      );
      this.#endpoints.push(
        slices
          ? this.#reflector(
              "endpointslices",
              ns,
              `/apis/discovery.k8s.io/v1${within}/endpointslices`,
              slimEndpointSlice,
              () => this.#changed(),
              "kubernetes.io/service-name",
            )
          : this.#reflector("endpoints", ns, `/api/v1${within}/endpoints`, slimEndpoints, () =>
              this.#changed(),
            ),
      );
    }
    for (const r of this.#all()) r.start();
    this.#log.info(
      {
        server,
        namespaces: this.#o.namespaces,
        endpointsApi: slices ? "endpointslices" : "endpoints",
      },
      "watching Kubernetes",
    );
  }

  /**
   * True when every informer has completed a full list since start and since its last restart.
   * Until then `desired()` may lack registrations that exist: do not delete anything.
   */
  synced(): boolean {
    return this.#state === "running" && this.#all().every((r) => r.synced);
  }

  /**
   * The whole desired state from the caches now, sorted by registration key: a fresh array
   * (of shared, readonly registrations) each call.
   */
  desired(): DesiredRegistration[] {
    const all: DesiredRegistration[] = [];
    for (const regs of this.desiredByService().values()) all.push(...regs);
    const keyed = all.map((r) => [registrationKey(r), r] as const);
    keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return keyed.map(([, r]) => r);
  }

  /**
   * The desired state grouped by Service (`namespace/name`). Each Service is remapped only when
   * its Service object, its EndpointSlices or (for node addresses) the Nodes changed; an
   * unchanged Service keeps the very same array, so consumers can diff by identity.
   */
  desiredByService(): ReadonlyMap<string, readonly DesiredRegistration[]> {
    if (this.#groups?.version === this.#version) return this.#groups.value;
    const version = this.#version;
    const endpointsByService = new Map<string, SlimEndpoints[]>();
    for (const e of this.#items(this.#endpoints)) {
      const key = `${e.namespace}/${e.service}`;
      const group = endpointsByService.get(key);
      if (group) group.push(e);
      else endpointsByService.set(key, [e]);
    }
    const groups = new Map<string, readonly DesiredRegistration[]>();
    const memo = new Map<string, ServiceMemo>();
    const warnings: MappingWarning[] = [];
    for (const svc of this.#items(this.#services)) {
      const key = `${svc.namespace}/${svc.name}`;
      const endpoints = endpointsByService.get(key) ?? [];
      const nodesVersion = usesNodes(svc) ? this.#nodesVersion : -1;
      let m = this.#serviceMemo.get(key);
      if (
        !m ||
        m.svc !== svc ||
        m.nodesVersion !== nodesVersion ||
        m.endpoints.length !== endpoints.length ||
        m.endpoints.some((e, i) => e !== endpoints[i])
      ) {
        const result = serviceRegistrations(svc, endpoints, this.#nodeMap(), this.#mapping);
        m = { svc, endpoints, nodesVersion, result };
      }
      memo.set(key, m);
      groups.set(key, m.result.registrations);
      warnings.push(...m.result.warnings);
    }
    this.#serviceMemo = memo;
    // Warnings from half-filled caches (e.g. nodes not listed yet) would mislead.
    if (this.synced()) this.#logWarnings(warnings);
    this.#groups = { version, value: groups };
    return groups;
  }

  /** Nodes by name, rebuilt only after the Nodes changed. */
  #nodeMap(): ReadonlyMap<string, SlimNode> {
    if (this.#nodes === undefined) return NO_NODES;
    if (this.#nodesByName?.version !== this.#nodesVersion) {
      const byName = new Map<string, SlimNode>();
      for (const n of this.#nodes.items()) byName.set(n.name, n);
      this.#nodesByName = { version: this.#nodesVersion, value: byName };
    }
    return this.#nodesByName.value;
  }

  /**
   * Registers `cb`, called (coalesced, asynchronously, never during start or after stop) when
   * `desired()` or `synced()` may have changed, including after every relist. Returns an
   * unsubscribe function. A throwing callback is logged and does not affect the others.
   */
  onChange(cb: () => void): () => void {
    this.#callbacks.add(cb);
    return () => this.#callbacks.delete(cb);
  }

  progress(): SourceProgress {
    let endpoints = 0;
    for (const e of this.#items(this.#endpoints)) endpoints += endpointCount(e);
    return {
      services: this.#services.reduce((n, r) => n + r.size, 0),
      endpoints,
      nodes: this.#nodes?.size ?? 0,
      synced: this.synced(),
      initialSyncDone: this.#initialSyncDone,
      informers: this.#all().map((r) => ({
        resource: r.resource,
        namespace: r.namespace,
        synced: r.synced,
        items: r.size,
        restarts: r.restarts,
      })),
    };
  }

  /** Aborts every list and watch and resolves when all have ended; no timers or sockets remain. */
  async stop(): Promise<void> {
    if (this.#state === "stopped") return;
    this.#state = "stopped";
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await Promise.all(this.#all().map((r) => r.stop()));
  }

  #reflector<S>(
    resource: string,
    namespace: string,
    path: string,
    slim: (raw: unknown) => S,
    onChange: () => void,
    labelSelector?: string,
  ): Reflector<S> {
    return new Reflector<S>({
      api: this.#api,
      resource,
      namespace,
      path,
      namespaced: resource !== "nodes",
      ...(labelSelector ? { labelSelector } : {}),
      slim,
      onChange,
      logger: this.#log,
      ...(this.#o.metrics ? { metrics: this.#o.metrics } : {}),
      watchdogMs: this.#o.watchdogMs ?? 300_000,
      ...(this.#o.backoff ? { backoff: this.#o.backoff } : {}),
      ...(this.#o.pageSize ? { pageSize: this.#o.pageSize } : {}),
    });
  }

  #all(): Reflector<unknown>[] {
    const all: Reflector<unknown>[] = [...this.#services, ...this.#endpoints];
    if (this.#nodes) all.push(this.#nodes);
    return all;
  }

  *#items<S>(reflectors: Reflector<S>[]): IterableIterator<S> {
    for (const r of reflectors) yield* r.items();
  }

  #servicesChanged(): void {
    // Nodes are watched only once some Service wants node addresses (least privilege, less churn).
    if (!this.#nodes && this.#state === "running") {
      for (const s of this.#items(this.#services)) {
        if (usesNodes(s)) {
          this.#log.info(
            { service: `${s.namespace}/${s.name}` },
            "a Service uses node addresses; watching Nodes",
          );
          this.#nodes = this.#reflector("nodes", "", "/api/v1/nodes", slimNode, () => {
            this.#nodesVersion++;
            this.#changed();
          });
          this.#nodes.start();
          break;
        }
      }
    }
    this.#changed();
  }

  #changed(): void {
    this.#version++;
    if (this.#state !== "running") return;
    if (!this.#initialSyncDone && this.synced()) {
      this.#initialSyncDone = true;
      const p = this.progress();
      this.#log.info({ services: p.services, endpoints: p.endpoints }, "Kubernetes caches synced");
    }
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#state !== "running") return;
      for (const cb of [...this.#callbacks]) {
        try {
          cb();
        } catch (err) {
          this.#log.error({ err }, "onChange callback failed");
        }
      }
    }, this.#o.coalesceMs ?? 5);
  }

  #logWarnings(warnings: readonly { namespace: string; service: string; message: string }[]): void {
    const now = new Map<string, Set<string>>();
    for (const w of warnings) {
      const key = `${w.namespace}/${w.service}`;
      const set = now.get(key) ?? new Set<string>();
      now.set(key, set);
      set.add(w.message);
      if (!this.#warned.get(key)?.has(w.message)) this.#log.warn({ service: key }, w.message);
    }
    this.#warned = now;
  }
}
