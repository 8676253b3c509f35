/**
 * One ZooKeeper session that stays usable: the layer every other ZooKeeper user goes through.
 *
 * node-zookeeper-client has two gaps (PITFALLS): it never notices a dead connection (calls hang,
 * the server quietly expires the session), and session expiry is terminal. So this wrapper
 *  - puts a timeout on every call;
 *  - probes liveness on a timer and, when a probe times out, drops the socket so the library
 *    reconnects *with the same session* (no churn if the server still holds it);
 *  - on expiry, throws the client away and builds a new one, then emits `session` so owners of
 *    ephemerals and watches re-create them.
 */
import { EventEmitter } from "node:events";
import zookeeper, { type ACL, type Client, type Stat } from "node-zookeeper-client";
import type { Logger } from "../log.js";
import { digestAcls, OPEN_ACLS, type ZkAuth } from "./auth.js";
import { ZkError } from "./errors.js";
import { installFrameSplitter } from "./frames.js";
import { installJuteRecords } from "./jute-records.js";
import { queueMultiRead, type RawReadResult } from "./multi-read.js";
import { queueMulti } from "./multi-request.js";
import { queueAddWatch } from "./persistent-watches.js";
import { installRawReplies } from "./raw-replies.js";
import { GET_CHILDREN, GET_DATA, queueRead, type ReadKind } from "./reads.js";
import { installCompactWatchers } from "./watchers.js";
import { installWriteBatching } from "./write-batching.js";

export type ZkState = "connecting" | "connected" | "disconnected" | "closed";

/**
 * A handshake unanswered this long is dropped and retried; each retry waits twice as long, up
 * to the call deadline, so a server slow to answer under load is not given up on every time.
 */
const FIRST_HANDSHAKE_DEADLINE_MS = 500;
/** How often a pending handshake is checked while not connected. */
const HANDSHAKE_CHECK_MS = 100;

export interface ZkSessionOptions {
  /** `host:port[,host:port…][/chroot]` */
  readonly connect: string;
  readonly sessionTimeoutMs: number;
  readonly auth?: ZkAuth;
  readonly logger: Logger;
  /** Bound on every call; default a third of the session timeout (at least 1 s). */
  readonly opTimeoutMs?: number;
  /** How often the liveness probe runs; default a third of the session timeout. */
  readonly probeIntervalMs?: number;
}

export type Watcher = (event: zookeeper.Event) => void;

/** One operation of an atomic `multi`. */
export type ZkOp =
  | { op: "create"; path: string; data: Buffer; mode: number }
  | { op: "setData"; path: string; data: Buffer; version: number }
  | { op: "remove"; path: string; version: number }
  | { op: "check"; path: string; version: number };

/** One read of a `multiRead`. */
export type ZkRead = { op: "getChildren"; path: string } | { op: "getData"; path: string };

/** Per read of a `multiRead`: its result, or the server's error for that read alone. */
export type ZkReadResult =
  | { readonly children: string[] }
  | { readonly data: Buffer; readonly stat: Stat }
  | { readonly error: ZkError };

/** Per op of a successful multi: the created path (with any sequence suffix), or the new stat. */
export interface ZkOpResult {
  readonly path?: string;
  readonly stat?: Stat;
}

interface ZkSessionEvents {
  /** A new session exists (the first one, or one built after expiry): re-create ephemerals and watches. */
  session: [sessionId: string];
  state: [state: ZkState];
}

export class ZkSession extends EventEmitter<ZkSessionEvents> {
  private client: Client | undefined;
  private currentState: ZkState = "closed";
  private currentSessionId: string | undefined;
  private downSince: number | undefined = Date.now();
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private handshake: { socket: object; since: number } | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private handshakeDeadlineMs = FIRST_HANDSHAKE_DEADLINE_MS;
  private closing = false;
  /** Undefined until a multiRead is answered; false once one was UNIMPLEMENTED (before 3.6). */
  private multiReadSupported: boolean | undefined;
  /** The first multiRead, while support is not known yet: the others wait for it. */
  private multiReadProbe: Promise<void> | undefined;
  private readonly opTimeoutMs: number;
  private readonly probeIntervalMs: number;
  readonly acls: ACL[];

  constructor(private readonly opts: ZkSessionOptions) {
    super();
    this.opTimeoutMs = opts.opTimeoutMs ?? Math.max(1000, Math.floor(opts.sessionTimeoutMs / 3));
    this.probeIntervalMs =
      opts.probeIntervalMs ?? Math.max(250, Math.floor(opts.sessionTimeoutMs / 3));
    this.acls = opts.auth ? digestAcls(opts.auth) : OPEN_ACLS;
  }

