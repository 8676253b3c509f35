/**
 * getData / getChildren without watches, gathered into `multiRead` requests: the reads asked
 * for while a request is being sent or answered go out together, up to `perRequest` in one, at
 * most `requestsInFlight` requests at a time. A DNS catalog's full read of 100,000 nodes is
 * then about 500 requests instead of 100,000, and one change's read costs no more than before:
 * with nothing in flight, a read leaves in the same tick's request.
 *
 * Each read settles as the session's own would: its result, or its own error (NO_NODE, …);
 * a request that fails as a whole (a lost connection) fails every read in it. The session
 * sends them one by one to a server older than 3.6.
 */
import type { Stat } from "node-zookeeper-client";
import type { ZkRead, ZkReadResult, ZkSession } from "./session.js";

interface Pending {
  readonly read: ZkRead;
  readonly settle: (result: ZkReadResult | undefined, error?: unknown) => void;
}

export interface ReadBatcherOptions {
  /** Reads per request; default 200. */
  readonly perRequest?: number;
  /** Requests in flight; default 3. */
  readonly requestsInFlight?: number;
}

export class ReadBatcher {
  private queue: Pending[] = [];
  private inFlight = 0;
  private flushQueued = false;
  private readonly perRequest: number;
  private readonly requestsInFlight: number;

  constructor(
    private readonly session: Pick<ZkSession, "multiRead">,
    opts: ReadBatcherOptions = {},
  ) {
    this.perRequest = opts.perRequest ?? 200;
    this.requestsInFlight = opts.requestsInFlight ?? 3;
  }

  getData(path: string): Promise<{ data: Buffer; stat: Stat }> {
    // A result is of its read's kind or an error (decodeMultiReadReply checks).
    return this.enqueue({ op: "getData", path }) as Promise<{ data: Buffer; stat: Stat }>;
  }

  getChildren(path: string): Promise<string[]> {
    return this.enqueue({ op: "getChildren", path }) as Promise<string[]>;
  }

  /** Settles with the read's value: the data and stat, or the children's names. */
  private enqueue(read: ZkRead): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({
        read,
        settle: (result, error) => {
          if (result === undefined) reject(error);
          else if ("error" in result) reject(result.error);
          else resolve("children" in result ? result.children : result);
        },
      });
      // Reads asked for in the same tick share the request.
      if (!this.flushQueued) {
        this.flushQueued = true;
        process.nextTick(() => {
          this.flushQueued = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    while (this.inFlight < this.requestsInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.perRequest);
      this.inFlight++;
      this.session
        .multiRead(batch.map((p) => p.read))
        .then(
          (results) => {
            batch.forEach((p, i) => {
              const result = results[i];
              if (result) p.settle(result);
              else p.settle(undefined, new Error(`${p.read.op} ${p.read.path}: no result`));
            });
          },
          (error: unknown) => {
            for (const p of batch) p.settle(undefined, error);
          },
        )
        .finally(() => {
          this.inFlight--;
          this.flush();
        });
    }
  }
}
