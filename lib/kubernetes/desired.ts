/**
 * The pure mapping from slim Kubernetes objects to the whole desired ZooKeeper state
 * (PRODUCT.md "Kubernetes side"). No I/O, no clock: same input, same output, in a stable order.
 */
import { compareStrings, sortByKey } from "../formats/json.js";
import { type DesiredRegistration, type Format, META, registrationKey } from "../registration.js";
import {
  ANNOTATIONS,
  parseAnnotations,
  type ServiceAnnotations,
  serviceNameProblem,
} from "./annotations.js";
import type {
  SlimEndpoint,
  SlimEndpoints,
  SlimNode,
  SlimService,
  SlimServicePort,
} from "./objects.js";

export interface DesiredOptions {
  /** Written into every registration's metadata (`META.cluster`): the ownership marker. */
  readonly clusterName: string;
  /** ZooKeeper service name unless annotated; `{service}`, `{namespace}`, `{cluster}`. */
  readonly serviceNameTemplate: string;
  /** Formats of Services without a `format` annotation. */
  readonly defaultFormats: readonly Format[];
  /** Root of the curator tree, e.g. `/services`. */
  readonly basePath: string;
  /** Root of the serverset tree, e.g. `/serversets`. */
  readonly serversetBasePath: string;
}

export interface DesiredInput {
  readonly services: Iterable<SlimService>;
  /** EndpointSlices, or core/v1 Endpoints, slimmed. */
  readonly endpoints: Iterable<SlimEndpoints>;
  readonly nodes: Iterable<SlimNode>;
}

/** Something about one Service the operator should fix; the rest of the Service is still bridged. */
export interface MappingWarning {
  readonly namespace: string;
  readonly service: string;
  readonly message: string;
}

export interface DesiredResult {
  /** Sorted by `registrationKey`. */
  readonly registrations: DesiredRegistration[];
  /** Per Service, in Service order; the caller logs each once. */
  readonly warnings: MappingWarning[];
}

const PLACEHOLDER = /\{([^{}]*)\}/g;
const PLACEHOLDERS = new Set(["service", "namespace", "cluster"]);

/** Why a service name template is unusable, or undefined if it is fine. */
export function templateProblem(template: string): string | undefined {
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (!PLACEHOLDERS.has(m[1] ?? "")) {
      return `unknown placeholder {${m[1]}} (known: {service}, {namespace}, {cluster})`;
    }
  }
  const sample = renderTemplate(template, "svc", "ns", "cluster");
  const why = serviceNameProblem(sample);
  return why ? `renders names like ${JSON.stringify(sample)}, which ${why}` : undefined;
}

export function renderTemplate(
  template: string,
  service: string,
  namespace: string,
  cluster: string,
): string {
  return template.replace(PLACEHOLDER, (whole, key: string) =>
    key === "service"
      ? service
      : key === "namespace"
        ? namespace
        : key === "cluster"
          ? cluster
          : whole,
  );
}

function child(parent: string, name: string): string {
  return parent.endsWith("/") ? `${parent}${name}` : `${parent}/${name}`;
}

function isUnder(path: string, root: string): boolean {
  const r = root.endsWith("/") ? root.slice(0, -1) : root;
  return path === r || path.startsWith(`${r}/`);
}

type State = "up" | "draining";

/** Ready or unknown → up; terminating but still serving → draining; anything else → not registered. */
export function endpointState(e: SlimEndpoint): State | undefined {
  if (e.ready !== false) return "up";
  if (e.serving === true && e.terminating === true) return "draining";
  return undefined;
}

interface Candidate {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly ports: Record<string, number>;
  readonly endpoint: SlimEndpoint;
  readonly state: State;
}

/** Everything the endpoints of one Service need to become registrations. */
interface ServicePlan {
  readonly svc: SlimService;
  readonly ann: ServiceAnnotations;
  readonly primary: SlimServicePort;
  readonly warn: (message: string) => void;
}