  get state(): ZkState {
    return this.currentState;
  }

  /** Hex id of the current session, once connected. */
  get sessionId(): string | undefined {
    return this.currentSessionId;
  }

  /** When the connection was last lost and not yet regained; undefined while connected. */
  disconnectedSince(): number | undefined {
    return this.downSince;
  }

  /** Opens the first session; resolves once connected (keeps retrying until then or close()). */
  async start(): Promise<void> {
    this.closing = false;
    const connected = new Promise<void>((resolve) => {
      const onState = (s: ZkState) => {
        if (s === "connected" || s === "closed") {
          this.off("state", onState);
          resolve();
        }
      };
      this.on("state", onState);
    });
    this.build();
    this.probeTimer = setInterval(() => void this.probe(), this.probeIntervalMs);
    await connected;
  }

  /** Closes the session: the server deletes its ephemerals at once. Resolves within a bound. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.probeTimer);
    this.watchHandshakes(false);
    const client = this.client;
    this.client = undefined;
    if (client) {
      const wasConnected = this.currentState === "connected";
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wasConnected ? this.opTimeoutMs : 0);
        client.once("disconnected", () => {
          clearTimeout(timer);
          resolve();
        });
        client.close();
      });
      client.removeAllListeners();
    }
    this.setState("closed");
  }

  private build(): void {
    installJuteRecords();
    const client = zookeeper.createClient(this.opts.connect, {
      sessionTimeout: this.opts.sessionTimeoutMs,
      spinDelay: 200,
      retries: 0,
    });
    installCompactWatchers(client);
    installRawReplies(client); // before the splitter: it wants whole frames
    installFrameSplitter(client);
    installWriteBatching(client);
    this.client = client;
    if (this.opts.auth) {
      client.addAuthInfo(
        "digest",
        Buffer.from(`${this.opts.auth.user}:${this.opts.auth.password}`),
      );
    }
    this.setState("connecting");
    client.on("state", (state) => {
      if (client !== this.client) return; // a discarded client's late events
      if (state === zookeeper.State.SYNC_CONNECTED) this.onConnected(client);
      else if (state === zookeeper.State.DISCONNECTED) this.setState("disconnected");
      else if (state === zookeeper.State.EXPIRED) this.rebuild("session expired");
      else if (state === zookeeper.State.AUTH_FAILED) {
        this.opts.logger.error("ZooKeeper authentication failed; retrying with a new session");
        this.rebuild("authentication failed");
      }
    });
    client.connect();
  }

  private onConnected(client: Client): void {
    const id = client.getSessionId().toString("hex");
    const isNew = id !== this.currentSessionId;
    this.currentSessionId = id;
    this.setState("connected");
    if (isNew) {
      this.opts.logger.info({ sessionId: id }, "ZooKeeper session established");
      this.emit("session", id);
    }
  }

  /** Session gone for good: close the dead client and open a new session. */
  private rebuild(reason: string): void {
    if (this.closing) return;
    this.opts.logger.warn(
      { reason, sessionId: this.currentSessionId },
      "rebuilding ZooKeeper client",
    );
    const old = this.client;
    this.client = undefined;
    old?.removeAllListeners();
    old?.close();
    this.setState("disconnected");
    this.build();
  }

  private setState(state: ZkState): void {
    if (state === "connected") {
      this.downSince = undefined;
      this.handshakeDeadlineMs = FIRST_HANDSHAKE_DEADLINE_MS; // this server answers again
    } else this.downSince ??= Date.now();
    this.watchHandshakes(state === "connecting" || state === "disconnected");
    if (state === this.currentState) return;
    this.currentState = state;
    this.emit("state", state);
  }

  /**
   * The library believes a black-holed connection is alive; a cheap call with a deadline tells.
   * On timeout the socket is dropped, so the library reconnects and resumes the same session.
   */
  private async probe(): Promise<void> {
    const client = this.client;
    if (!client || this.currentState !== "connected" || this.probing) return;
    this.probing = true;
    try {
      await this.call<Stat | null>((cb) => client.exists("/", cb), "probe");
    } catch (err) {
      if (err instanceof ZkError && err.code === "TIMEOUT" && client === this.client) {
        this.opts.logger.warn("ZooKeeper did not answer the liveness probe; reconnecting");
        this.setState("disconnected");
        dropSocket(client);
      }
    } finally {
      this.probing = false;
    }
  }

