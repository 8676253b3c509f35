/**
 * The ClusterRole grants exactly what the code reads, derived from the code, not from a list
 * kept by hand:
 *
 * 1. Dynamic: the real KubernetesSource, configured from each rendered variant's own command
 *    line, runs against the fake apiserver behind an RBAC-enforcing proxy built from the rules
 *    the Deployment's ServiceAccount is bound to. Every request it makes must be allowed (no
 *    missing grant), and every grant must have been used by some request (no unused grant).
 *    The scenario makes every read happen: Services, endpoints of the configured API, and Nodes
 *    (a Service annotated `address: node`).
 * 2. Static, so a new read cannot hide in a path the scenario does not reach: every Kubernetes
 *    API path literal in lib/ and cmd/ must name a resource the scenarios read, and nothing
 *    may talk to the API server except through those paths (no client-node API classes).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import type { IClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import type { IPolicyRule } from "kubernetes-models/rbac.authorization.k8s.io/v1/PolicyRule";
import ts from "typescript";
import { afterEach, describe, expect, it } from "vitest";
import { type Config, parseCommandLine } from "../../lib/config.js";
import { KubernetesSource } from "../../lib/kubernetes/source.js";
import { silentLogger } from "../../lib/log.js";
import { endpoints, node, nodeAddressedService, slice } from "../kubernetes/objects.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { waitUntil } from "../support/wait.js";
import {
  type AuthorizingProxy,
  type RequestAttributes,
  requestAttributes,
  startAuthorizingProxy,
} from "./authorizer.js";
import {
  all,
  BRIDGE,
  bridgeCommandLine,
  type K8sObject,
  one,
  REPO,
  render,
  VARIANTS,
} from "./manifests.js";

/** The rules bound to the bridge Deployment's ServiceAccount, and that account's user name. */
function grantedRules(objects: readonly K8sObject[]): { rules: IPolicyRule[]; user: string } {
  const deployment = one<IDeployment>(objects, "Deployment", BRIDGE);
  const sa = deployment.spec?.template.spec?.serviceAccountName;
  const ns = deployment.metadata?.namespace;
  const bindings = all<IClusterRoleBinding>(objects, "ClusterRoleBinding").filter((b) =>
    b.subjects?.some((s) => s.kind === "ServiceAccount" && s.name === sa && s.namespace === ns),
  );
  expect(all(objects, "RoleBinding")).toEqual([]);
  const rules = bindings.flatMap(
    (b) => one<IClusterRole>(objects, "ClusterRole", b.roleRef.name).rules ?? [],
  );
  return { rules, user: `system:serviceaccount:${ns}:${sa}` };
}

/** `verb group/resource` for every combination a rule grants. */
function grants(rules: readonly IPolicyRule[]): string[] {
  return [
    ...new Set(
      rules.flatMap((r) =>
        (r.verbs ?? []).flatMap((v) =>
          (r.apiGroups ?? []).flatMap((g) => (r.resources ?? []).map((res) => `${v} ${g}/${res}`)),
        ),
      ),
    ),
  ].sort();
}

function key(a: RequestAttributes): string {
  return a.kind === "resource"
    ? `${a.verb} ${a.apiGroup}/${a.resource}${a.subresource ? `/${a.subresource}` : ""}`
    : `${a.verb} ${a.path}`;
}

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.close();
});

interface Scenario {
  readonly proxy: AuthorizingProxy;
  readonly source: KubernetesSource;
}

/** The real source, configured like the deployed process, reading a cluster that exercises every read. */
async function runSource(
  config: Config,
  rules: readonly IPolicyRule[],
  user: string,
): Promise<Scenario> {
  const fake = await FakeApiServer.start({ bookmarkIntervalMs: 100 });
  running.push(fake);
  fake.apply(nodeAddressedService("shop", "web", 30080));
  fake.apply(
    slice("shop", "web-abc", "web", {
      endpoints: [{ address: "10.0.0.5", pod: "web-1", node: "node-a" }],
    }),
  );
  fake.apply(
    endpoints("shop", "web", [
      {
        ports: [{ name: "http", port: 8080 }],
        ready: [{ ip: "10.0.0.5", pod: "web-1", node: "node-a" }],
      },
    ]),
  );
  fake.apply(node("node-a", ["192.168.1.10"]));

  const proxy = await startAuthorizingProxy(fake.url, rules, user);
  running.push(proxy);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "rbac", server: proxy.url, skipTLSVerify: true }],
    users: [{ name: user }],
    contexts: [{ name: "rbac", cluster: "rbac", user }],
    currentContext: "rbac",
  });
  // As lib/sync-side.ts builds it from the Config.
  const source = new KubernetesSource({
    kubeConfig,
    namespaces: config.namespaces,
    endpointsApi: config.endpointsApi,
    clusterName: config.clusterName,
    serviceNameTemplate: config.serviceNameTemplate,
    defaultFormats: config.formats,
    basePath: config.basePath,
    serversetBasePath: config.serversetBasePath,
    logger: silentLogger(),
    watchdogMs: 2000,
    backoff: { initialMs: 20, maxMs: 200 },
    coalesceMs: 5,
  });
  running.push({ close: () => source.stop() });
  await source.start();
  return { proxy, source };
}

