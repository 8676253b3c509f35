/**
 * The rendered manifests, as a cluster would receive them: `kubectl kustomize` (kustomize v5,
 * built into kubectl) renders a kustomization, `yaml` parses the stream, and every object is
 * checked against the Kubernetes OpenAPI schemas by two maintained libraries:
 * - kubernetes-models (tommy351): types, required fields, enums, formats, per kind;
 * - @kubernetes/client-node's generated models: unknown fields (a misspelt key that the API
 *   server would silently drop, e.g. `readOnlyRootFileSystem`), like `kubectl --validate=strict`.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as clientNode from "@kubernetes/client-node";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import { parseAllDocuments } from "yaml";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));

export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly [field: string]: unknown;
}

const rendered = new Map<string, K8sObject[]>();

/** The objects `kubectl kustomize <dir>` renders (dir relative to the repository root). */
export function render(dir: string): K8sObject[] {
  const cached = rendered.get(dir);
  if (cached) return cached;
  let out: string;
  try {
    out = execFileSync("kubectl", ["kustomize", path.join(REPO, dir)], {
      encoding: "utf8",
      timeout: 60_000,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") {
      throw new Error(
        "kubectl not found: the manifests are rendered with `kubectl kustomize` (kustomize v5); install kubectl >= 1.27",
      );
    }
    throw new Error(`kubectl kustomize ${dir} failed: ${e.stderr?.trim() || e.message}`);
  }
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(out)) {
    if (doc.errors.length > 0) throw new Error(`${dir}: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    objects.push(value as K8sObject);
  }
  rendered.set(dir, objects);
  return objects;
}

/** The one object of `kind` (and `name`, if given); throws naming what is missing or ambiguous. */
export function one<T = K8sObject>(objects: readonly K8sObject[], kind: string, name?: string): T {
  const found = objects.filter(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
  }
  return found[0] as T;
}

/** All objects of `kind`. */
export function all<T = K8sObject>(objects: readonly K8sObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

/** `kind/name` for messages. */
export function ref(o: K8sObject): string {
  return `${o.kind}/${o.metadata.name}`;
}

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: unknown) => Validatable;

/**
 * Schema errors of one object ("" when valid): kubernetes-models' JSON-schema validation,
 * then fields that the Kubernetes API does not define.
 */
export async function schemaErrors(obj: K8sObject): Promise<string> {
  let mod: Record<string, unknown>;
  const models = `kubernetes-models/${obj.apiVersion}`;
  try {
    mod = (await import(/* @vite-ignore */ models)) as Record<string, unknown>;
  } catch {
    return `no schema for apiVersion ${obj.apiVersion}`;
  }
  const Model = mod[obj.kind] as ModelClass | undefined;
  if (typeof Model !== "function") return `no schema for ${obj.apiVersion} ${obj.kind}`;
  try {
    new Model(obj).validate();
  } catch (err) {
    return (err as Error).message;
  }
  const unknown: string[] = [];
  unknownFields(obj, clientNodeType(obj.apiVersion, obj.kind), "", unknown);
  return unknown.length > 0 ? `fields the API does not define: ${unknown.join(", ")}` : "";
}

interface AttributeType {
  readonly baseName: string;
  readonly type: string;
}
interface GeneratedModel {
  getAttributeTypeMap(): readonly AttributeType[];
}

/** client-node's model name: `apps/v1` `Deployment` → `V1Deployment`. */
function clientNodeType(apiVersion: string, kind: string): string {
  const version = apiVersion.split("/").pop() ?? apiVersion;
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

const ARRAY = /^Array<(.+)>$/;
const MAP = /^\{ \[key: string\]: (.+); \}$/;

/** Walks `value` along client-node's generated type map, collecting keys no model defines. */
function unknownFields(value: unknown, type: string, at: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const array = ARRAY.exec(type);
  if (array) {
    if (!Array.isArray(value)) return;
    for (const [i, v] of value.entries()) unknownFields(v, array[1] as string, `${at}[${i}]`, out);
    return;
  }
  const map = MAP.exec(type);
  if (map) {
    if (typeof value === "object") {
      for (const [k, v] of Object.entries(value))
        unknownFields(v, map[1] as string, `${at}.${k}`, out);
    }
    return;
  }
  const model = (clientNode as unknown as Record<string, Partial<GeneratedModel> | undefined>)[
    type
  ];
  // Primitives, IntOrString, Date, free-form: nothing to walk (types are the schema's job).
  if (typeof model?.getAttributeTypeMap !== "function") return;
  if (typeof value !== "object" || Array.isArray(value)) return;
  const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    const t = fields.get(k);
    if (t === undefined) out.push(`${at}.${k}`.replace(/^\./, ""));
    else unknownFields(v, t, `${at}.${k}`, out);
  }
}

/** Rendered kustomizations the tests check, relative to the repository root. */
export const VARIANTS = {
  /** The bridge alone (manifests/base). */
  base: "manifests/base",
  /** The complete installation: base + components/zookeeper (manifests/). */
  complete: "manifests",
  /** base + components/legacy-endpoints. */
  legacyEndpoints: "test/deploy/overlays/legacy-endpoints",
  /** The complete installation moved to another namespace by a user's overlay. */
  otherNamespace: "test/deploy/overlays/other-namespace",
} as const;

export const BRIDGE = "kube-zk-bridge";

export interface BridgeCommandLine {
  /** The container's args (the image's ENTRYPOINT runs the CLI with them). */
  readonly args: readonly string[];
  /** KZB_* variables with literal values: the ConfigMap behind envFrom, then `env` values. */
  readonly env: Readonly<Record<string, string>>;
  /** Every KZB_* name the container may get, including those from Secrets. */
  readonly envNames: readonly string[];
}

/** What the bridge container runs with: args, and the environment from its ConfigMap and `env`. */
export function bridgeCommandLine(objects: readonly K8sObject[]): BridgeCommandLine {
  const deployment = one<IDeployment>(objects, "Deployment", BRIDGE);
  const container = deployment.spec?.template.spec?.containers.find((c) => c.name === BRIDGE);
  if (!container) throw new Error(`Deployment ${BRIDGE} has no container ${BRIDGE}`);
  const env: Record<string, string> = {};
  const envNames: string[] = [];
  for (const from of container.envFrom ?? []) {
    const name = from.configMapRef?.name;
    if (!name) throw new Error("envFrom without a configMapRef");
    const data = one<IConfigMap>(objects, "ConfigMap", name).data ?? {};
    for (const [k, v] of Object.entries(data)) {
      env[k] = v;
      envNames.push(k);
    }
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    envNames.push(e.name);
  }
  const kzb = (n: string) => n.startsWith("KZB_");
  return {
    args: container.args ?? [],
    env: Object.fromEntries(Object.entries(env).filter(([k]) => kzb(k))),
    envNames: envNames.filter(kzb),
  };
}
