/**
 * The one value type that crosses every seam: Kubernetes source → planner → ZooKeeper
 * writer, and ZooKeeper catalog → DNS answerer.
 */

/** The ZooKeeper layouts legacy clients read. Each lives in its own tree. */
export type Format = "curator" | "serverset";
export const FORMATS: readonly Format[] = ["curator", "serverset"];

/** One instance of one service, whoever registered it. */
export interface Registration {
  /** ZooKeeper service name, e.g. `web.shop`. */
  readonly service: string;
  /** Stable instance id: the pod name, else the address with `.`/`:` replaced by `-`. */
  readonly id: string;
  /** IPv4 or IPv6 address, textual. */
  readonly address: string;
  /** The primary port. */
  readonly port: number;
  /** Every named port, the primary included. Unnamed ports are absent. */
  readonly ports: Readonly<Record<string, number>>;
  /** Free-form `key=value` metadata (Spring's payload metadata; DNS TXT). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Terminating but still serving: published as OUT_OF_SERVICE / STOPPING, not in DNS. */
  readonly draining: boolean;
  /** SRV weight; absent means the default. */
  readonly weight?: number;
}

/**
 * What the sync side wants in ZooKeeper for one endpoint: the registration plus where it goes.
 * One `DesiredRegistration` per format, so a Service with `format: curator,serverset` yields two.
 */
export interface DesiredRegistration extends Registration {
  readonly format: Format;
  /** Parent znode (the service's node), e.g. `/services/web.shop` or a ServerSet path. */
  readonly parent: string;
}

/** Metadata keys the bridge writes (Spring payload metadata) and reads back. */
export const META = {
  /** Spring Cloud Zookeeper's status key: consumers keep an instance only if absent or `UP`. */
  status: "instance_status",
  /** The marker that says a node is the bridge's, with the cluster name as its value. */
  cluster: "kube-zk-bridge.io/cluster",
  namespace: "k8s.namespace",
  kubeService: "k8s.service",
  pod: "k8s.pod",
  node: "k8s.node",
  zone: "k8s.zone",
  weight: "weight",
  ttl: "ttl",
  /** `port.<name>` carries every named port, so multi-port Services lose nothing. */
  portPrefix: "port.",
} as const;

/**
 * Identity of a node the bridge writes: one per (format, parent, instance). ServerSet members
 * carry no instance id (their name is a sequence number), so there the endpoint identifies them.
 */
export function registrationKey(
  r: Pick<DesiredRegistration, "format" | "parent" | "id" | "address" | "port">,
): string {
  return r.format === "serverset"
    ? `serverset|${r.parent}|${r.address}|${r.port}`
    : `curator|${r.parent}|${r.id}`;
}
