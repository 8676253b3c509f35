/**
 * The Kubernetes source (external-dns `source.Source` shape): informers for Services and
 * EndpointSlices (or core/v1 Endpoints), and Nodes once a Service asks for node addresses,
 * feeding the pure mapping through DesiredState, which remaps only the Services whose objects
 * changed. It hands out the whole desired state (per Service, with which Services changed).
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { BackoffOptions } from "../backoff.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { type DesiredRegistration, type Format, registrationKey } from "../registration.js";
import { KubeApi } from "./api.js";
import { type DesiredOptions, templateProblem, usesNodes } from "./desired.js";
import { type DesiredGeneration, DesiredState } from "./desired-state.js";
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

type AnyReflector = Reflector<SlimService> | Reflector<SlimEndpoints> | Reflector<SlimNode>;

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
  readonly #desired: DesiredState;
  /** Whether warnings were logged for every Service since the caches last synced. */
  #warningsLogged = false;
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
    this.#desired = new DesiredState(this.#mapping, {
      services: () => this.#items(this.#services),
      service: (key) => this.#lookup(this.#services, key),
      endpoints: () => this.#items(this.#endpoints),
      endpointsObject: (key) => this.#lookup(this.#endpoints, key),
      nodes: () => this.#nodes?.items() ?? [],
    });
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
    const endpointsChanged = (changed: readonly SlimEndpoints[] | "relisted") => {
      this.#desired.endpointsChanged(changed);
      this.#changed();
    };
    // Deduplicated: two informers on one namespace would list every Service twice.
    for (const ns of this.#o.namespaces === "all" ? [""] : new Set(this.#o.namespaces)) {
      const within = ns ? `/namespaces/${encodeURIComponent(ns)}` : "";
      this.#services.push(
        this.#reflector("services", ns, `/api/v1${within}/services`, slimService, (changed) =>
          this.#servicesChanged(changed),
        ),
      );
      this.#endpoints.push(
        slices
          ? this.#reflector(
              "endpointslices",
              ns,
              `/apis/discovery.k8s.io/v1${within}/endpointslices`,
              slimEndpointSlice,
              endpointsChanged,
              "kubernetes.io/service-name",
            )
          : this.#reflector(
              "endpoints",
              ns,
              `/api/v1${within}/endpoints`,
              slimEndpoints,
              endpointsChanged,
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
    for (const regs of this.desiredGeneration().groups.values()) all.push(...regs);
    const keyed = all.map((r) => [registrationKey(r), r] as const);
    keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return keyed.map(([, r]) => r);
  }

  /**
   * The desired state now, per Service, as a generation that knows which Services changed
   * since the one before it. The same object until something changes.
   */
  desiredGeneration(): DesiredGeneration {
    const generation = this.#desired.current();
    // Warnings from half-filled caches (e.g. nodes not listed yet) would mislead.
    if (!this.synced()) this.#warningsLogged = false;
    else if (!this.#warningsLogged || generation.changed === undefined) {
      this.#warningsLogged = true;
      this.#logWarnings(undefined);
    } else this.#logWarnings(generation.changed);
    return generation;
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
    onChange: (changed: readonly S[] | "relisted") => void,
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

  #all(): AnyReflector[] {
    const all: AnyReflector[] = [...this.#services, ...this.#endpoints];
    if (this.#nodes) all.push(this.#nodes);
    return all;
  }

  *#items<S>(reflectors: Reflector<S>[]): IterableIterator<S> {
    for (const r of reflectors) yield* r.items();
  }

  #servicesChanged(changed: readonly SlimService[] | "relisted"): void {
    this.#desired.servicesChanged(changed);
    // Nodes are watched only once some Service wants node addresses (least privilege, less churn).
    if (!this.#nodes && this.#state === "running") {
      for (const s of this.#items(this.#services)) {
        if (usesNodes(s)) {
          this.#log.info(
            { service: `${s.namespace}/${s.name}` },
            "a Service uses node addresses; watching Nodes",
          );
          this.#nodes = this.#reflector("nodes", "", "/api/v1/nodes", slimNode, () => {
            this.#desired.nodesChanged();
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

  /** Logs each Service's warnings once while they hold: of `keys`, or of every Service. */
  #logWarnings(keys: ReadonlySet<string> | undefined): void {
    const all = this.#desired.warnings();
    if (keys === undefined) {
      for (const key of this.#warned.keys()) if (!all.has(key)) this.#warned.delete(key);
    }
    for (const key of keys ?? all.keys()) {
      const now = new Set((all.get(key) ?? []).map((w) => w.message));
      const before = this.#warned.get(key);
      for (const message of now)
        if (!before?.has(message)) this.#log.warn({ service: key }, message);
      if (now.size > 0) this.#warned.set(key, now);
      else this.#warned.delete(key);
    }
  }

  /** The object with `key` in whichever of the reflectors holds it. */
  #lookup<S>(reflectors: Reflector<S>[], key: string): S | undefined {
    for (const r of reflectors) {
      const found = r.get(key);
      if (found) return found;
    }
    return undefined;
  }
}
