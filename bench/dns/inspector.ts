/**
 * A minimal Chrome DevTools Protocol client for a child started with
 * `--inspect-brk=127.0.0.1:<port>`: start the sampling heap profiler before any app code
 * runs, then, whenever asked, a full GC and the profile of what is live at that moment.
 * (`node --heap-prof` writes only at exit, after the app has released its data.)
 * Needs a global WebSocket (Node 22, or Node 20 with --experimental-websocket).
 */
import { waitFor } from "../support/wait.js";

interface Reply {
  id?: number;
  result?: unknown;
  error?: { message: string };
}

export class Inspector {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: Reply) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => {
      const msg = JSON.parse(String(e.data)) as Reply;
      if (msg.id !== undefined) this.waiting.get(msg.id)?.(msg);
    });
  }

  /** Attach to the child paused at its first line. */
  static async attach(port: number): Promise<Inspector> {
    if (typeof WebSocket === "undefined")
      throw new Error("no global WebSocket: run node with --experimental-websocket");
    const url = await waitFor(
      `inspector on port ${port}`,
      async () => {
        try {
          const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
            webSocketDebuggerUrl: string;
          }[];
          return list[0]?.webSocketDebuggerUrl || undefined;
        } catch {
          return undefined; // not listening yet
        }
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve, { once: true });
      ws.addEventListener("error", reject, { once: true });
    });
    return new Inspector(ws);
  }

  async send<T = unknown>(method: string, params: object = {}): Promise<T> {
    const id = this.nextId++;
    const reply = await new Promise<Reply>((resolve) => {
      this.waiting.set(id, resolve);
      this.ws.send(JSON.stringify({ id, method, params }));
    });
    this.waiting.delete(id);
    if (reply.error) throw new Error(`${method}: ${reply.error.message}`);
    return reply.result as T;
  }

  /** Start heap sampling (one sample per `intervalBytes` allocated), then let the child run. */
  async sampleHeapAndRun(intervalBytes = 64 * 1024): Promise<void> {
    await this.send("HeapProfiler.enable");
    await this.send("HeapProfiler.startSampling", { samplingInterval: intervalBytes });
    await this.send("Runtime.runIfWaitingForDebugger");
  }

  /** A full GC, then the sampled allocations still live (the `.heapprofile` format). */
  async liveHeap(): Promise<{ head: unknown }> {
    await this.send("HeapProfiler.collectGarbage");
    const { profile } = await this.send<{ profile: { head: unknown } }>(
      "HeapProfiler.getSamplingProfile",
    );
    return profile;
  }

  close(): void {
    this.ws.close();
  }
}
