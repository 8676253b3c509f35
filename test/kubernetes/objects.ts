/**
 * Builders of realistic Kubernetes objects (as the apiserver stores them) for the fake
 * apiserver, tests and benchmarks.
 */
import type { FakeObject } from "../support/fake-apiserver.js";

export interface PortSpec {
  name?: string;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
  protocol?: string;
}

export function service(
  namespace: string,
  name: string,
  opts: {
    ports?: PortSpec[];
    annotations?: Record<string, string>;
    type?: string;
    ipFamilies?: string[];
    selector?: Record<string, string> | null;
  } = {},
): FakeObject {
  const ports = opts.ports ?? [{ name: "http", port: 80, targetPort: 8080 }];
  return {
    kind: "Service",
    apiVersion: "v1",
    metadata: {
      name,
      namespace,
      annotations: opts.annotations ?? {},
      labels: { app: name },
    },
    spec: {
      type: opts.type ?? "ClusterIP",
      ...(opts.selector === null ? {} : { selector: opts.selector ?? { app: name } }),
      clusterIP: "10.96.0.10",
      ipFamilies: opts.ipFamilies ?? ["IPv4"],
      ports: ports.map((p) => ({
        ...(p.name === undefined ? {} : { name: p.name }),
        port: p.port,
        targetPort: p.targetPort ?? p.port,
        protocol: p.protocol ?? "TCP",
        ...(p.nodePort === undefined ? {} : { nodePort: p.nodePort }),
      })),
    },
  };
}

/**
 * A NodePort Service (http 80 → 8080 on `nodePort`) annotated `address: node`: the bridge
 * registers its pods at their Node's address and the node port.
 */
export function nodeAddressedService(
  namespace: string,
  name: string,
  nodePort: number,
): FakeObject {
  return service(namespace, name, {
    type: "NodePort",
    ports: [{ name: "http", port: 80, targetPort: 8080, nodePort }],
    annotations: { "kube-zk-bridge.io/address": "node" },
  });
}

export interface EndpointSpec {
  address: string;
  ready?: boolean | null;
  serving?: boolean | null;
  terminating?: boolean | null;
  pod?: string;
  node?: string;
  zone?: string;
}

export function slice(
  namespace: string,
  name: string,
  serviceName: string,
  opts: {
    addressType?: "IPv4" | "IPv6" | "FQDN";
    ports?: Array<{ name?: string; port: number; protocol?: string }>;
    endpoints?: EndpointSpec[];
  } = {},
): FakeObject {
  return {
    kind: "EndpointSlice",
    apiVersion: "discovery.k8s.io/v1",
    metadata: {
      name,
      namespace,
      labels: {
        "kubernetes.io/service-name": serviceName,
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
      },
      ownerReferences: [{ apiVersion: "v1", kind: "Service", name: serviceName, uid: "x" }],
    },
    addressType: opts.addressType ?? "IPv4",
    ports: (opts.ports ?? [{ name: "http", port: 8080 }]).map((p) => ({
      name: p.name ?? "",
      port: p.port,
      protocol: p.protocol ?? "TCP",
    })),
    endpoints: (opts.endpoints ?? []).map((e) => {
      const conditions: Record<string, boolean> = {};
      if (e.ready !== null) conditions.ready = e.ready ?? true;
      if (e.serving !== null) conditions.serving = e.serving ?? e.ready ?? true;
      if (e.terminating !== null) conditions.terminating = e.terminating ?? false;
      return {
        addresses: [e.address],
        conditions,
        ...(e.pod
          ? { targetRef: { kind: "Pod", namespace, name: e.pod, uid: `uid-${e.pod}` } }
          : {}),
        ...(e.node ? { nodeName: e.node } : {}),
        ...(e.zone ? { zone: e.zone } : {}),
      };
    }),
  };
}

export function endpoints(
  namespace: string,
  name: string,
  subsets: Array<{
    ports: Array<{ name?: string; port: number; protocol?: string }>;
    ready?: Array<{ ip: string; pod?: string; node?: string }>;
    notReady?: Array<{ ip: string; pod?: string; node?: string }>;
  }>,
): FakeObject {
  const addr = (a: { ip: string; pod?: string; node?: string }) => ({
    ip: a.ip,
    ...(a.pod ? { targetRef: { kind: "Pod", namespace, name: a.pod } } : {}),
    ...(a.node ? { nodeName: a.node } : {}),
  });
  return {
    kind: "Endpoints",
    apiVersion: "v1",
    metadata: { name, namespace, labels: { app: name } },
    subsets: subsets.map((s) => ({
      ...(s.ready?.length ? { addresses: s.ready.map(addr) } : {}),
      ...(s.notReady?.length ? { notReadyAddresses: s.notReady.map(addr) } : {}),
      ports: s.ports.map((p) => ({
        ...(p.name ? { name: p.name } : {}),
        port: p.port,
        protocol: p.protocol ?? "TCP",
      })),
    })),
  };
}

export function node(
  name: string,
  internalIPs: string[],
  extra: { hostname?: string } = {},
): FakeObject {
  return {
    kind: "Node",
    apiVersion: "v1",
    metadata: { name, labels: { "kubernetes.io/hostname": name } },
    spec: {},
    status: {
      addresses: [
        ...internalIPs.map((address) => ({ type: "InternalIP", address })),
        { type: "Hostname", address: extra.hostname ?? name },
      ],
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
}