  /** Checks pending handshakes while (re)connecting, and only then. */
  private watchHandshakes(on: boolean): void {
    if (on && !this.closing) {
      this.handshakeTimer ??= setInterval(() => {
        if (this.client) this.checkHandshake(this.client);
      }, HANDSHAKE_CHECK_MS);
      return;
    }
    clearInterval(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.handshake = undefined;
  }

  /**
   * The library bounds the TCP connect but not the session handshake after it: a server that
   * accepts the connection while still starting up may never answer, and the client would wait
   * forever. A handshake pending on one socket past its deadline is dropped, so the library
   * reconnects (with the same session, if the server still holds it).
   */
  private checkHandshake(client: Client): void {
    const socket = socketOf(client);
    if (socket?.readyState !== "open") {
      this.handshake = undefined;
      return;
    }
    if (this.handshake?.socket !== socket) {
      this.handshake = { socket, since: Date.now() };
      return;
    }
    const deadline = Math.min(this.handshakeDeadlineMs, this.opTimeoutMs);
    if (Date.now() - this.handshake.since > deadline) {
      this.opts.logger.warn(
        { waitedMs: deadline },
        "ZooKeeper accepted the connection but never answered the handshake; reconnecting",
      );
      this.handshake = undefined;
      this.handshakeDeadlineMs = Math.min(deadline * 2, this.opTimeoutMs);
      socket.destroy();
    }
  }

  /**
   * Runs one library call with a deadline, mapping its error to a ZkError. What the call was
   * (`op path`) is put into words only for an error: reads run thousands of times a second.
   */
  private call<T>(
    invoke: (cb: (err: Error | zookeeper.Exception | null, result?: T) => void) => void,
    op: string,
    path = "",
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new ZkError("TIMEOUT", `${describe(op, path)}: no answer in ${this.opTimeoutMs} ms`),
          ),
        this.opTimeoutMs,
      );
      invoke((err, result) => {
        clearTimeout(timer);
        if (err) reject(ZkError.from(err, describe(op, path)));
        else resolve(result as T);
      });
    });
  }

  private current(op: string, path = ""): Client {
    if (!this.client || this.currentState !== "connected") {
      throw new ZkError("CONNECTION_LOSS", `${describe(op, path)}: not connected to ZooKeeper`);
    }
    return this.client;
  }

  /** Children names. A watcher (keep its identity stable: the library dedupes by function) fires once. */
  getChildren(path: string, watcher?: Watcher): Promise<string[]> {
    return this.read(GET_CHILDREN, "getChildren", path, watcher);
  }

  getData(path: string, watcher?: Watcher): Promise<{ data: Buffer; stat: Stat }> {
    return this.read(GET_DATA, "getData", path, watcher);
  }

  private read<T>(kind: ReadKind<T>, op: string, path: string, watcher?: Watcher): Promise<T> {
    try {
      const c = this.current(op, path);
      return this.call<T>((cb) => queueRead(c, kind, path, watcher, cb), op, path);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * A ZooKeeper 3.6+ persistent recursive watch on `path` (it need not exist): `watcher` gets
   * every create, delete and data change at or below it, until the connection is lost. It is
   * not re-armed on reconnect: add it again, then re-read. Older servers reject it with
   * UNIMPLEMENTED (and close the connection).
   */
  addPersistentRecursiveWatch(path: string, watcher: Watcher): Promise<void> {
    try {
      const c = this.current("addWatch", path);
      return this.call<void>((cb) => queueAddWatch(c, path, watcher, cb), "addWatch", path);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Several reads in one request (ZooKeeper 3.6+ `multiRead`), without watches: per read its
   * result, or the server's error for it (NO_NODE, NO_AUTH); a lost connection rejects the
   * whole. An older server answers UNIMPLEMENTED and closes the connection; from then on, for
   * the life of the process, the reads go one per request. Until a first multiRead has been
   * answered, others wait for it, so an older server refuses one, not every one in flight.
   */
  async multiRead(reads: readonly ZkRead[]): Promise<ZkReadResult[]> {
    if (reads.length === 0) return [];
    while (this.multiReadSupported === undefined && this.multiReadProbe) {
      await this.multiReadProbe;
    }
    if (this.multiReadSupported === false) return this.readOneByOne(reads);
    let probed: (() => void) | undefined;
    if (this.multiReadSupported === undefined) {
      this.multiReadProbe = new Promise<void>((resolve) => {
        probed = resolve;
      });
    }
    try {
      const results = await this.sendMultiRead(reads);
      this.multiReadSupported = true;
      return results;
    } catch (err) {
      if (!(err instanceof ZkError && err.code === "UNIMPLEMENTED")) throw err;
      this.multiReadUnsupported();
      return this.readOneByOne(reads);
    } finally {
      if (probed) {
        this.multiReadProbe = undefined;
        probed();
      }
    }
  }

  private multiReadUnsupported(): void {
    if (this.multiReadSupported === false) return;
    this.multiReadSupported = false;
    this.opts.logger.warn(
      "ZooKeeper is older than 3.6 (multiRead UNIMPLEMENTED): reading one node per request from now on",
    );
  }

  private async sendMultiRead(reads: readonly ZkRead[]): Promise<ZkReadResult[]> {
    const what = `multiRead of ${reads.length}`;
    const c = this.current(what);
    const raw = await this.call<RawReadResult[]>((cb) => queueMultiRead(c, reads, cb), what);
    return raw.map((r, i) =>
      "errorCode" in r
        ? {
            error: ZkError.fromCode(
              r.errorCode,
              describe(reads[i]?.op ?? "", reads[i]?.path ?? ""),
            ),
          }
        : r,
    );
  }

  private readOneByOne(reads: readonly ZkRead[]): Promise<ZkReadResult[]> {
    return Promise.all(
      reads.map((r) =>
        (r.op === "getData"
          ? this.getData(r.path)
          : this.getChildren(r.path).then((children) => ({ children }))
        ).catch((err: unknown): ZkReadResult => {
          if (err instanceof ZkError && !err.transient) return { error: err };
          throw err;
        }),
      ),
    );
  }

  async exists(path: string, watcher?: Watcher): Promise<Stat | null> {
    const c = this.current("exists", path);
    return this.call<Stat | null>(
      (cb) => (watcher ? c.exists(path, watcher, cb) : c.exists(path, cb)),
      "exists",
      path,
    ).then((s) => s ?? null);
  }

  /** Creates a node with this session's ACLs; returns the created path (sequential suffix included). */
  async create(path: string, data: Buffer, mode: number): Promise<string> {
    const c = this.current("create", path);
    return this.call<string>((cb) => c.create(path, data, this.acls, mode, cb), "create", path);
  }

  async setData(path: string, data: Buffer, version: number): Promise<Stat> {
    const c = this.current("setData", path);
    return this.call<Stat>((cb) => c.setData(path, data, version, cb), "setData", path);
  }

  async remove(path: string, version: number): Promise<void> {
    const c = this.current("remove", path);
    await this.call<void>((cb) => c.remove(path, version, cb), "remove", path);
  }

  /** Creates the path and any missing parents as persistent nodes; returns the paths it created. */
  async mkdirp(path: string): Promise<string[]> {
    const made: string[] = [];
    let prefix = "";
    for (const part of path.split("/").filter(Boolean)) {
      prefix += `/${part}`;
      try {
        await this.create(prefix, Buffer.alloc(0), zookeeper.CreateMode.PERSISTENT);
        made.push(prefix);
      } catch (err) {
        if (!(err instanceof ZkError && err.code === "NODE_EXISTS")) throw err;
      }
    }
    return made;
  }

  /**
   * Atomic multi-op. Rejects with the first failing op's error (`ZkError.index` tells which).
   * Beware (library issue #67): inside a transaction, version 0 means "any version".
   */
  async multi(ops: readonly ZkOp[]): Promise<ZkOpResult[]> {
    const c = this.current("multi");
    return new Promise<ZkOpResult[]>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new ZkError("TIMEOUT", `multi of ${ops.length}: no answer in ${this.opTimeoutMs} ms`),
          ),
        this.opTimeoutMs,
      );
      queueMulti(c, ops, this.acls, (err, results) => {
        clearTimeout(timer);
        if (!err) return resolve((results ?? []) as ZkOpResult[]);
        // The failing op carries its own code; the others say RUNTIME_INCONSISTENCY (-2).
        const list = (results ?? []) as Array<{ err?: number }>;
        const index = list.findIndex((r) => r.err !== undefined && r.err !== 0 && r.err !== -2);
        const code = index >= 0 ? list[index]?.err : undefined;
        reject(
          code !== undefined
            ? ZkError.fromCode(
                code,
                `multi op ${index} (${ops[index]?.op} ${ops[index]?.path})`,
                index,
              )
            : ZkError.from(err, `multi of ${ops.length}`),
        );
      });
    });
  }
}

function describe(op: string, path: string): string {
  return path ? `${op} ${path}` : op;
}

/**
 * Library internals: destroying the socket makes node-zookeeper-client reconnect and resend
 * the same session id, which is exactly what a dead-but-"connected" link needs.
 */
function dropSocket(client: Client): void {
  socketOf(client)?.destroy();
}

function socketOf(client: Client): { destroy(): void; readyState: string } | undefined {
  return (
    client as unknown as {
      connectionManager?: { socket?: { destroy(): void; readyState: string } };
    }
  ).connectionManager?.socket;
}
