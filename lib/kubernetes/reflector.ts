/**
 * One list+watch loop for one collection (client-go's Reflector), keeping slim objects only.
 *
 * - List (paginated) into a fresh map, swapped in whole when the last page arrives: readers see
 *   the old complete state or the new complete state, never a partial one.
 * - Watch from the list's resourceVersion with bookmarks and a server-side timeout shorter than
 *   the watchdog, so a healthy idle watch is ended by the server, not by the watchdog.
 * - Clean end of a watch → resume from the last resourceVersion (no relist).
 * - 410 Expired → relist at once; the cache stays complete meanwhile, so `synced` stays true.
 * - Any other failure (HTTP error, reset, silence beyond the watchdog, garbage) → a restart:
 *   `synced` turns false, backoff with jitter, then a full relist. client-node 1.4's informer
 *   would instead stop for good.
 */
import { Backoff, type BackoffOptions, sleep } from "../backoff.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { isExpired, type KubeApi, KubeApiError, statusError, type WatchEvent } from "./api.js";
import { MalformedObjectError, objectKey } from "./objects.js";

export interface ReflectorOptions<S> {
  readonly api: KubeApi;
  /** Collection name for logs and metrics, e.g. `endpointslices`. */
  readonly resource: string;
  /** Namespace watched, "" for all (logs only; `path` decides). */
  readonly namespace: string;
  /** Collection path, e.g. `/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices`. */
  readonly path: string;
  readonly namespaced: boolean;
  readonly labelSelector?: string;
  /** Raw API object → slim object; throws MalformedObjectError for objects to skip. */
  readonly slim: (raw: unknown) => S;
  /**
   * Called synchronously after the cache or `synced` changed, with the objects that changed
   * (old and new versions; none when only `synced` moved), or "relisted" after a list
   * replaced the whole cache.
   */
  readonly onChange: (changed: readonly S[] | "relisted") => void;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** A request silent this long is failed and the loop restarts. */
  readonly watchdogMs: number;
  readonly backoff?: BackoffOptions;
  /** Backoff starts over once this long has passed without a failure. Default 2 min. */
  readonly backoffResetMs?: number;
  /** List page size. Default 500. */
  readonly pageSize?: number;
}

interface Entry<S> {
  readonly slim: S;
  /**
   * For telling a real change from a write to fields we do not keep: made when first compared
   * (most listed objects never are: at 10,000 slices that is ~10 MB less peak RSS).
   */
  print?: string;
}

function printOf<S>(entry: Entry<S>): string {
  entry.print ??= JSON.stringify(entry.slim);
  return entry.print;
}

export class Reflector<S> {
  readonly #o: ReflectorOptions<S>;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  #items = new Map<string, Entry<S>>();
  #resourceVersion = "";
  #synced = false;
  #restarts = 0;
  #lists = 0;
  #loop: Promise<void> | undefined;
  /** Keys already reported as malformed, so each is logged once. */
  readonly #malformed = new Set<string>();