export function desiredRegistrations(input: DesiredInput, options: DesiredOptions): DesiredResult {
  const endpointsByService = new Map<string, SlimEndpoints[]>();
  for (const e of input.endpoints) {
    const key = `${e.namespace}/${e.service}`;
    const group = endpointsByService.get(key);
    if (group) group.push(e);
    else endpointsByService.set(key, [e]);
  }
  const nodes = new Map<string, SlimNode>();
  for (const n of input.nodes) nodes.set(n.name, n);

  const services = [...input.services].sort((a, b) =>
    a.namespace === b.namespace
      ? compareStrings(a.name, b.name)
      : compareStrings(a.namespace, b.namespace),
  );
  const registrations: DesiredRegistration[] = [];
  const warnings: MappingWarning[] = [];
  for (const svc of services) {
    const one = serviceRegistrations(
      svc,
      endpointsByService.get(`${svc.namespace}/${svc.name}`) ?? [],
      nodes,
      options,
    );
    registrations.push(...one.registrations);
    warnings.push(...one.warnings);
  }
  const keyed = registrations.map((r) => [registrationKey(r), r] as const);
  keyed.sort((a, b) => compareStrings(a[0], b[0]));
  return { registrations: keyed.map(([, r]) => r), warnings };
}

/**
 * The registrations of one Service, from its EndpointSlices (or Endpoints) and, for node
 * addresses, the Nodes. The same inputs give the same output, so callers can memoize per
 * Service and remap only the Services that changed.
 */
export function serviceRegistrations(
  svc: SlimService,
  endpoints: readonly SlimEndpoints[],
  nodes: ReadonlyMap<string, SlimNode>,
  options: DesiredOptions,
): DesiredResult {
  const registrations: DesiredRegistration[] = [];
  const warnings: MappingWarning[] = [];
  const done = (): DesiredResult => {
    const keyed = sortByKey(
      registrations.map((r) => [registrationKey(r), r] as const),
      ([k]) => k,
    );
    return { registrations: keyed.map(([, r]) => r), warnings };
  };
  const seen = new Set<string>();
  const warn = (message: string) => {
    if (seen.has(message)) return;
    seen.add(message);
    warnings.push({ namespace: svc.namespace, service: svc.name, message });
  };
  const parsed = parseAnnotations(svc.annotations);
  for (const p of parsed.problems) warn(p);
  const ann = parsed.value;
  if (!ann.register) return done();

  let name = ann.name;
  if (name === undefined) {
    name = renderTemplate(
      options.serviceNameTemplate,
      svc.name,
      svc.namespace,
      options.clusterName,
    );
    const why = serviceNameProblem(name);
    if (why) {
      warn(`service name ${JSON.stringify(name)} from the template ${why}; Service not bridged`);
      return done();
    }
  }

  const formats = ann.formats ?? options.defaultFormats;
  const parents = new Map<Format, string>();
  for (const format of formats) {
    if (format === "curator") {
      parents.set(format, child(options.basePath, name));
    } else if (ann.serversetPath !== undefined && isUnder(ann.serversetPath, options.basePath)) {
      warn(
        `kube-zk-bridge.io/serverset-path ${JSON.stringify(ann.serversetPath)} is inside the curator tree ${options.basePath}; using ${child(options.serversetBasePath, name)}`,
      );
      parents.set(format, child(options.serversetBasePath, name));
    } else {
      parents.set(format, ann.serversetPath ?? child(options.serversetBasePath, name));
    }
  }
  if (ann.serversetPath !== undefined && !parents.has("serverset")) {
    warn(
      "kube-zk-bridge.io/serverset-path is set but the Service is not published as serverset; ignored",
    );
  }

  if (svc.ports.length === 0) {
    if (endpoints.length > 0) warn("the Service has no ports; not bridged");
    return done();
  }
  let primary = svc.ports[0] as SlimServicePort;
  if (ann.port !== undefined) {
    const named = svc.ports.find((p) => p.name === ann.port);
    if (named) primary = named;
    else {
      warn(
        `kube-zk-bridge.io/port ${JSON.stringify(ann.port)}: the Service has no port of that name (it has ${svc.ports.map((p) => JSON.stringify(p.name)).join(", ")}); using ${JSON.stringify(primary.name)}`,
      );
    }
  }
  if (ann.address === "node" && primary.nodePort === undefined) {
    warn(
      'kube-zk-bridge.io/address "node" needs a NodePort, and the primary port has none; not bridged',
    );
    return done();
  }

  const candidates = collect({ svc, ann, primary, warn }, [...endpoints], nodes);
  for (const c of candidates.values()) {
    const metadata: Record<string, string> = {
      [META.cluster]: options.clusterName,
      [META.namespace]: svc.namespace,
      [META.kubeService]: svc.name,
    };
    if (c.endpoint.targetRef?.kind === "Pod") metadata[META.pod] = c.endpoint.targetRef.name;
    if (c.endpoint.nodeName) metadata[META.node] = c.endpoint.nodeName;
    if (c.endpoint.zone) metadata[META.zone] = c.endpoint.zone;
    metadata[META.status] = c.state === "up" ? "UP" : "OUT_OF_SERVICE";
    for (const [portName, number] of Object.entries(c.ports))
      metadata[`${META.portPrefix}${portName}`] = String(number);
    if (ann.ttlSeconds !== undefined) metadata[META.ttl] = String(ann.ttlSeconds);
    if (ann.weight !== undefined) metadata[META.weight] = String(ann.weight);
    for (const [format, parent] of parents) {
      registrations.push({
        format,
        parent,
        service: name,
        id: c.id,
        address: c.address,
        port: c.port,
        ports: { ...c.ports },
        metadata: { ...metadata },
        draining: c.state === "draining",
        ...(ann.weight === undefined ? {} : { weight: ann.weight }),
      });
    }
  }
  return done();
}

