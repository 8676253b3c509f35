/**
 * ZooKeeper's four-letter words (`mntr`, `srvr`): the server's own counters, read over a
 * separate socket, so watching progress costs the measured client nothing. ZooKeeper counts
 * each one in `zk_packets_received` (3.8: +1 per command, measured), so `packetsReceived`
 * leaves out those this process sent: a recovery polled every 5 ms otherwise counted ~2,000
 * "requests" the bridge never made.
 *
 * They cost the server, though: at 110,000 znodes one `mntr` took ZooKeeper ~5 ms of CPU (it
 * computes every metric summary), one `srvr` ~0.8 ms. Polled every 20 ms through a recovery,
 * `mntr` alone had ZooKeeper spend a quarter of a core on the measurement, which the
 * reference (timed by its own client) never paid. So progress is polled with `srvr`'s node
 * count, and `mntr` read only when that says the awaited count may have been reached.
 */
import net from "node:net";

/** Four-letter words this process sent, per port (each one of the server's packets received). */
const sent = new Map<number, number>();

/** Sends one four-letter word and returns the whole reply ("" if the server hung up at once). */
export function fourLetter(port: number, word: string, timeoutMs = 2000): Promise<string> {
  sent.set(port, (sent.get(port) ?? 0) + 1);
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: "127.0.0.1", port }, () => sock.write(word));
    let text = "";
    sock.setTimeout(timeoutMs, () => {
      sock.destroy();
      reject(new Error(`4lw ${word} on port ${port}: no answer in ${timeoutMs} ms`));
    });
    sock.on("data", (d) => {
      text += d.toString();
    });
    sock.on("end", () => resolve(text));
    sock.on("error", reject);
  });
}

/** `mntr` as key → value; undefined while the server is down or not yet serving requests. */
export async function mntr(port: number): Promise<Record<string, string> | undefined> {
  let text: string;
  try {
    text = await fourLetter(port, "mntr");
  } catch {
    return undefined;
  }
  if (!text.includes("zk_server_state")) return undefined; // "not currently serving requests"
  const out: Record<string, string> = {};
  for (const line of text.trim().split("\n")) {
    const tab = line.indexOf("\t");
    if (tab > 0) out[line.slice(0, tab)] = line.slice(tab + 1);
  }
  return out;
}

async function counter(port: number, key: string): Promise<number> {
  const m = await mntr(port);
  const v = Number(m?.[key]);
  if (!m || !Number.isFinite(v)) throw new Error(`mntr on port ${port}: no ${key}`);
  return v;
}

/** Ephemeral znodes the server holds now (all sessions). */
export const ephemeralsCount = (port: number) => counter(port, "zk_ephemerals_count");
/**
 * Client requests the server has received, less the four-letter words this process sent
 * (this one included). Only differences mean anything, within one server's lifetime.
 */
export async function packetsReceived(port: number): Promise<number> {
  const received = await counter(port, "zk_packets_received");
  return received - (sent.get(port) ?? 0);
}
/** Znodes in the tree. */
export const znodeCount = (port: number) => counter(port, "zk_znode_count");

const MNTR_AT_LEAST_EVERY_MS = 1000;

/** `srvr`'s "Node count" (the cheap read); undefined while the server is down or not serving. */
export async function srvrNodeCount(port: number): Promise<number | undefined> {
  let text: string;
  try {
    text = await fourLetter(port, "srvr");
  } catch {
    return undefined;
  }
  const m = /^Node count: (\d+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * Polls `zk_ephemerals_count` every `intervalMs` until `done(count)`; resolves with
 * `performance.now()` at the poll that saw it. `check` runs each round (e.g. to fail fast when
 * the bridge died); `onSample` sees every reading. With `nodes`, a condition on the znode count
 * that `done` cannot be met without (ephemerals are znodes: at least N ephemerals need at least
 * N znodes), each round reads `srvr`, and `mntr` only once `nodes` holds (or a second has
 * passed since the last `mntr`, should the condition be off).
 */
export async function waitForEphemerals(
  port: number,
  done: (count: number) => boolean,
  opts: {
    timeoutMs: number;
    intervalMs?: number;
    check?: () => void;
    onSample?: (count: number, at: number) => void;
    nodes?: (znodes: number) => boolean;
  },
): Promise<number> {
  const deadline = performance.now() + opts.timeoutMs;
  let last = Number.NaN;
  let lastMntrAt = Number.NEGATIVE_INFINITY;
  for (;;) {
    opts.check?.();
    const nodes = opts.nodes ? await srvrNodeCount(port) : undefined;
    const due =
      !opts.nodes ||
      (nodes !== undefined && opts.nodes(nodes)) ||
      performance.now() - lastMntrAt > MNTR_AT_LEAST_EVERY_MS;
    const m = due ? await mntr(port) : undefined;
    if (due) lastMntrAt = performance.now();
    const at = performance.now();
    if (m) {
      last = Number(m.zk_ephemerals_count);
      opts.onSample?.(last, at);
      if (done(last)) return at;
    }
    if (at > deadline) {
      throw new Error(`timed out after ${opts.timeoutMs} ms; ephemerals at ${last}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
}
