/**
 * A fake Kubernetes API server on 127.0.0.1 that speaks the real wire protocol (plain HTTP,
 * JSON), so tests and benchmarks drive the real `@kubernetes/client-node` and our source
 * against it. The cluster's state is changed in-process (`apply`, `remove`), and faults are
 * injected in-process (`failNext`, `dropWatches`, `silence`, `expireHistory`,
 * `holdListPages`).
 *
 * Real kube-apiserver (etcd-backed, watch cache) semantics it mirrors:
 * - One global resourceVersion, like etcd's revision: every write bumps it; an object's
 *   `metadata.resourceVersion` is the revision of its last write; a list's is the revision it
 *   was read at. DELETED events carry the object's last state with the deletion's revision.
 * - Collections: core/v1 `services`, `endpoints` (namespaced), `nodes` (cluster-scoped) under
 *   `/api/v1[/namespaces/{ns}]/{resource}`, discovery.k8s.io/v1 `endpointslices` under
 *   `/apis/discovery.k8s.io/v1[/namespaces/{ns}]/endpointslices`; `GET .../{name}` for one object.
 * - list: `{kind:"<Kind>List", apiVersion, metadata:{resourceVersion, continue?,
 *   remainingItemCount?}, items}`, items in etcd key order (namespace, then name) and without
 *   kind/apiVersion, as the apiserver serves typed lists. `limit` + `continue`: every page is cut
 *   from the snapshot taken for the first page (a consistent list); a continue token whose
 *   snapshot was compacted answers 410 reason "Expired", like an expired etcd revision.
 * - watch (`watch=true|1`): 200, then a chunked stream of newline-delimited JSON
 *   `{"type":…,"object":…}` (objects with kind and apiVersion).
 *   `resourceVersion` unset or "0": a synthetic ADDED for every current object, then live events.
 *   `resourceVersion` N: every event after N from the bounded history, then live events; if N
 *   is older than the compacted revision: one ERROR event whose object is a Status, code 410,
 *   reason "Expired", message "too old resource version: N (M)", then the stream ends.
 *   `allowWatchBookmarks=true`: BOOKMARK events `{kind, apiVersion, metadata:{resourceVersion}}`.
 *   `timeoutSeconds`: the server ends the stream cleanly after that long.
 * - Label selectors (`k=v`, `k==v`, `k!=v`, `k`, `!k`) and field selectors (`metadata.name`,
 *   `metadata.namespace`) filter lists and watches; on a watch an object that stops matching is
 *   sent as DELETED (previous content, new revision) and one that starts matching as ADDED,
 *   as the watch cache does.
 * - Errors are `Status` objects: `{kind:"Status",apiVersion:"v1",metadata:{},status:"Failure",
 *   message,reason,code}` with the same HTTP status.
 *
 * Not mirrored: authentication and authorisation, writes over HTTP, set-based selectors
 * (`in`/`notin` answer 400), `resourceVersionMatch` (lists are always served at the current
 * revision, which satisfies unset, "0" and NotOlderThan for any revision this server handed
 * out), waiting for a future resourceVersion, protobuf, `sendInitialEvents`.
 */
import { randomUUID } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";

export type FakeResource = "services" | "endpoints" | "nodes" | "endpointslices";
export type FakeKind = "Service" | "Endpoints" | "Node" | "EndpointSlice";

interface ResourceInfo {
  readonly kind: FakeKind;
  readonly apiVersion: string;
  readonly prefix: string;
  readonly namespaced: boolean;
}

const RESOURCES: Readonly<Record<FakeResource, ResourceInfo>> = {
  services: { kind: "Service", apiVersion: "v1", prefix: "/api/v1", namespaced: true },
  endpoints: { kind: "Endpoints", apiVersion: "v1", prefix: "/api/v1", namespaced: true },
  nodes: { kind: "Node", apiVersion: "v1", prefix: "/api/v1", namespaced: false },
  endpointslices: {
    kind: "EndpointSlice",
    apiVersion: "discovery.k8s.io/v1",
    prefix: "/apis/discovery.k8s.io/v1",
    namespaced: true,
  },
};

const RESOURCE_OF_KIND: Readonly<Record<FakeKind, FakeResource>> = {
  Service: "services",
  Endpoints: "endpoints",
  Node: "nodes",
  EndpointSlice: "endpointslices",
};

