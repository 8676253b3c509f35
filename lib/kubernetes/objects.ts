/**
 * Slim objects: the few fields of Services, EndpointSlices, Endpoints and Nodes that mapping
 * needs, cut from the raw API JSON at the cache boundary (CoreDNS `object/endpoint.go`), so
 * later stages never see API objects and memory stays bounded. Raw input is untrusted JSON:
 * a malformed object throws `MalformedObjectError` (the caller skips it and says so); an
 * unusable but valid one (an FQDN slice) yields no endpoints.
 */
import { isIP } from "node:net";

/** Annotations the bridge reads all start with this; other annotations are dropped. */
export const ANNOTATION_PREFIX = "kube-zk-bridge.io/";

export interface SlimServicePort {
  /** "" for the unnamed port of a single-port Service. */
  readonly name: string;
  readonly port: number;
  readonly targetPort?: number | string;
  readonly nodePort?: number;
  readonly protocol: string;
}

export interface SlimService {
  readonly namespace: string;
  readonly name: string;
  /** Only `kube-zk-bridge.io/*` annotations. */
  readonly annotations: Readonly<Record<string, string>>;
  /** In spec order. */
  readonly ports: readonly SlimServicePort[];
  readonly type: string;
  /** `spec.ipFamilies`, e.g. ["IPv4", "IPv6"] for a dual-stack Service. */
  readonly ipFamilies: readonly string[];
}

export interface SlimEndpoint {
  /** `addresses[0]` (all addresses of one endpoint are fungible). */
  readonly address: string;
  readonly family: 4 | 6;
  /** Absent conditions stay absent: "unknown" is read as ready. */
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
  readonly targetRef?: { readonly kind: string; readonly name: string };
  readonly nodeName?: string;
  readonly zone?: string;
}

export interface SlimEndpointPort {
  /** "" for an unnamed port. */
  readonly name: string;
  /** The endpoint (target) port number. */
  readonly port: number;
  readonly protocol: string;
}

/** Endpoints that share one port list: an EndpointSlice, or one subset of a core/v1 Endpoints. */
export interface SlimEndpointGroup {
  readonly ports: readonly SlimEndpointPort[];
  readonly endpoints: readonly SlimEndpoint[];
}

/** An EndpointSlice (one group) or a core/v1 Endpoints object (a group per subset). */
export interface SlimEndpoints {
  readonly namespace: string;
  /** The slice's or Endpoints object's own name. */
  readonly name: string;
  /** The Service it belongs to (`kubernetes.io/service-name`, or the Endpoints' name). */
  readonly service: string;
  readonly groups: readonly SlimEndpointGroup[];
}

export interface SlimNode {
  readonly name: string;
  /** First InternalIP of each family. */
  readonly internalIPv4?: string;
  readonly internalIPv6?: string;
}

export class MalformedObjectError extends Error {
  override name = "MalformedObjectError";
}

type Json = Record<string, unknown>;

function record(v: unknown): Json | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}
function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}
function bool(v: unknown): boolean | undefined {
  return typeof v === "boolean" ? v : undefined;
}
function portNumber(v: unknown): number | undefined {
  return typeof v === "number" && Number.isInteger(v) && v > 0 && v < 65536 ? v : undefined;
}

/** namespace/name of a raw object; throws if it has none (every stored object has them). */
export function objectKey(raw: unknown, namespaced = true): { namespace: string; name: string } {
  const meta = record(record(raw)?.metadata);
  const name = str(meta?.name);
  const namespace = namespaced ? str(meta?.namespace) : "";
  if (!name || namespace === undefined) {
    throw new MalformedObjectError(`object without metadata.name${namespaced ? "/namespace" : ""}`);
  }
  return { namespace, name };
}

export function slimService(raw: unknown): SlimService {
  const { namespace, name } = objectKey(raw);
  const obj = record(raw) ?? {};
  const spec = record(obj.spec) ?? {};
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(record(record(obj.metadata)?.annotations) ?? {})) {
    if (k.startsWith(ANNOTATION_PREFIX) && typeof v === "string") annotations[k] = v;
  }
  const ports: SlimServicePort[] = [];
  for (const p of list(spec.ports)) {
    const port = record(p);
    const number = portNumber(port?.port);
    if (!port || number === undefined) continue;
    const target = port.targetPort;
    const nodePort = portNumber(port.nodePort);
    ports.push({
      name: str(port.name) ?? "",
      port: number,
      ...(typeof target === "number" || typeof target === "string" ? { targetPort: target } : {}),
      ...(nodePort === undefined ? {} : { nodePort }),
      protocol: str(port.protocol) ?? "TCP",
    });
  }
  return {
    namespace,
    name,
    annotations,
    ports,
    type: str(spec.type) ?? "ClusterIP",
    ipFamilies: list(spec.ipFamilies).filter((f): f is string => typeof f === "string"),
  };
}