/** Waits until every informer has listed and is watching: all reads have happened. */
async function untilEveryReadHappened({ proxy, source }: Scenario): Promise<void> {
  await waitUntil("the source synced, Nodes included, and watching every resource", () => {
    const p = source.progress();
    const watched = new Set(
      proxy.requests
        .filter((r) => r.attributes.verb === "watch")
        .map((r) => (r.attributes.kind === "resource" ? r.attributes.resource : "")),
    );
    return (
      p.synced &&
      p.informers.some((i) => i.resource === "nodes") &&
      p.informers.every((i) => watched.has(i.resource))
    );
  });
  // The node address proves the Node read fed the mapping, not just happened.
  expect(source.desired().map((r) => `${r.address}:${r.port}`)).toContain("192.168.1.10:30080");
}

describe.each(Object.entries(VARIANTS))("%s (%s)", (_variant, dir) => {
  const objects = render(dir);
  const line = bridgeCommandLine(objects);

  it.each([
    ["as deployed", (c: Config) => c],
    ["limited to one namespace", (c: Config) => ({ ...c, namespaces: ["shop"] })],
  ])(
    "grants every request the source makes, and nothing it does not make (%s)",
    async (_how, adjust) => {
      const { rules, user } = grantedRules(objects);
      const config = adjust(parseCommandLine(line.args, line.env).config);
      const scenario = await runSource(config, rules, user);
      await untilEveryReadHappened(scenario);

      const denied = scenario.proxy.requests
        .filter((r) => !r.allowed)
        .map((r) => key(r.attributes));
      expect(denied, "requests the ClusterRole does not allow").toEqual([]);
      const used = [...new Set(scenario.proxy.requests.map((r) => key(r.attributes)))].sort();
      expect(used, "what the source did vs what the ClusterRole grants").toEqual(grants(rules));
    },
  );

  it("grants only reads, named one by one (no wildcards, names or URLs)", () => {
    const { rules } = grantedRules(objects);
    for (const r of rules) {
      expect(
        r.verbs.every((v) => ["get", "list", "watch"].includes(v)),
        JSON.stringify(r),
      ).toBe(true);
      for (const list of [r.verbs, r.apiGroups ?? [], r.resources ?? []])
        expect(list).not.toContain("*");
      expect(r.resourceNames ?? []).toEqual([]);
      expect(r.nonResourceURLs ?? []).toEqual([]);
    }
  });
});

it("a missing grant is caught: the source is denied and never syncs (the check is not vacuous)", async () => {
  const objects = render(VARIANTS.base);
  const { rules, user } = grantedRules(objects);
  const withoutNodes = rules.filter((r) => !r.resources?.includes("nodes"));
  expect(withoutNodes.length).toBe(rules.length - 1);
  const line = bridgeCommandLine(objects);
  const scenario = await runSource(
    parseCommandLine(line.args, line.env).config,
    withoutNodes,
    user,
  );
  await waitUntil("a denied Nodes list", () =>
    scenario.proxy.requests.some((r) => !r.allowed && key(r.attributes) === "list /nodes"),
  );
  expect(scenario.source.synced()).toBe(false);
});

// ── static: the API paths in the code ──

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(REPO, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => path.join(dir, f));
}

const CODE = [...sourceFiles("lib"), ...sourceFiles("cmd")];

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(
    file,
    readFileSync(path.join(REPO, file), "utf8"),
    ts.ScriptTarget.Latest,
    true,
  );
}

/** A path literal with `${…}` parts: glued to text they are optional scope (`/api/v1${within}/x`), a whole segment is a name. */
function templateText(node: ts.TemplateExpression): string {
  let text = node.head.text;
  for (const span of node.templateSpans) {
    const wholeSegment =
      text.endsWith("/") && (span.literal.text === "" || span.literal.text.startsWith("/"));
    text += (wholeSegment ? "NAME" : "") + span.literal.text;
  }
  return text;
}

/** Every string or template literal in lib/ and cmd/ that is a Kubernetes API path. */
function apiPathLiterals(): Array<{ file: string; text: string }> {
  const found: Array<{ file: string; text: string }> = [];
  for (const file of CODE) {
    const sf = parse(file);
    const visit = (n: ts.Node): void => {
      let text: string | undefined;
      if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) text = n.text;
      else if (ts.isTemplateExpression(n)) text = templateText(n);
      if (text !== undefined && /^\/apis?\//.test(text)) found.push({ file, text });
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return found;
}

it("every Kubernetes API path in the code names a resource some variant grants (and so reads, as proven above)", () => {
  const paths = apiPathLiterals();
  expect(paths.length).toBeGreaterThan(0);
  const inCode = new Set<string>();
  for (const p of paths) {
    const a = requestAttributes("GET", new URL(p.text, "http://code"));
    expect(a.kind, `${p.file}: ${p.text}`).toBe("resource");
    if (a.kind === "resource") inCode.add(`${a.apiGroup}/${a.resource}`);
  }
  const granted = new Set(
    Object.values(VARIANTS).flatMap((dir) =>
      grants(grantedRules(render(dir)).rules).map((g) => g.slice(g.indexOf(" ") + 1)),
    ),
  );
  expect([...inCode].sort()).toEqual([...granted].sort());
});

it("nothing reaches the API server except through those paths: client-node is used for KubeConfig only", () => {
  const uses: string[] = [];
  for (const file of CODE) {
    const sf = parse(file);
    for (const st of sf.statements) {
      if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier)) continue;
      if (st.moduleSpecifier.text !== "@kubernetes/client-node") continue;
      const bindings = st.importClause?.namedBindings;
      const names =
        bindings && ts.isNamedImports(bindings)
          ? bindings.elements.map((e) => (e.propertyName ?? e.name).text)
          : ["(namespace or default import)"];
      for (const name of names) if (name !== "KubeConfig") uses.push(`${file}: ${name}`);
    }
  }
  expect(uses).toEqual([]);
});
