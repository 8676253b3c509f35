/**
 * GET and watch against the Kubernetes API, with the connection, TLS and credentials of a
 * client-node `KubeConfig` (`applyToHTTPSOptions`, per request, so rotating tokens and exec
 * plugins keep working).
 *
 * Why not client-node's `Watch`/`ListWatch` (1.4): a request can only be aborted once its
 * response headers have arrived, so a hung connect survives `stop()`; no request has a timeout;
 * the informer never asks for bookmarks or a server-side timeout. Here every request is
 * abortable from the start and has an idle watchdog: no byte for `idleTimeoutMs` fails it.
 */
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";

/** A failed API call: `code` is the HTTP status (or the Status object's code), 0 when no response. */
export class KubeApiError extends Error {
  override name = "KubeApiError";
  constructor(
    message: string,
    readonly code: number,
    /** The Status reason (`Expired`, `Forbidden`, …), or ours: `Silent`, `Transport`, `BadResponse`. */
    readonly reason: string,
  ) {
    super(message);
  }
}

/** 410 Gone: the resourceVersion or continue token is older than the server keeps; relist. */
export function isExpired(err: unknown): boolean {
  return (
    err instanceof KubeApiError &&
    (err.code === 410 || err.reason === "Expired" || err.reason === "Gone")
  );
}

/** A KubeApiError from a `Status` object (an error body or a watch ERROR event). */
export function statusError(status: unknown, httpStatus = 0): KubeApiError {
  const s =
    typeof status === "object" && status !== null ? (status as Record<string, unknown>) : {};
  const code = typeof s.code === "number" ? s.code : httpStatus;
  const reason = typeof s.reason === "string" && s.reason ? s.reason : `HTTP ${code}`;
  const message =
    typeof s.message === "string" && s.message ? s.message : `API server answered ${code}`;
  return new KubeApiError(message, code, reason);
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchEvent {
  readonly type: WatchEventType;
  /** Untrusted JSON: an API object, a bookmark or a Status. */
  readonly object: unknown;
}

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export interface RequestOptions {
  /** Aborting fails the request at once, whatever phase it is in (connect, headers, body). */
  readonly signal: AbortSignal;
  /** Fails the request when no byte arrives for this long (KubeApiError reason "Silent"). */
  readonly idleTimeoutMs: number;
}

const WATCH_TYPES = new Set<string>(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]);
/** An error body larger than this is not read further (it is only for the message). */
const MAX_ERROR_BODY = 64 * 1024;

export class KubeApi {
  readonly #kc: KubeConfig;

  constructor(kubeConfig: KubeConfig) {
    this.#kc = kubeConfig;
  }

  /** The API server's base URL; throws if the KubeConfig has no current cluster. */
  server(): string {
    const cluster = this.#kc.getCurrentCluster();
    if (!cluster?.server) throw new Error("kubeconfig: no current context with a cluster server");
    return cluster.server.replace(/\/+$/, "");
  }

