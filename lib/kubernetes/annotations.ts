/**
 * The `kube-zk-bridge.io/*` Service annotations (PRODUCT.md "Kubernetes side"), parsed and
 * checked. A bad value never drops a Service: that annotation is ignored and a problem is
 * reported, so the operator sees exactly what to fix.
 */
import { FORMATS, type Format } from "../registration.js";
import { ANNOTATION_PREFIX } from "./objects.js";

export const ANNOTATIONS = {
  register: `${ANNOTATION_PREFIX}register`,
  name: `${ANNOTATION_PREFIX}name`,
  format: `${ANNOTATION_PREFIX}format`,
  serversetPath: `${ANNOTATION_PREFIX}serverset-path`,
  port: `${ANNOTATION_PREFIX}port`,
  address: `${ANNOTATION_PREFIX}address`,
  ttl: `${ANNOTATION_PREFIX}ttl`,
  weight: `${ANNOTATION_PREFIX}weight`,
} as const;

const KNOWN = new Set<string>(Object.values(ANNOTATIONS));

export interface ServiceAnnotations {
  /** False only for `register: "false"`. */
  readonly register: boolean;
  readonly name?: string;
  readonly formats?: readonly Format[];
  readonly serversetPath?: string;
  /** Name of the primary port (checked against the Service's ports by the mapper). */
  readonly port?: string;
  readonly address: "pod" | "node";
  readonly ttlSeconds?: number;
  readonly weight?: number;
}

/** A ZooKeeper service name: one znode name, readable by Curator and Finagle clients and in DNS. */
const SERVICE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._@:+-]{0,254}$/;
const PATH_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._@:+-]{0,254}$/;

/** Why `name` cannot be a ZooKeeper service name, or undefined if it can. */
export function serviceNameProblem(name: string): string | undefined {
  if (!SERVICE_NAME.test(name)) {
    return "must be 1-255 characters of letters, digits and . _ @ : + -, not starting with . - @ : +";
  }
  return undefined;
}

/** Why `path` cannot be a znode path we create, or undefined if it can. */
export function znodePathProblem(path: string): string | undefined {
  if (!path.startsWith("/") || path === "/") return "must be an absolute znode path like /a/b";
  const segments = path.slice(1).split("/");
  if (segments.some((s) => !PATH_SEGMENT.test(s))) {
    return "each segment must be letters, digits and . _ @ : + - (no empty segments, no trailing /)";
  }
  return undefined;
}

/**
 * Seconds from `30`, `30s`, `2m`, `1h` or `1500ms` (whole seconds only); undefined if it is
 * none of these.
 */
export function parseTtlSeconds(value: string): number | undefined {
  const m = /^(\d{1,10})(ms|s|m|h)?$/.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  const seconds = unit === "ms" ? n / 1000 : unit === "m" ? n * 60 : unit === "h" ? n * 3600 : n;
  return Number.isInteger(seconds) && seconds <= 2_147_483_647 ? seconds : undefined;
}

export interface ParsedAnnotations {
  readonly value: ServiceAnnotations;
  /** One line per ignored annotation, e.g. `kube-zk-bridge.io/weight "x": must be …; ignored`. */
  readonly problems: readonly string[];
}

export function parseAnnotations(annotations: Readonly<Record<string, string>>): ParsedAnnotations {
  const problems: string[] = [];
  const bad = (key: string, why: string) => {
    problems.push(`${key} ${JSON.stringify(annotations[key])}: ${why}; ignored`);
  };
  const out: {
    register: boolean;
    name?: string;
    formats?: Format[];
    serversetPath?: string;
    port?: string;
    address: "pod" | "node";
    ttlSeconds?: number;
    weight?: number;
  } = { register: true, address: "pod" };

  for (const key of Object.keys(annotations).sort()) {
    if (key.startsWith(ANNOTATION_PREFIX) && !KNOWN.has(key)) {
      problems.push(`${key}: unknown annotation (known: ${[...KNOWN].join(", ")}); ignored`);
    }
  }

  const register = annotations[ANNOTATIONS.register];
  if (register !== undefined) {
    const v = register.trim().toLowerCase();
    if (v === "false") out.register = false;
    else if (v !== "true") bad(ANNOTATIONS.register, 'must be "true" or "false"');
  }

  const name = annotations[ANNOTATIONS.name];
  if (name !== undefined) {
    const why = serviceNameProblem(name);
    if (why) bad(ANNOTATIONS.name, why);
    else out.name = name;
  }

  const format = annotations[ANNOTATIONS.format];
  if (format !== undefined) {
    const parts = format.split(",").map((f) => f.trim().toLowerCase());
    const unknown = parts.filter((p) => !(FORMATS as readonly string[]).includes(p));
    if (unknown.length > 0 || parts.length === 0) {
      bad(ANNOTATIONS.format, `must be a comma list of ${FORMATS.join(", ")}`);
    } else {
      out.formats = FORMATS.filter((f) => parts.includes(f));
    }
  }

  const serversetPath = annotations[ANNOTATIONS.serversetPath];
  if (serversetPath !== undefined) {
    const why = znodePathProblem(serversetPath);
    if (why) bad(ANNOTATIONS.serversetPath, why);
    else out.serversetPath = serversetPath;
  }

  const port = annotations[ANNOTATIONS.port];
  if (port !== undefined) {
    if (port === "") bad(ANNOTATIONS.port, "must name a port of the Service");
    else out.port = port;
  }

  const address = annotations[ANNOTATIONS.address];
  if (address !== undefined) {
    const v = address.trim().toLowerCase();
    if (v === "pod" || v === "node") out.address = v;
    else bad(ANNOTATIONS.address, 'must be "pod" or "node"');
  }

  const ttl = annotations[ANNOTATIONS.ttl];
  if (ttl !== undefined) {
    const seconds = parseTtlSeconds(ttl);
    if (seconds === undefined) bad(ANNOTATIONS.ttl, "must be whole seconds, e.g. 30, 30s, 5m");
    else out.ttlSeconds = seconds;
  }

  const weight = annotations[ANNOTATIONS.weight];
  if (weight !== undefined) {
    const n = /^\d{1,5}$/.test(weight.trim()) ? Number(weight.trim()) : Number.NaN;
    if (!(n >= 0 && n <= 65535)) bad(ANNOTATIONS.weight, "must be an integer 0-65535");
    else out.weight = n;
  }

  return { value: out, problems };
}
