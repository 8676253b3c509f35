/**
 * The rendered manifests hold together as a cluster would need them: every reference resolves
 * (ServiceAccount, ConfigMaps, Services → pods and container ports, PDBs, bindings), in
 * whatever namespace an overlay puts them, and every pod is locked down and probed as issue 5
 * asks (non-root, read-only root filesystem, resources, probes, topology).
 */
import { readFileSync } from "node:fs";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IStatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodTemplateSpec } from "kubernetes-models/v1/PodTemplateSpec";
import type { IService } from "kubernetes-models/v1/Service";
import { describe, expect, it } from "vitest";
import { parseAnnotations } from "../../lib/kubernetes/annotations.js";
import {
  all,
  BRIDGE,
  bridgeCommandLine,
  type K8sObject,
  one,
  REPO,
  ref,
  render,
  VARIANTS,
} from "./manifests.js";

const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding"]);

interface Workload {
  readonly ref: string;
  readonly namespace: string;
  readonly template: IPodTemplateSpec;
}

function workloads(objects: readonly K8sObject[]): Workload[] {
  return [
    ...all<IDeployment>(objects, "Deployment"),
    ...all<IStatefulSet>(objects, "StatefulSet"),
  ].map((w) => {
    if (!w.spec?.template) throw new Error(`${w.kind}/${w.metadata?.name} has no pod template`);
    return {
      ref: `${w.kind}/${w.metadata?.name}`,
      namespace: w.metadata?.namespace ?? "",
      template: w.spec.template,
    };
  });
}

function containers(w: Workload): IContainer[] {
  return w.template.spec?.containers ?? [];
}

function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** The workloads in `namespace` whose pods carry every label of `selector`. */
function selected(
  objects: readonly K8sObject[],
  namespace: string,
  selector: Record<string, string> | undefined,
) {
  return workloads(objects).filter(
    (w) => w.namespace === namespace && selects(selector, w.template.metadata?.labels),
  );
}

function namespaceOf(objects: readonly K8sObject[]): string {
  return one(objects, "Namespace").metadata.name;
}