  /** GETs a JSON document. Rejects with KubeApiError (non-2xx, silence, transport, bad JSON) or the abort reason. */
  getJson(path: string, query: Query, opts: RequestOptions): Promise<unknown> {
    return this.#send(path, query, opts, async (res, touch) => {
      const chunks: Buffer[] = [];
      for await (const chunk of res) {
        touch();
        chunks.push(chunk as Buffer);
      }
      const body = Buffer.concat(chunks).toString("utf8");
      if (!ok(res)) throw errorFromBody(res.statusCode ?? 0, body);
      try {
        return JSON.parse(body) as unknown;
      } catch {
        throw new KubeApiError(
          `GET ${path}: response is not JSON`,
          res.statusCode ?? 0,
          "BadResponse",
        );
      }
    });
  }

  /**
   * Watches: calls `onEvent` for every event line, in order. Resolves when the server ends the
   * stream cleanly; rejects with KubeApiError (non-2xx, silence, reset, malformed line), with
   * whatever `onEvent` throws (the stream is then closed), or with the abort reason.
   */
  watch(
    path: string,
    query: Query,
    opts: RequestOptions & { onEvent: (e: WatchEvent) => void },
  ): Promise<void> {
    return this.#send(path, { ...query, watch: true }, opts, async (res, touch) => {
      if (!ok(res)) throw errorFromBody(res.statusCode ?? 0, await readSome(res, touch));
      res.setEncoding("utf8");
      let pending = "";
      for await (const chunk of res) {
        touch();
        pending += chunk as string;
        let nl = pending.indexOf("\n");
        while (nl >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (line.trim()) opts.onEvent(parseEvent(line));
          nl = pending.indexOf("\n");
        }
      }
      if (pending.trim()) opts.onEvent(parseEvent(pending));
    });
  }

  async #send<T>(
    path: string,
    query: Query,
    opts: RequestOptions,
    consume: (res: IncomingMessage, touch: () => void) => Promise<T>,
  ): Promise<T> {
    const url = new URL(this.server() + path);
    for (const [k, v] of Object.entries(query))
      if (v !== undefined && v !== "") url.searchParams.set(k, String(v));
    const options: https.RequestOptions = {
      method: "GET",
      headers: { Accept: "application/json" },
    };
    await this.#kc.applyToHTTPSOptions(options);
    opts.signal.throwIfAborted();
    const transport = url.protocol === "https:" ? https : http;

    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (err: unknown, value?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        opts.signal.removeEventListener("abort", onAbort);
        if (err === undefined) resolve(value as T);
        else {
          req.destroy();
          reject(err);
        }
      };
      const watchdog = setTimeout(
        () =>
          finish(
            new KubeApiError(
              `GET ${path}: no data from the API server for ${opts.idleTimeoutMs} ms`,
              0,
              "Silent",
            ),
          ),
        opts.idleTimeoutMs,
      );
      const touch = () => {
        watchdog.refresh();
      };
      const onAbort = () => finish(opts.signal.reason ?? new Error("aborted"));
      opts.signal.addEventListener("abort", onAbort, { once: true });

      const req = transport.request(url, options);
      req.on("error", (err) =>
        finish(new KubeApiError(`GET ${path}: ${err.message}`, 0, "Transport")),
      );
      req.on("response", (res) => {
        touch();
        consume(res, touch).then(
          (value) => finish(undefined, value),
          (err: unknown) => {
            if (err instanceof KubeApiError || !(err instanceof Error)) finish(err);
            // A stream that breaks mid-body (reset, premature close) is a transport failure.
            else if ((err as NodeJS.ErrnoException).code || err.name === "AbortError") {
              finish(new KubeApiError(`GET ${path}: ${err.message}`, 0, "Transport"));
            } else finish(err);
          },
        );
      });
      req.end();
    });
  }
}

function ok(res: IncomingMessage): boolean {
  const s = res.statusCode ?? 0;
  return s >= 200 && s < 300;
}

async function readSome(res: IncomingMessage, touch: () => void): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    touch();
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size > MAX_ERROR_BODY) break;
  }
  return Buffer.concat(chunks).toString("utf8");
}

function errorFromBody(httpStatus: number, body: string): KubeApiError {
  try {
    return statusError(JSON.parse(body), httpStatus);
  } catch {
    return new KubeApiError(`API server answered ${httpStatus}`, httpStatus, `HTTP ${httpStatus}`);
  }
}

function parseEvent(line: string): WatchEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new KubeApiError(
      `malformed watch event (not JSON): ${line.slice(0, 120)}`,
      0,
      "BadResponse",
    );
  }
  const ev =
    typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
  if (typeof ev.type !== "string" || !WATCH_TYPES.has(ev.type)) {
    throw new KubeApiError(
      `malformed watch event (type ${JSON.stringify(ev.type)})`,
      0,
      "BadResponse",
    );
  }
  return { type: ev.type as WatchEventType, object: ev.object };
}
