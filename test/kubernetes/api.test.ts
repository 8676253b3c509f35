/**
 * The list/watch transport against servers that misbehave in ways the fake apiserver does not:
 * a black hole that never answers, garbage on the watch stream, odd error bodies.
 */
import http from "node:http";
import net from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { isExpired, KubeApi, KubeApiError, type WatchEvent } from "../../lib/kubernetes/api.js";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

function kubeConfig(port: number): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "u" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

/** Accepts connections and never sends a byte. */
async function blackHole(): Promise<{ port: number; open: () => number }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    // Read (and ignore) the request, so a client's close is seen here.
    s.resume();
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as net.AddressInfo).port, open: () => sockets.size };
}

async function httpServer(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as net.AddressInfo).port;
}

describe("KubeApi", () => {
  it("aborts a request that never got its response headers", async () => {
    const hole = await blackHole();
    const api = new KubeApi(kubeConfig(hole.port));
    const ac = new AbortController();
    const events: WatchEvent[] = [];
    const p = api.watch(
      "/api/v1/services",
      {},
      { signal: ac.signal, idleTimeoutMs: 60_000, onEvent: (e) => events.push(e) },
    );
    const settled = p.then(
      () => "resolved",
      () => "rejected",
    );
    while (hole.open() === 0) await new Promise((r) => setTimeout(r, 5));
    ac.abort(new Error("stop"));
    expect(await settled).toBe("rejected");
    while (hole.open() > 0) await new Promise((r) => setTimeout(r, 5));
    expect(events).toEqual([]);
  });

  it("fails a silent request after the idle timeout", async () => {
    const hole = await blackHole();
    const api = new KubeApi(kubeConfig(hole.port));
    const err = await api
      .getJson("/api/v1/services", {}, { signal: new AbortController().signal, idleTimeoutMs: 200 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ reason: "Silent", code: 0 });
  });

  it("turns a garbage watch line into an error and closes the stream", async () => {
    const port = await httpServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n');
      res.write("this is not json\n");
    });
    const api = new KubeApi(kubeConfig(port));
    const events: WatchEvent[] = [];
    const err = await api
      .watch(
        "/api/v1/services",
        {},
        {
          signal: new AbortController().signal,
          idleTimeoutMs: 5000,
          onEvent: (e) => events.push(e),
        },
      )
      .catch((e: unknown) => e);
    expect(events).toHaveLength(1);
    expect(err).toMatchObject({ reason: "BadResponse" });
  });

  it("reads events split across chunks and a last line without newline", async () => {
    const port = await httpServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.write('{"type":"ADDED","obj');
      setTimeout(() => {
        res.write(
          'ect":{"n":1}}\n{"type":"BOOKMARK","object":{"n":2}}\n{"type":"DELETED","object":{"n":3}}',
        );
        res.end();
      }, 20);
    });
    const api = new KubeApi(kubeConfig(port));
    const events: WatchEvent[] = [];
    await api.watch(
      "/x",
      {},
      { signal: new AbortController().signal, idleTimeoutMs: 5000, onEvent: (e) => events.push(e) },
    );
    expect(events).toEqual([
      { type: "ADDED", object: { n: 1 } },
      { type: "BOOKMARK", object: { n: 2 } },
      { type: "DELETED", object: { n: 3 } },
    ]);
  });

  it("reports a Status error body, and a non-JSON one by its HTTP status", async () => {
    const port = await httpServer((req, res) => {
      if (req.url?.startsWith("/status")) {
        res.writeHead(410, { "Content-Type": "application/json" });
        res.end(
          JSON.stringify({ kind: "Status", code: 410, reason: "Expired", message: "too old" }),
        );
      } else {
        res.writeHead(502, { "Content-Type": "text/html" });
        res.end("<html>bad gateway</html>");
      }
    });
    const api = new KubeApi(kubeConfig(port));
    const opts = { signal: new AbortController().signal, idleTimeoutMs: 5000 };
    const expired = await api.getJson("/status", {}, opts).catch((e: unknown) => e);
    expect(expired).toMatchObject({ code: 410, reason: "Expired", message: "too old" });
    expect(isExpired(expired)).toBe(true);
    const gateway = await api
      .watch("/other", {}, { ...opts, onEvent: () => {} })
      .catch((e: unknown) => e);
    expect(gateway).toMatchObject({ code: 502 });
    expect(isExpired(gateway)).toBe(false);
  });

  it("reports a refused connection as a transport error", async () => {
    const hole = await blackHole();
    const port = hole.port;
    await closers.pop()?.();
    const api = new KubeApi(kubeConfig(port));
    const err = await api
      .getJson(
        "/api/v1/services",
        {},
        { signal: new AbortController().signal, idleTimeoutMs: 5000 },
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "Transport", code: 0 });
  });
});