/** True when the Service's registrations depend on Node objects (`address: node`). */
export function usesNodes(svc: SlimService): boolean {
  return svc.annotations[ANNOTATIONS.address]?.trim().toLowerCase() === "node";
}

/** One candidate per instance id: the same endpoint in two slices counts once, ready winning. */
function collect(
  plan: ServicePlan,
  sources: SlimEndpoints[],
  nodes: ReadonlyMap<string, SlimNode>,
): Map<string, Candidate> {
  const { svc, ann, primary, warn } = plan;
  // Slice moves list an endpoint twice: visit slices in name order so the choice is stable.
  sources.sort((a, b) => compareStrings(a.name, b.name));
  const families = new Set<number>(svc.ipFamilies.map((f) => (f === "IPv6" ? 6 : 4)));
  for (const s of sources)
    for (const g of s.groups) for (const e of g.endpoints) families.add(e.family);
  const dualStack = families.has(4) && families.has(6);

  const out = new Map<string, Candidate>();
  for (const source of sources) {
    for (const group of source.groups) {
      let port: number | undefined;
      const ports: Record<string, number> = {};
      if (ann.address === "node") {
        port = primary.nodePort;
        for (const p of svc.ports)
          if (p.name && p.nodePort !== undefined) ports[p.name] = p.nodePort;
      } else {
        const byName = new Map(group.ports.map((p) => [p.name, p.port]));
        port = byName.get(primary.name);
        for (const p of svc.ports) {
          const n = p.name ? byName.get(p.name) : undefined;
          if (p.name && n !== undefined) ports[p.name] = n;
        }
      }
      if (port === undefined) {
        if (group.endpoints.length > 0) {
          warn(
            `endpoints without a port named ${JSON.stringify(primary.name)} (EndpointSlice or subset lagging the Service?) are skipped`,
          );
        }
        continue;
      }
      for (const e of group.endpoints) {
        const state = endpointState(e);
        if (!state) continue;
        let address = e.address;
        if (ann.address === "node") {
          const node = e.nodeName ? nodes.get(e.nodeName) : undefined;
          const ip = e.family === 6 ? node?.internalIPv6 : node?.internalIPv4;
          if (!ip) {
            warn(
              'kube-zk-bridge.io/address "node": endpoints on unknown nodes, or nodes without an InternalIP of their family, are skipped',
            );
            continue;
          }
          address = ip;
        }
        const base =
          e.targetRef?.kind === "Pod" ? e.targetRef.name : e.address.replace(/[.:]/g, "-");
        const id = dualStack && e.family === 6 ? `${base}-v6` : base;
        const existing = out.get(id);
        if (existing && !(existing.state === "draining" && state === "up")) continue;
        out.set(id, { id, address, port, ports, endpoint: e, state });
      }
    }
  }
  return out;
}