  constructor(options: ReflectorOptions<S>) {
    this.#o = options;
    this.#log = options.logger.child({
      resource: options.resource,
      namespace: options.namespace || "(all)",
    });
  }

  /** Starts the loop in the background; never throws, never rejects. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Aborts the open request and any wait, and resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.#abort.abort(new Error("reflector stopped"));
    await this.#loop;
  }

  /** True once a full list has been applied, until the next restart (410 relists keep it true). */
  get synced(): boolean {
    return this.#synced;
  }

  get resource(): string {
    return this.#o.resource;
  }

  /** "" for cluster-wide. */
  get namespace(): string {
    return this.#o.namespace;
  }

  get restarts(): number {
    return this.#restarts;
  }

  /** Full lists applied so far. */
  get lists(): number {
    return this.#lists;
  }

  get size(): number {
    return this.#items.size;
  }

  /** The slim objects now in the cache. */
  /** The cached object with this key (`namespace/name`, or `name` if not namespaced). */
  get(key: string): S | undefined {
    return this.#items.get(key)?.slim;
  }

  *items(): IterableIterator<S> {
    for (const e of this.#items.values()) yield e.slim;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    const backoff = new Backoff(this.#o.backoff);
    const resetMs = this.#o.backoffResetMs ?? 120_000;
    let lastFailure = 0;
    let needList = true;
    let expiredInARow = 0;
    while (!signal.aborted) {
      let events = 0;
      const started = Date.now();
      try {
        if (needList) {
          await this.#list(signal);
          needList = false;
        }
        await this.#o.api.watch(
          this.#o.path,
          {
            resourceVersion: this.#resourceVersion,
            allowWatchBookmarks: true,
            labelSelector: this.#o.labelSelector,
            // Shorter than the watchdog: a healthy watch is ended by the server even without bookmarks.
            timeoutSeconds: Math.max(
              1,
              Math.floor((this.#o.watchdogMs / 1000) * (0.5 + 0.4 * Math.random())),
            ),
          },
          {
            signal,
            idleTimeoutMs: this.#o.watchdogMs,
            onEvent: (ev) => {
              events++;
              if (ev.type !== "ERROR") expiredInARow = 0;
              this.#apply(ev);
            },
          },
        );
        expiredInARow = 0;
        // A server that ends every watch at once would otherwise be hammered.
        if (events === 0 && Date.now() - started < 1000) await sleep(backoff.next(), signal);
      } catch (err) {
        if (signal.aborted) break;
        if (isExpired(err) && expiredInARow === 0) {
          expiredInARow++;
          needList = true;
          this.#log.info({ err: message(err) }, "resourceVersion expired; relisting");
          continue;
        }
        expiredInARow = 0;
        needList = true;
        this.#restarts++;
        const reason = err instanceof KubeApiError && err.reason === "Silent" ? "silent" : "error";
        this.#o.metrics?.kubernetesRestarts.inc({ resource: this.#o.resource, reason });
        if (Date.now() - lastFailure > resetMs) backoff.reset();
        lastFailure = Date.now();
        const delay = backoff.next();
        this.#log.warn(
          { err: message(err), code: codeOf(err), reason, retryInMs: delay },
          "list/watch failed; restarting",
        );
        if (this.#synced) {
          this.#synced = false;
          this.#o.onChange([]);
        }
        await sleep(delay, signal);
      }
    }
  }

  async #list(signal: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      // The very first list fills the empty cache page by page, each page announced as
      // changed objects: with `synced` still false that only ever adds, and a cold start's
      // first writes need not wait for the last page. Any later list builds a fresh map and
      // swaps it in whole, so the cache stays complete meanwhile.
      const growing = this.#lists === 0 && this.#items.size === 0;
      const fresh = growing ? this.#items : new Map<string, Entry<S>>();
      try {
        let token: string | undefined;
        let resourceVersion = "";
        let added: S[] = [];
        do {
          const page = await this.#o.api.getJson(
            this.#o.path,
            {
              limit: this.#o.pageSize ?? 500,
              continue: token,
              labelSelector: this.#o.labelSelector,
            },
            { signal, idleTimeoutMs: this.#o.watchdogMs },
          );
          const { items, metadata } = listShape(page);
          added = [];
          for (const raw of items) {
            const entry = this.#entry(raw);
            if (!entry) continue;
            fresh.set(entry.key, entry.entry);
            added.push(entry.entry.slim);
          }
          token = metadata.continue || undefined;
          resourceVersion = metadata.resourceVersion;
          if (growing && added.length > 0 && token) this.#o.onChange(added);
        } while (token);
        this.#items = fresh;
        this.#resourceVersion = resourceVersion;
        this.#synced = true;
        this.#lists++;
        this.#log.debug({ items: fresh.size, resourceVersion }, "listed");
        this.#o.onChange(growing ? added : "relisted");
        return;
      } catch (err) {
        // A first list cut short leaves a partial cache (`synced` false): the next swaps.
        // An expired continue token: start the list over, a few times.
        if (!isExpired(err) || attempt >= 3 || signal.aborted) throw err;
      }
    }
  }

  #apply(ev: WatchEvent): void {
    if (ev.type === "ERROR") throw statusError(ev.object);
    const rv = resourceVersionOf(ev.object);
    if (ev.type !== "BOOKMARK") {
      let key: string;
      try {
        key = this.#key(ev.object);
      } catch (err) {
        this.#reportMalformed("(no name)", err);
        if (rv) this.#resourceVersion = rv;
        return;
      }
      const before = this.#items.get(key);
      if (ev.type === "DELETED") {
        if (before) {
          this.#items.delete(key);
          this.#o.onChange([before.slim]);
        }
      } else {
        const after = this.#entry(ev.object);
        if (!after) {
          // Malformed now: forget what we had rather than keep a stale version.
          if (before && this.#items.delete(key)) this.#o.onChange([before.slim]);
        } else if (!before || printOf(before) !== printOf(after.entry)) {
          this.#items.set(key, after.entry);
          this.#o.onChange(before ? [before.slim, after.entry.slim] : [after.entry.slim]);
        }
      }
    }
    if (rv) this.#resourceVersion = rv;
  }

  #key(raw: unknown): string {
    const { namespace, name } = objectKey(raw, this.#o.namespaced);
    return namespace ? `${namespace}/${name}` : name;
  }

  #entry(raw: unknown): { key: string; entry: Entry<S> } | undefined {
    let key = "(no name)";
    try {
      key = this.#key(raw);
      const slim = this.#o.slim(raw);
      this.#malformed.delete(key);
      return { key, entry: { slim } };
    } catch (err) {
      if (!(err instanceof MalformedObjectError) && !(err instanceof TypeError)) throw err;
      this.#reportMalformed(key, err);
      return undefined;
    }
  }

  #reportMalformed(key: string, err: unknown): void {
    if (this.#malformed.has(key)) return;
    if (this.#malformed.size < 1000) this.#malformed.add(key);
    this.#log.warn({ object: key, err: message(err) }, "skipping malformed object");
  }
}

function listShape(page: unknown): {
  items: unknown[];
  metadata: { resourceVersion: string; continue?: string };
} {
  const p = typeof page === "object" && page !== null ? (page as Record<string, unknown>) : {};
  const meta =
    typeof p.metadata === "object" && p.metadata !== null
      ? (p.metadata as Record<string, unknown>)
      : {};
  const items = p.items === null || p.items === undefined ? [] : p.items;
  if (!Array.isArray(items) || typeof meta.resourceVersion !== "string" || !meta.resourceVersion) {
    throw new KubeApiError(
      "list response without items or metadata.resourceVersion",
      0,
      "BadResponse",
    );
  }
  return {
    items,
    metadata: {
      resourceVersion: meta.resourceVersion,
      ...(typeof meta.continue === "string" ? { continue: meta.continue } : {}),
    },
  };
}

function resourceVersionOf(obj: unknown): string | undefined {
  const meta = (obj as { metadata?: { resourceVersion?: unknown } } | null)?.metadata;
  return typeof meta?.resourceVersion === "string" && meta.resourceVersion
    ? meta.resourceVersion
    : undefined;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function codeOf(err: unknown): number | undefined {
  return err instanceof KubeApiError ? err.code : undefined;
}
