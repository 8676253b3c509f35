/**
 * ZooKeeper's four-letter words (`mntr`): the server's own counters, read over a separate
 * socket, so watching progress costs the measured client nothing and is not counted in
 * `zk_packets_received` (4lw commands are answered before request processing).
 */
import net from "node:net";

/** Sends one four-letter word and returns the whole reply ("" if the server hung up at once). */
export function fourLetter(port: number, word: string, timeoutMs = 2000): Promise<string> {
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
/** Client requests the server has received since it started (4lw not included). */
export const packetsReceived = (port: number) => counter(port, "zk_packets_received");
/** Znodes in the tree. */
export const znodeCount = (port: number) => counter(port, "zk_znode_count");

/**
 * Polls `zk_ephemerals_count` every `intervalMs` until `done(count)`; resolves with
 * `performance.now()` at the poll that saw it. `check` runs each round (e.g. to fail fast when
 * the bridge died); `onSample` sees every reading.
 */
export async function waitForEphemerals(
  port: number,
  done: (count: number) => boolean,
  opts: {
    timeoutMs: number;
    intervalMs?: number;
    check?: () => void;
    onSample?: (count: number, at: number) => void;
  },
): Promise<number> {
  const deadline = performance.now() + opts.timeoutMs;
  let last = Number.NaN;
  for (;;) {
    opts.check?.();
    const m = await mntr(port);
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