export interface FakeMetadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  uid?: string;
  creationTimestamp?: string;
  [key: string]: unknown;
}

/** Any object the fake stores: a Kubernetes object with at least kind and metadata.name. */
export interface FakeObject {
  kind: FakeKind;
  apiVersion?: string;
  metadata: FakeMetadata;
  [key: string]: unknown;
}

/** Stored form: without kind/apiVersion (added on the way out where the apiserver adds them). */
interface Bare {
  metadata: FakeMetadata;
  [key: string]: unknown;
}

type EventType = "ADDED" | "MODIFIED" | "DELETED";

interface HistoryEvent {
  readonly rv: number;
  readonly resource: FakeResource;
  readonly type: EventType;
  readonly object: Bare;
  /** The state before a MODIFIED/DELETED, to compute selector transitions. */
  readonly previous?: Bare;
}

interface Watcher {
  readonly res: ServerResponse;
  readonly resource: FakeResource;
  readonly namespace: string | undefined;
  readonly matches: (o: Bare) => boolean;
  readonly bookmarks: boolean;
  /** A silenced watch: the connection stays open but never carries another byte. */
  dead: boolean;
  timer?: NodeJS.Timeout;
}

interface Snapshot {
  readonly rv: number;
  readonly items: readonly Bare[];
}

export interface FakeApiServerOptions {
  /** Events kept for watch resumes; older resumes get 410. Default 10,000. */
  historyLimit?: number;
  /** Send BOOKMARKs to watches that asked for them every this many ms. Default: only on sendBookmarks(). */
  bookmarkIntervalMs?: number;
}

export type RequestKind = "list" | "watch" | "get";

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  410: "Expired",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

