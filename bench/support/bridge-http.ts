/** What a bench reads from a running bridge over its HTTP port: readiness and metrics. */
import type { BridgeProcess } from "./bridge.js";

export interface Readiness {
  readonly status: number;
  readonly body: {
    notReady?: string[];
    parts?: Record<string, { ready: boolean; detail?: string }>;
  };
}

/** GET /readyz; undefined if the bridge does not answer (yet). */
export async function readyz(
  bridge: BridgeProcess,
  timeoutMs = 2000,
): Promise<Readiness | undefined> {
  try {
    const res = await fetch(`${bridge.httpUrl}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: (await res.json()) as Readiness["body"] };
  } catch {
    return undefined;
  }
}

/**
 * The (single, hence leading) bridge in sync: /readyz 200 with its `registry` part present and
 * ready (the part exists only while leader: a connected bridge that has not won the election
 * again yet reports ready without it), and no part saying "stale" (the DNS side stays ready on
 * stale data within --dns-serve-stale).
 */
export async function inSync(bridge: BridgeProcess): Promise<boolean> {
  const r = await readyz(bridge);
  if (r?.status !== 200 || r.body.parts?.registry?.ready !== true) return false;
  return !Object.values(r.body.parts ?? {}).some((p) => /stale/.test(p.detail ?? ""));
}

/** GET /metrics, parsed to `name{labels} → value`; throws if the bridge does not answer. */
export async function metrics(bridge: BridgeProcess): Promise<Map<string, number>> {
  const res = await fetch(`${bridge.httpUrl}/metrics`);
  const map = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (line.startsWith("#") || line === "") continue;
    const sp = line.lastIndexOf(" ");
    map.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return map;
}
