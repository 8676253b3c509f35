/**
 * The raw write ceiling the sync benches compare the bridge with: a plain node-zookeeper-client
 * writing the same number of ephemeral znodes, with the same bytes as the bridge's Curator
 * nodes, in batched multi-ops (PITFALLS: the fastest a client can write here), under its own
 * tree (default `/bench-ref/<service>/<instance>`).
 */
import { encodeCurator } from "../../lib/formats/curator.js";
import { META } from "../../lib/registration.js";
import { addressOf, NAMESPACE, registryName, serviceName } from "./cluster.js";
import {
  type Client,
  closeClient,
  connectClient,
  EPHEMERAL,
  type NodeToWrite,
  PERSISTENT,
  writeBatched,
} from "./zk-client.js";
import { ephemeralsCount, srvrNodeCount, waitForEphemerals } from "./zk4lw.js";

export const REF_ROOT = "/bench-ref";

/** The znode bytes the bridge writes for endpoint `e` of service `s` (same metadata keys). */
export function curatorBytes(s: number, e: number, perService: number): Buffer {
  const pod = `${serviceName(s)}-p${e}`;
  return encodeCurator(
    {
      service: registryName(s),
      id: pod,
      address: addressOf(s * perService + e),
      port: 8080,
      ports: { http: 8080 },
      metadata: {
        [META.cluster]: "bench",
        [META.namespace]: NAMESPACE,
        [META.kubeService]: serviceName(s),
        [META.pod]: pod,
      },
      draining: false,
    },
    { payload: "spring", registrationTimeUTC: Date.now() },
  );
}

export interface ReferenceWriter {
  readonly client: Client;
  /** Connect + (parents) + every ephemeral, ms. */
  readonly ms: number;
  /** Closes the session; resolves once the server has dropped its ephemerals. */
  close(): Promise<void>;
}

/**
 * Connects a new session and writes `services × perService` ephemerals (and first, when
 * `withParents`, the service znodes) in multi batches of 200, 4 in flight. Timed from before
 * the connect to the last commit.
 */
export async function writeReference(
  zk: { connect: string; port: number },
  services: number,
  perService: number,
  opts: { withParents: boolean; root?: string },
): Promise<ReferenceWriter> {
  const root = opts.root ?? REF_ROOT;
  const nodes: NodeToWrite[] = [];
  if (opts.withParents) {
    nodes.push({ path: root, data: Buffer.alloc(0), mode: PERSISTENT });
    for (let s = 0; s < services; s++) {
      nodes.push({
        path: `${root}/${registryName(s)}`,
        data: Buffer.alloc(0),
        mode: PERSISTENT,
      });
    }
  }
  for (let s = 0; s < services; s++) {
    for (let e = 0; e < perService; e++) {
      nodes.push({
        path: `${root}/${registryName(s)}/${serviceName(s)}-p${e}`,
        data: curatorBytes(s, e, perService),
        mode: EPHEMERAL,
      });
    }
  }
  const t0 = performance.now();
  const client = await connectClient(zk.connect);
  await writeBatched(client, nodes);
  const ms = performance.now() - t0;
  return {
    client,
    ms,
    async close() {
      const before = await ephemeralsCount(zk.port);
      const nodesBefore = (await srvrNodeCount(zk.port)) ?? Number.POSITIVE_INFINITY;
      await closeClient(client);
      const total = services * perService;
      await waitForEphemerals(zk.port, (n) => n <= before - total, {
        timeoutMs: 60_000,
        nodes: (znodes) => znodes <= nodesBefore - total,
      });
    },
  };
}
