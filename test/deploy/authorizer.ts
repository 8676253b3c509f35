/**
 * An RBAC-enforcing HTTP proxy in front of the fake apiserver: every request is turned into
 * the attributes kube-apiserver authorises (verb, API group, resource, subresource, namespace,
 * name: k8s.io/apiserver/pkg/endpoints/request/requestinfo.go), recorded, and checked against
 * PolicyRules as the RBAC authorizer does (k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac,
 * `RuleAllows`). A denied request gets the apiserver's 403 Forbidden Status; an allowed one is
 * streamed to the upstream unchanged (watches included).
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { IPolicyRule } from "kubernetes-models/rbac.authorization.k8s.io/v1/PolicyRule";

export interface ResourceAttributes {
  readonly verb: string;
  /** "" for the core group. */
  readonly apiGroup: string;
  readonly resource: string;
  readonly subresource: string;
  /** "" for cluster scope. */
  readonly namespace: string;
  readonly name: string;
}

export type RequestAttributes =
  | ({ readonly kind: "resource" } & ResourceAttributes)
  | { readonly kind: "nonResource"; readonly verb: string; readonly path: string };

const VERB_OF_METHOD: Readonly<Record<string, string>> = {
  POST: "create",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete",
};

/** The RBAC attributes of one request, as kube-apiserver derives them. */
export function requestAttributes(method: string, url: URL): RequestAttributes {
  const parts = url.pathname.split("/").filter(Boolean);
  const get = method === "GET" || method === "HEAD";
  let group: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 2) {
    group = "";
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 3) {
    group = parts[1] as string;
    rest = parts.slice(3);
  } else {
    return {
      kind: "nonResource",
      verb: get ? "get" : (VERB_OF_METHOD[method] ?? method.toLowerCase()),
      path: url.pathname,
    };
  }
  let verb = get ? "" : (VERB_OF_METHOD[method] ?? method.toLowerCase());
  if (rest[0] === "watch") {
    verb = "watch"; // the deprecated /watch/ path prefix
    rest = rest.slice(1);
  }
  let namespace = "";
  // `/namespaces/{ns}` is the Namespace object itself; `/namespaces/{ns}/{resource}…` scopes.
  if (rest[0] === "namespaces" && rest.length > 2) {
    namespace = rest[1] as string;
    rest = rest.slice(2);
  }
  const [resource = "", name = "", subresource = ""] = rest;
  let objectName = name;
  if (!objectName) {
    // A list or watch narrowed to one name is authorised as that name.
    const field = /(?:^|,)metadata\.name==?([^,]+)/.exec(
      url.searchParams.get("fieldSelector") ?? "",
    );
    if (field) objectName = field[1] as string;
  }
  if (get) {
    const watchParam = url.searchParams.get("watch");
    if (verb !== "watch")
      verb = watchParam === "true" || watchParam === "1" ? "watch" : name ? "get" : "list";
  } else if (method === "DELETE" && !name) {
    verb = "deletecollection";
  }
  return {
    kind: "resource",
    verb,
    apiGroup: group,
    resource,
    subresource,
    namespace,
    name: objectName,
  };
}

const has = (list: readonly string[] | undefined, v: string) =>
  !!list && (list.includes("*") || list.includes(v));

/** RBAC's `RuleAllows` for one rule. */
export function ruleAllows(rule: IPolicyRule, a: RequestAttributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (a.kind === "nonResource") {
    return !!rule.nonResourceURLs?.some(
      (u) => u === a.path || (u.endsWith("*") && a.path.startsWith(u.slice(0, -1))),
    );
  }
  if (!has(rule.apiGroups, a.apiGroup)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resources = rule.resources ?? [];
  const resourceOk =
    resources.includes("*") ||
    resources.includes(combined) ||
    (a.subresource !== "" && resources.includes(`*/${a.subresource}`));
  if (!resourceOk) return false;
  return !rule.resourceNames?.length || rule.resourceNames.includes(a.name);
}

export interface AuthorizedRequest {
  readonly attributes: RequestAttributes;
  readonly allowed: boolean;
}

export interface AuthorizingProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Every request so far, in order. */
  readonly requests: readonly AuthorizedRequest[];
  close(): Promise<void>;
}

/** Starts the proxy on 127.0.0.1 in front of `upstream`, allowing what `rules` allow to `user`. */
export async function startAuthorizingProxy(
  upstream: string,
  rules: readonly IPolicyRule[],
  user: string,
): Promise<AuthorizingProxy> {
  const requests: AuthorizedRequest[] = [];
  const target = new URL(upstream);
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://proxy");
    const attributes = requestAttributes(req.method ?? "GET", url);
    const allowed = rules.some((r) => ruleAllows(r, attributes));
    requests.push({ attributes, allowed });
    if (!allowed) {
      forbid(res, attributes, user);
      return;
    }
    const up = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    // A client that goes away (an aborted watch) ends the upstream request too.
    res.on("close", () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** kube-apiserver's answer to an unauthorised request (`responsewriters.Forbidden`). */
function forbid(res: ServerResponse, a: RequestAttributes, user: string): void {
  const message =
    a.kind === "nonResource"
      ? `forbidden: User "${user}" cannot ${a.verb} path "${a.path}"`
      : `${a.resource}${a.name ? ` "${a.name}"` : ""} is forbidden: User "${user}" cannot ${a.verb} resource "${a.resource}" in API group "${a.apiGroup}" ${a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope"}`;
  const body = JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason: "Forbidden",
    details: a.kind === "resource" ? { name: a.name, group: a.apiGroup, kind: a.resource } : {},
    code: 403,
  });
  res.writeHead(403, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}