describe.each(Object.entries(VARIANTS))("%s (%s)", (_variant, dir) => {
  const objects = render(dir);
  const ns = () => namespaceOf(objects);

  it("puts every namespaced object in the one Namespace it creates", () => {
    const misplaced = objects
      .filter((o) =>
        CLUSTER_SCOPED.has(o.kind)
          ? o.metadata.namespace !== undefined
          : o.metadata.namespace !== ns(),
      )
      .map((o) => `${ref(o)} in ${o.metadata.namespace ?? "(none)"}`);
    expect(misplaced).toEqual([]);
  });

  it("resolves every reference from a pod template", () => {
    const missing: string[] = [];
    const has = (kind: string, name: string | undefined, namespace: string) =>
      objects.some(
        (o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace,
      );
    for (const w of workloads(objects)) {
      const spec = w.template.spec;
      const sa = spec?.serviceAccountName;
      if (sa && !has("ServiceAccount", sa, w.namespace))
        missing.push(`${w.ref}: ServiceAccount ${sa}`);
      for (const v of spec?.volumes ?? []) {
        if (v.configMap && !has("ConfigMap", v.configMap.name, w.namespace))
          missing.push(`${w.ref}: ConfigMap ${v.configMap.name}`);
      }
      for (const c of spec?.containers ?? []) {
        for (const from of c.envFrom ?? []) {
          const name = from.configMapRef?.name;
          if (!has("ConfigMap", name, w.namespace))
            missing.push(`${w.ref}: envFrom ConfigMap ${name}`);
        }
        for (const e of c.env ?? []) {
          // A Secret the operator creates must be optional, or the pod would not start without it.
          if (e.valueFrom?.secretKeyRef && e.valueFrom.secretKeyRef.optional !== true) {
            missing.push(
              `${w.ref}: env ${e.name} needs Secret ${e.valueFrom.secretKeyRef.name} (not optional)`,
            );
          }
        }
        const volumes = new Set((spec?.volumes ?? []).map((v) => v.name));
        const claims = new Set(
          (
            all<IStatefulSet>(objects, "StatefulSet").find(
              (s) => `StatefulSet/${s.metadata?.name}` === w.ref,
            )?.spec?.volumeClaimTemplates ?? []
          ).map((t) => t.metadata?.name),
        );
        for (const m of c.volumeMounts ?? []) {
          if (!volumes.has(m.name) && !claims.has(m.name))
            missing.push(`${w.ref}: volume ${m.name}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it("routes every Service port to a container port of exactly one workload, same protocol", () => {
    const problems: string[] = [];
    for (const svc of all<IService>(objects, "Service")) {
      const targets = selected(objects, svc.metadata?.namespace ?? "", svc.spec?.selector);
      if (targets.length !== 1) {
        problems.push(`Service/${svc.metadata?.name} selects ${targets.length} workloads`);
        continue;
      }
      const ports = containers(targets[0] as Workload).flatMap((c) => c.ports ?? []);
      for (const p of svc.spec?.ports ?? []) {
        const protocol = p.protocol ?? "TCP";
        const target = p.targetPort ?? p.port;
        const hit = ports.find(
          (cp) =>
            (cp.protocol ?? "TCP") === protocol &&
            (typeof target === "number" ? cp.containerPort === target : cp.name === target),
        );
        if (!hit)
          problems.push(
            `Service/${svc.metadata?.name} port ${p.name} (${protocol} → ${target}): no such container port`,
          );
      }
    }
    expect(problems).toEqual([]);
  });

  it("covers every workload with a PodDisruptionBudget that selects exactly it", () => {
    const pdbs = all<IPodDisruptionBudget>(objects, "PodDisruptionBudget");
    for (const w of workloads(objects)) {
      const covering = pdbs.filter(
        (p) =>
          p.metadata?.namespace === w.namespace &&
          selects(p.spec?.selector?.matchLabels, w.template.metadata?.labels),
      );
      expect(
        covering.map((p) => p.metadata?.name),
        w.ref,
      ).toHaveLength(1);
      expect(covering[0]?.spec?.maxUnavailable, w.ref).toBe(1);
    }
    for (const p of pdbs) {
      expect(
        selected(objects, p.metadata?.namespace ?? "", p.spec?.selector?.matchLabels),
        `PDB ${p.metadata?.name}`,
      ).toHaveLength(1);
    }
  });

  it("binds the ClusterRole to the Deployment's ServiceAccount in the Deployment's namespace", () => {
    const deployment = one<IDeployment>(objects, "Deployment", BRIDGE);
    const binding = one<IClusterRoleBinding>(objects, "ClusterRoleBinding", BRIDGE);
    one(objects, "ClusterRole", binding.roleRef.name);
    expect(binding.roleRef.kind).toBe("ClusterRole");
    expect(binding.subjects).toEqual([
      {
        kind: "ServiceAccount",
        name: deployment.spec?.template.spec?.serviceAccountName,
        namespace: deployment.metadata?.namespace,
      },
    ]);
  });

  it("runs every container non-root, without privilege escalation, on a read-only root filesystem", () => {
    const problems: string[] = [];
    for (const w of workloads(objects)) {
      const pod = w.template.spec?.securityContext;
      if (pod?.runAsNonRoot !== true) problems.push(`${w.ref}: runAsNonRoot`);
      if (!pod?.runAsUser) problems.push(`${w.ref}: a numeric non-root runAsUser`);
      if (pod?.seccompProfile?.type !== "RuntimeDefault")
        problems.push(`${w.ref}: seccompProfile RuntimeDefault`);
      for (const c of containers(w)) {
        const sc = c.securityContext;
        const at = `${w.ref} ${c.name}`;
        if (sc?.allowPrivilegeEscalation !== false)
          problems.push(`${at}: allowPrivilegeEscalation false`);
        if (sc?.readOnlyRootFilesystem !== true) problems.push(`${at}: readOnlyRootFilesystem`);
        if (sc?.privileged) problems.push(`${at}: privileged`);
        if (!sc?.capabilities?.drop?.includes("ALL")) problems.push(`${at}: capabilities drop ALL`);
        if (sc?.capabilities?.add?.length) problems.push(`${at}: adds capabilities`);
        // The root filesystem is read-only: the temp dir must be a volume.
        if (!c.volumeMounts?.some((m) => m.mountPath === "/tmp"))
          problems.push(`${at}: a writable /tmp`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("gives every container CPU and memory requests and limits", () => {
    for (const w of workloads(objects)) {
      for (const c of containers(w)) {
        const r = c.resources;
        expect(Object.keys(r?.requests ?? {}).sort(), `${w.ref} ${c.name} requests`).toEqual([
          "cpu",
          "memory",
        ]);
        expect(Object.keys(r?.limits ?? {}).sort(), `${w.ref} ${c.name} limits`).toEqual([
          "cpu",
          "memory",
        ]);
      }
    }
  });

  it("does not bridge its own Services into ZooKeeper", () => {
    for (const svc of all<IService>(objects, "Service")) {
      const parsed = parseAnnotations(svc.metadata?.annotations ?? {});
      expect(parsed.problems, `Service/${svc.metadata?.name}`).toEqual([]);
      expect(parsed.value.register, `Service/${svc.metadata?.name}`).toBe(false);
    }
  });
});

describe("the bridge Deployment", () => {
  const objects = render(VARIANTS.complete);
  const deployment = one<IDeployment>(objects, "Deployment", BRIDGE);
  const pod = deployment.spec?.template;
  const container = pod?.spec?.containers.find((c) => c.name === BRIDGE) as IContainer;
  const port = (name: string) => container.ports?.find((p) => p.name === name);

  it("runs two replicas and never fewer during a rollout", () => {
    expect(deployment.spec?.replicas).toBe(2);
    expect(deployment.spec?.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
  });

  it("probes /healthz for liveness and startup and /readyz for readiness, on the HTTP port", () => {
    expect(port("http")?.protocol ?? "TCP").toBe("TCP");
    expect(container.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(container.startupProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(container.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "http" });
  });

  it("spreads replicas over nodes and zones without blocking scheduling", () => {
    const spread = pod?.spec?.topologySpreadConstraints ?? [];
    expect(spread.map((t) => t.topologyKey).sort()).toEqual([
      "kubernetes.io/hostname",
      "topology.kubernetes.io/zone",
    ]);
    for (const t of spread) {
      expect(t.whenUnsatisfiable).toBe("ScheduleAnyway");
      expect(selects(t.labelSelector?.matchLabels, pod?.metadata?.labels)).toBe(true);
    }
  });

  it("announces its metrics to Prometheus on the HTTP port", () => {
    const a = pod?.metadata?.annotations ?? {};
    expect(a["prometheus.io/scrape"]).toBe("true");
    expect(Number(a["prometheus.io/port"])).toBe(port("http")?.containerPort);
    expect(a["prometheus.io/path"]).toBe("/metrics");
  });

  it("keeps Node's heap well inside the memory limit", () => {
    const nodeOptions = container.env?.find((e) => e.name === "NODE_OPTIONS")?.value ?? "";
    const heapMiB = Number(/--max-old-space-size=(\d+)/.exec(nodeOptions)?.[1]);
    const limit = /^(\d+)Mi$/.exec(String(container.resources?.limits?.memory));
    expect(limit, "memory limit in Mi").not.toBeNull();
    expect(heapMiB).toBeGreaterThan(0);
    // The rest is Node itself, buffers, sockets: ~25% headroom.
    expect(heapMiB).toBeLessThanOrEqual(Number(limit?.[1]) * 0.75);
  });

  it("uses the image tagged with package.json's version", () => {
    const pkg = JSON.parse(readFileSync(`${REPO}/package.json`, "utf8")) as { version: string };
    expect(container.image).toBe(`kube-zk-bridge:${pkg.version}`);
  });

  it("is exposed on DNS port 53 over UDP and TCP and on the HTTP port", () => {
    const svc = one<IService>(objects, "Service", BRIDGE);
    const ports = (svc.spec?.ports ?? [])
      .map((p) => `${p.port}/${p.protocol} → ${p.targetPort}`)
      .sort();
    expect(ports).toEqual(["53/TCP → dns-tcp", "53/UDP → dns", "8080/TCP → http"]);
  });

  it("reads its configuration from the KZB_* ConfigMap", () => {
    expect(Object.keys(bridgeCommandLine(objects).env)).toContain("KZB_ZK_CONNECT");
  });
});

describe("the ZooKeeper component", () => {
  const objects = render(VARIANTS.complete);
  const sts = one<IStatefulSet>(objects, "StatefulSet", "zookeeper");
  const zooCfg =
    one<IConfigMap>(
      objects,
      "ConfigMap",
      sts.spec?.template.spec?.volumes?.find((v) => v.name === "config")?.configMap?.name,
    ).data?.["zoo.cfg"] ?? "";
  const cfg = new Map(
    zooCfg
      .split("\n")
      .filter((l) => l.trim() && !l.startsWith("#"))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  const zk = sts.spec?.template.spec?.containers[0] as IContainer;
  const port = (name: string) => zk.ports?.find((p) => p.name === name)?.containerPort;

  it("is three members with persistent data, spread one per node", () => {
    expect(sts.spec?.replicas).toBe(3);
    expect(sts.spec?.podManagementPolicy).toBe("Parallel");
    expect(sts.spec?.volumeClaimTemplates?.map((t) => t.metadata?.name)).toEqual(["data"]);
    expect(zk.volumeMounts?.find((m) => m.name === "data")?.mountPath).toBe(cfg.get("dataDir"));
    const anti =
      sts.spec?.template.spec?.affinity?.podAntiAffinity
        ?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    expect(anti.map((a) => a.topologyKey)).toEqual(["kubernetes.io/hostname"]);
    expect(selects(anti[0]?.labelSelector?.matchLabels, sts.spec?.template.metadata?.labels)).toBe(
      true,
    );
  });

  it("names in zoo.cfg exactly its own pods, through its headless Service, on its container ports", () => {
    const headless = one<IService>(objects, "Service", sts.spec?.serviceName);
    expect(headless.spec?.clusterIP).toBe("None");
    expect(headless.spec?.publishNotReadyAddresses).toBe(true);
    const servers = [...cfg].filter(([k]) => k.startsWith("server.")).map(([k, v]) => `${k}=${v}`);
    const want = Array.from(
      { length: sts.spec?.replicas ?? 0 },
      (_, i) =>
        `server.${i + 1}=${sts.metadata?.name}-${i}.${headless.metadata?.name}:${port("follower")}:${port("election")}`,
    );
    expect(servers).toEqual(want);
    expect(Number(cfg.get("clientPort"))).toBe(port("client"));
    expect(zk.env?.find((e) => e.name === "ZK_CLIENT_PORT")?.value).toBe(String(port("client")));
  });

  it("allows the four-letter words its probes use", () => {
    const words = (cfg.get("4lw.commands.whitelist") ?? "").split(",");
    expect(words).toEqual(expect.arrayContaining(["ruok", "srvr"]));
    expect(zk.livenessProbe?.exec?.command).toEqual(["bash", "/probe/probe.sh", "live"]);
    expect(zk.readinessProbe?.exec?.command).toEqual(["bash", "/probe/probe.sh", "ready"]);
    const mount = zk.volumeMounts?.find((m) => m.mountPath === "/probe/probe.sh");
    expect(mount?.subPath).toBe("probe.sh");
  });

  it("is what the bridge connects to by default", () => {
    const connect = bridgeCommandLine(objects).env.KZB_ZK_CONNECT ?? "";
    const client = one<IService>(objects, "Service", "zookeeper");
    expect(connect).toBe(`${client.metadata?.name}:${client.spec?.ports?.[0]?.port}`);
    expect(client.spec?.ports?.[0]?.targetPort).toBe("client");
  });
});