function slimPorts(raw: unknown): SlimEndpointPort[] {
  const ports: SlimEndpointPort[] = [];
  for (const p of list(raw)) {
    const port = record(p);
    const number = portNumber(port?.port);
    if (!port || number === undefined) continue;
    ports.push({ name: str(port.name) ?? "", port: number, protocol: str(port.protocol) ?? "TCP" });
  }
  return ports;
}

function family(address: string): 4 | 6 | undefined {
  const f = isIP(address);
  return f === 4 || f === 6 ? f : undefined;
}

function targetRef(raw: unknown): SlimEndpoint["targetRef"] {
  const ref = record(raw);
  const kind = str(ref?.kind);
  const name = str(ref?.name);
  return kind && name ? { kind, name } : undefined;
}

export function slimEndpointSlice(raw: unknown): SlimEndpoints {
  const { namespace, name } = objectKey(raw);
  const obj = record(raw) ?? {};
  const service = str(record(record(obj.metadata)?.labels)?.["kubernetes.io/service-name"]) ?? "";
  const addressType = str(obj.addressType);
  if (addressType !== "IPv4" && addressType !== "IPv6") {
    // FQDN slices (and unknown future types) name no IP to register.
    return { namespace, name, service, groups: [] };
  }
  const endpoints: SlimEndpoint[] = [];
  for (const e of list(obj.endpoints)) {
    const ep = record(e);
    const address = str(list(ep?.addresses)[0]);
    const fam = address === undefined ? undefined : family(address);
    if (!ep || address === undefined || fam === undefined) continue;
    const cond = record(ep.conditions) ?? {};
    const ready = bool(cond.ready);
    const serving = bool(cond.serving);
    const terminating = bool(cond.terminating);
    const ref = targetRef(ep.targetRef);
    const nodeName = str(ep.nodeName);
    const zone = str(ep.zone);
    endpoints.push({
      address,
      family: fam,
      ...(ready === undefined ? {} : { ready }),
      ...(serving === undefined ? {} : { serving }),
      ...(terminating === undefined ? {} : { terminating }),
      ...(ref ? { targetRef: ref } : {}),
      ...(nodeName ? { nodeName } : {}),
      ...(zone ? { zone } : {}),
    });
  }
  return { namespace, name, service, groups: [{ ports: slimPorts(obj.ports), endpoints }] };
}

/** core/v1 Endpoints: `addresses` are ready, `notReadyAddresses` are not (so not registered). */
export function slimEndpoints(raw: unknown): SlimEndpoints {
  const { namespace, name } = objectKey(raw);
  const obj = record(raw) ?? {};
  const groups: SlimEndpointGroup[] = [];
  for (const s of list(obj.subsets)) {
    const subset = record(s);
    if (!subset) continue;
    const endpoints: SlimEndpoint[] = [];
    for (const [field, ready] of [
      ["addresses", true],
      ["notReadyAddresses", false],
    ] as const) {
      for (const a of list(subset[field])) {
        const addr = record(a);
        const ip = str(addr?.ip);
        const fam = ip === undefined ? undefined : family(ip);
        if (!addr || ip === undefined || fam === undefined) continue;
        const ref = targetRef(addr.targetRef);
        const nodeName = str(addr.nodeName);
        endpoints.push({
          address: ip,
          family: fam,
          ready,
          ...(ref ? { targetRef: ref } : {}),
          ...(nodeName ? { nodeName } : {}),
        });
      }
    }
    groups.push({ ports: slimPorts(subset.ports), endpoints });
  }
  return { namespace, name, service: name, groups };
}

export function slimNode(raw: unknown): SlimNode {
  const { name } = objectKey(raw, false);
  let internalIPv4: string | undefined;
  let internalIPv6: string | undefined;
  for (const a of list(record(record(raw)?.status)?.addresses)) {
    const addr = record(a);
    const ip = str(addr?.address);
    if (str(addr?.type) !== "InternalIP" || ip === undefined) continue;
    const fam = family(ip);
    if (fam === 4) internalIPv4 ??= ip;
    if (fam === 6) internalIPv6 ??= ip;
  }
  return {
    name,
    ...(internalIPv4 ? { internalIPv4 } : {}),
    ...(internalIPv6 ? { internalIPv6 } : {}),
  };
}

/** Endpoints counted in a slim object (for progress reports). */
export function endpointCount(e: SlimEndpoints): number {
  let n = 0;
  for (const g of e.groups) n += g.endpoints.length;
  return n;
}