function status(code: number, reason: string, message: string) {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  };
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  const body = JSON.stringify(status(code, reason, message));
  res.writeHead(code, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** Parses an equality-based label selector into a predicate; throws HttpError 400 on what it does not support. */
function labelPredicate(selector: string | null): (o: Bare) => boolean {
  if (!selector) return () => true;
  const tests: Array<(labels: Record<string, string>) => boolean> = [];
  for (const raw of selector.split(",")) {
    const req = raw.trim();
    if (!req) continue;
    const eq = /^([^=!\s]+)\s*(==|=|!=)\s*([^=!\s]*)$/.exec(req);
    const notExists = /^!([^=!\s]+)$/.exec(req);
    const exists = /^([^=!\s()]+)$/.exec(req);
    if (eq) {
      const [, key = "", op, value = ""] = eq;
      tests.push(op === "!=" ? (l) => l[key] !== value : (l) => l[key] === value);
    } else if (notExists) {
      const key = notExists[1] ?? "";
      tests.push((l) => !Object.hasOwn(l, key));
    } else if (exists) {
      const key = exists[1] ?? "";
      tests.push((l) => Object.hasOwn(l, key));
    } else {
      throw new HttpError(
        400,
        "BadRequest",
        `unable to parse requirement: ${req} (the fake apiserver supports only =, ==, !=, exists, !exists)`,
      );
    }
  }
  return (o) => {
    const labels = o.metadata.labels ?? {};
    return tests.every((t) => t(labels));
  };
}

function fieldPredicate(selector: string | null): (o: Bare) => boolean {
  if (!selector) return () => true;
  const tests: Array<(o: Bare) => boolean> = [];
  for (const raw of selector.split(",")) {
    const m = /^(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*)$/.exec(raw.trim());
    if (!m) throw new HttpError(400, "BadRequest", `field label not supported: ${raw}`);
    const [, field, op, value] = m;
    const get = (o: Bare) =>
      field === "metadata.name" ? o.metadata.name : (o.metadata.namespace ?? "");
    tests.push(op === "!=" ? (o) => get(o) !== value : (o) => get(o) === value);
  }
  return (o) => tests.every((t) => t(o));
}

interface Route {
  resource: FakeResource;
  namespace: string | undefined;
  name: string | undefined;
  legacyWatch: boolean;
}

function route(pathname: string): Route | undefined {
  let info: { group: "core" | "discovery"; rest: string[] } | undefined;
  const parts = pathname.split("/").filter(Boolean);
  if (parts[0] === "api" && parts[1] === "v1") info = { group: "core", rest: parts.slice(2) };
  else if (parts[0] === "apis" && parts[1] === "discovery.k8s.io" && parts[2] === "v1") {
    info = { group: "discovery", rest: parts.slice(3) };
  }
  if (!info) return undefined;
  let rest = info.rest;
  let legacyWatch = false;
  if (rest[0] === "watch") {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = decodeURIComponent(rest[1] ?? "");
    rest = rest.slice(2);
  }
  const [res, name, ...extra] = rest;
  if (!res || extra.length > 0) return undefined;
  const resource = res as FakeResource;
  const known = RESOURCES[resource];
  if (!known || (known.prefix === "/api/v1") !== (info.group === "core")) return undefined;
  if (namespace !== undefined && !known.namespaced) return undefined;
  return {
    resource,
    namespace,
    name: name === undefined ? undefined : decodeURIComponent(name),
    legacyWatch,
  };
}

const byKey = (a: Bare, b: Bare) => {
  const an = a.metadata.namespace ?? "";
  const bn = b.metadata.namespace ?? "";
  if (an !== bn) return an < bn ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
};

export class FakeApiServer {
  readonly #server: http.Server;
  readonly #objects = new Map<string, { resource: FakeResource; object: Bare }>();
  readonly #history: HistoryEvent[] = [];
  readonly #historyLimit: number;
  readonly #watchers = new Set<Watcher>();
  readonly #snapshots = new Map<string, Snapshot>();
  readonly #counts = new Map<string, number>();
  readonly #bookmarkTimer: NodeJS.Timeout | undefined;
  #rv = 1000;
  /** Watches may resume from any revision >= this one. */
  #compactedRv = 1000;
  #failures: { remaining: number; code: number } = { remaining: 0, code: 500 };
  #silent = false;
  /** Later list pages waiting while `holdListPages(true)`, or undefined when not holding. */
  #heldPages: Array<() => void> | undefined;
  #port = 0;

  private constructor(server: http.Server, opts: FakeApiServerOptions) {
    this.#server = server;
    this.#historyLimit = opts.historyLimit ?? 10_000;
    if (opts.bookmarkIntervalMs) {
      this.#bookmarkTimer = setInterval(() => this.sendBookmarks(), opts.bookmarkIntervalMs);
      this.#bookmarkTimer.unref();
    }
  }

  /** Starts a fake apiserver on 127.0.0.1 on a free port. */
  static async start(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    let fake: FakeApiServer | undefined;
    const server = http.createServer((req, res) => {
      if (fake) fake.#handle(req, res);
    });
    fake = new FakeApiServer(server, opts);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    fake.#port = (server.address() as AddressInfo).port;
    return fake;
  }

  get port(): number {
    return this.#port;
  }

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** The current (global) resourceVersion. */
  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** Watch streams currently open on the server side (dead, silenced ones included). */
  get openWatches(): number {
    return this.#watchers.size;
  }

  /** Open watch streams silenced for good (see `silence`). */
  get deadWatches(): number {
    let n = 0;
    for (const w of this.#watchers) if (w.dead) n++;
    return n;
  }

  /** Injected failures not yet answered. */
  get failuresLeft(): number {
    return this.#failures.remaining;
  }

  /** Requests of that kind received so far (optionally only for one resource), failed ones included. */
  requests(kind: RequestKind, resource?: FakeResource): number {
    if (resource) return this.#counts.get(`${kind}/${resource}`) ?? 0;
    return this.#counts.get(kind) ?? 0;
  }

  /** A client-node KubeConfig pointing at this server. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "fake", server: this.url, skipTLSVerify: true }],
      users: [{ name: "u" }],
      contexts: [{ name: "fake", cluster: "fake", user: "u" }],
      currentContext: "fake",
    });
    return kc;
  }

  /** Creates or replaces an object (by kind, namespace, name); bumps the revision and emits ADDED or MODIFIED. Returns what is stored. */
  apply(obj: FakeObject): FakeObject {
    const resource = RESOURCE_OF_KIND[obj.kind];
    if (!resource) throw new Error(`fake apiserver: unsupported kind ${String(obj.kind)}`);
    const info = RESOURCES[resource];
    if (!obj.metadata?.name) throw new Error("fake apiserver: metadata.name is required");
    const { kind: _kind, apiVersion: _apiVersion, ...rest } = structuredClone(obj);
    const bare = rest as Bare;
    if (info.namespaced) bare.metadata.namespace = bare.metadata.namespace || "default";
    else delete bare.metadata.namespace;
    const key = this.#key(resource, bare.metadata.namespace, bare.metadata.name);
    const previous = this.#objects.get(key)?.object;
    this.#rv++;
    bare.metadata.resourceVersion = String(this.#rv);
    bare.metadata.uid = previous?.metadata.uid ?? randomUUID();
    bare.metadata.creationTimestamp =
      previous?.metadata.creationTimestamp ?? new Date().toISOString();
    this.#objects.set(key, { resource, object: bare });
    this.#record({
      rv: this.#rv,
      resource,
      type: previous ? "MODIFIED" : "ADDED",
      object: bare,
      previous,
    });
    return this.#full(resource, bare);
  }

  /** Deletes an object; emits DELETED. False if it did not exist. */
  remove(kind: FakeKind, namespace: string | undefined, name: string): boolean {
    const resource = RESOURCE_OF_KIND[kind];
    const ns = RESOURCES[resource].namespaced ? namespace || "default" : undefined;
    const key = this.#key(resource, ns, name);
    const found = this.#objects.get(key);
    if (!found) return false;
    this.#objects.delete(key);
    this.#rv++;
    const last: Bare = {
      ...found.object,
      metadata: { ...found.object.metadata, resourceVersion: String(this.#rv) },
    };
    this.#record({ rv: this.#rv, resource, type: "DELETED", object: last, previous: found.object });
    return true;
  }

  /** Sends a BOOKMARK at the current revision to every live watch that allowed bookmarks. */
  sendBookmarks(): void {
    for (const w of this.#watchers) {
      if (w.dead || !w.bookmarks) continue;
      const info = RESOURCES[w.resource];
      this.#write(w, {
        type: "BOOKMARK",
        object: {
          kind: info.kind,
          apiVersion: info.apiVersion,
          metadata: { resourceVersion: String(this.#rv) },
        },
      });
    }
  }

  /**
   * Compacts: forgets the watch history and every list snapshot, and moves the revision on (as
   * unrelated writes do in a real cluster), so any resume from a revision handed out before gets
   * 410 Expired, and so do continue tokens.
   */
  expireHistory(): void {
    this.#rv++;
    this.#compactedRv = this.#rv;
    this.#history.length = 0;
    this.#snapshots.clear();
  }

  /** Ends every live watch cleanly, as the apiserver does when a watch's request timeout runs out. */
  endWatches(): void {
    for (const w of [...this.#watchers]) {
      if (w.dead) continue;
      this.#forget(w);
      w.res.end();
    }
  }

  /** Destroys every open watch connection mid-stream (the client sees a reset, not a clean end). */
  dropWatches(): void {
    for (const w of [...this.#watchers]) {
      this.#forget(w);
      w.res.socket?.destroy();
      w.res.destroy();
    }
  }

  /** The next `n` requests of any kind answer `code` with a Status body. */
  failNext(n: number, code = 500): void {
    this.#failures = { remaining: n, code };
  }

  /**
   * While on, watches go silently dead: open ones and ones opened meanwhile (after their 200
   * headers) never carry another byte, though their connections stay open. Turning it off
   * affects only watches opened afterwards: a dead connection stays dead.
   */
  silence(on: boolean): void {
    this.#silent = on;
    if (on) for (const w of this.#watchers) w.dead = true;
  }

  /**
   * While on, every list request for a later page (one with a `continue` token) waits, as a
   * slow apiserver's would; turning it off answers the waiting ones.
   */
  holdListPages(on: boolean): void {
    const held = this.#heldPages;
    this.#heldPages = on ? (held ?? []) : undefined;
    if (!on) for (const serve of held ?? []) serve();
  }

  /** Ends every watch, closes every connection and the listener. */
  async close(): Promise<void> {
    if (this.#bookmarkTimer) clearInterval(this.#bookmarkTimer);
    for (const w of [...this.#watchers]) {
      this.#forget(w);
      w.res.destroy();
    }
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #key(resource: FakeResource, namespace: string | undefined, name: string): string {
    return `${resource}/${namespace ?? ""}/${name}`;
  }

  #full(resource: FakeResource, o: Bare): FakeObject {
    const info = RESOURCES[resource];
    return { kind: info.kind, apiVersion: info.apiVersion, ...structuredClone(o) };
  }

  #count(kind: RequestKind, resource: FakeResource): void {
    for (const k of [kind, `${kind}/${resource}`])
      this.#counts.set(k, (this.#counts.get(k) ?? 0) + 1);
  }

  #record(ev: HistoryEvent): void {
    this.#history.push(ev);
    if (this.#history.length > this.#historyLimit * 1.25) {
      const dropped = this.#history.splice(0, this.#history.length - this.#historyLimit);
      const newestDropped = dropped[dropped.length - 1];
      if (newestDropped) this.#compactedRv = newestDropped.rv;
    }
    for (const w of this.#watchers) this.#deliver(w, ev);
  }

  /** Sends one history event to one watch, translated through its namespace and selectors. */
  #deliver(w: Watcher, ev: HistoryEvent): void {
    if (w.resource !== ev.resource || w.dead) return;
    if (w.namespace !== undefined && ev.object.metadata.namespace !== w.namespace) return;
    const info = RESOURCES[ev.resource];
    const now = w.matches(ev.object);
    const before = ev.previous ? w.matches(ev.previous) : false;
    let type: EventType;
    let object: Bare;
    if (ev.type === "DELETED") {
      if (!before) return;
      type = "DELETED";
      object = ev.object;
    } else if (now && before) {
      type = "MODIFIED";
      object = ev.object;
    } else if (now) {
      type = "ADDED";
      object = ev.object;
    } else if (before && ev.previous) {
      // Left the selector: the watch cache sends the previous content at the new revision.
      type = "DELETED";
      object = {
        ...ev.previous,
        metadata: { ...ev.previous.metadata, resourceVersion: String(ev.rv) },
      };
    } else {
      return;
    }
    this.#write(w, { type, object: { kind: info.kind, apiVersion: info.apiVersion, ...object } });
  }

  #write(w: Watcher, event: unknown): void {
    if (w.dead || w.res.destroyed) return;
    w.res.write(`${JSON.stringify(event)}\n`);
  }

  #forget(w: Watcher): void {
    if (w.timer) clearTimeout(w.timer);
    this.#watchers.delete(w);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.#heldPages && new URL(req.url ?? "/", "http://fake").searchParams.has("continue")) {
      this.#heldPages.push(() => this.#handle(req, res));
      return;
    }
    try {
      this.#serve(req, res);
    } catch (err) {
      if (res.headersSent) res.destroy();
      else if (err instanceof HttpError) sendStatus(res, err.code, err.reason, err.message);
      else sendStatus(res, 500, "InternalError", `fake apiserver: ${String(err)}`);
    }
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://fake");
    const r = route(url.pathname);
    const q = url.searchParams;
    const watch = r?.legacyWatch || q.get("watch") === "true" || q.get("watch") === "1";
    if (r) this.#count(r.name !== undefined ? "get" : watch ? "watch" : "list", r.resource);
    if (this.#failures.remaining > 0) {
      this.#failures.remaining--;
      const code = this.#failures.code;
      throw new HttpError(
        code,
        REASONS[code] ?? "InternalError",
        `injected failure (HTTP ${code})`,
      );
    }
    if (!r)
      throw new HttpError(404, "NotFound", "the server could not find the requested resource");
    if (req.method !== "GET") {
      throw new HttpError(
        405,
        "MethodNotAllowed",
        `the fake apiserver serves only GET (got ${req.method})`,
      );
    }
    if (r.name !== undefined) {
      this.#get(res, r.resource, r.namespace, r.name);
      return;
    }
    const matchLabels = labelPredicate(q.get("labelSelector"));
    const matchFields = fieldPredicate(q.get("fieldSelector"));
    const matches = (o: Bare) => matchLabels(o) && matchFields(o);
    if (watch) this.#watch(req, res, r, q, matches);
    else this.#list(res, r, q, matches);
  }

  #get(
    res: ServerResponse,
    resource: FakeResource,
    namespace: string | undefined,
    name: string,
  ): void {
    const found = this.#objects.get(this.#key(resource, namespace, name));
    if (!found) throw new HttpError(404, "NotFound", `${resource} "${name}" not found`);
    const body = JSON.stringify(this.#full(resource, found.object));
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(body);
  }

  #list(res: ServerResponse, r: Route, q: URLSearchParams, matches: (o: Bare) => boolean): void {
    const info = RESOURCES[r.resource];
    const limit = Number(q.get("limit") ?? "0");
    const token = q.get("continue");
    let snap: Snapshot;
    let snapId: string;
    let offset = 0;
    if (token) {
      let decoded: { s?: unknown; o?: unknown };
      try {
        decoded = JSON.parse(Buffer.from(token, "base64url").toString());
      } catch {
        throw new HttpError(400, "BadRequest", "continue key is not valid");
      }
      const found = typeof decoded.s === "string" ? this.#snapshots.get(decoded.s) : undefined;
      if (typeof decoded.s !== "string" || typeof decoded.o !== "number") {
        throw new HttpError(400, "BadRequest", "continue key is not valid");
      }
      if (!found) {
        throw new HttpError(
          410,
          "Expired",
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
        );
      }
      snap = found;
      snapId = decoded.s;
      offset = decoded.o;
    } else {
      const items: Bare[] = [];
      for (const { resource, object } of this.#objects.values()) {
        if (resource !== r.resource) continue;
        if (r.namespace !== undefined && object.metadata.namespace !== r.namespace) continue;
        if (matches(object)) items.push(object);
      }
      items.sort(byKey);
      snap = { rv: this.#rv, items };
      snapId = randomUUID();
    }
    const end =
      Number.isInteger(limit) && limit > 0
        ? Math.min(offset + limit, snap.items.length)
        : snap.items.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(snap.rv) };
    if (end < snap.items.length) {
      if (!this.#snapshots.has(snapId)) {
        this.#snapshots.set(snapId, snap);
        // Bounded like etcd's retained revisions: the oldest snapshots go first.
        if (this.#snapshots.size > 64) {
          const oldest = this.#snapshots.keys().next().value;
          if (oldest !== undefined) this.#snapshots.delete(oldest);
        }
      }
      metadata.continue = Buffer.from(JSON.stringify({ s: snapId, o: end })).toString("base64url");
      metadata.remainingItemCount = snap.items.length - end;
    }
    const body = JSON.stringify({
      kind: `${info.kind}List`,
      apiVersion: info.apiVersion,
      metadata,
      items: snap.items.slice(offset, end),
    });
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(body);
  }

  #watch(
    req: IncomingMessage,
    res: ServerResponse,
    r: Route,
    q: URLSearchParams,
    matches: (o: Bare) => boolean,
  ): void {
    const rvParam = q.get("resourceVersion") ?? "";
    const from = rvParam === "" || rvParam === "0" ? undefined : Number(rvParam);
    if (from !== undefined && !Number.isSafeInteger(from)) {
      throw new HttpError(400, "BadRequest", `invalid resource version: ${rvParam}`);
    }
    const timeoutSeconds = Number(q.get("timeoutSeconds") ?? "0");
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Cache-Control": "no-cache, private",
      "Transfer-Encoding": "chunked",
    });
    res.flushHeaders();
    const w: Watcher = {
      res,
      resource: r.resource,
      namespace: r.namespace,
      matches,
      bookmarks: q.get("allowWatchBookmarks") === "true",
      dead: this.#silent,
    };
    if (from !== undefined && from < this.#compactedRv) {
      this.#write(w, {
        type: "ERROR",
        object: status(410, "Expired", `too old resource version: ${from} (${this.#compactedRv})`),
      });
      if (!w.dead) res.end();
      return;
    }
    if (from === undefined) {
      // "Get state and start at most recent": synthetic ADDED for what exists now.
      const info = RESOURCES[r.resource];
      const current = [...this.#objects.values()]
        .filter((e) => e.resource === r.resource)
        .map((e) => e.object)
        .filter(
          (o) => (r.namespace === undefined || o.metadata.namespace === r.namespace) && matches(o),
        )
        .sort(byKey);
      for (const o of current)
        this.#write(w, {
          type: "ADDED",
          object: { kind: info.kind, apiVersion: info.apiVersion, ...o },
        });
    } else {
      for (const ev of this.#history) if (ev.rv > from) this.#deliver(w, ev);
    }
    this.#watchers.add(w);
    if (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0) {
      w.timer = setTimeout(() => {
        this.#forget(w);
        if (!w.dead) res.end();
      }, timeoutSeconds * 1000);
    }
    const gone = () => this.#forget(w);
    req.on("close", gone);
    res.on("close", gone);
  }
}
