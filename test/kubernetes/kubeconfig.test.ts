import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadKubeConfig } from "../../lib/kubernetes/kubeconfig.js";

let dir: string;

function kubeconfigYaml(cluster: string, server: string, current = true): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    `clusters:\n- name: ${cluster}\n  cluster:\n    server: ${server}\n    insecure-skip-tls-verify: true`,
    `users:\n- name: ${cluster}-user\n  user:\n    token: t-${cluster}`,
    `contexts:\n- name: ${cluster}-ctx\n  context:\n    cluster: ${cluster}\n    user: ${cluster}-user`,
    current ? `current-context: ${cluster}-ctx` : "",
  ].join("\n");
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "kzb-kubeconfig-"));
  await writeFile(path.join(dir, "a.yaml"), kubeconfigYaml("a", "https://a.example:6443"));
  await writeFile(path.join(dir, "b.yaml"), kubeconfigYaml("b", "https://b.example:6443", false));
  await writeFile(
    path.join(dir, "nocontext.yaml"),
    kubeconfigYaml("c", "https://c.example:6443", false),
  );
  await mkdir(path.join(dir, "home", ".kube"), { recursive: true });
  await writeFile(
    path.join(dir, "home", ".kube", "config"),
    kubeconfigYaml("home", "https://home.example:6443"),
  );
  const sa = path.join(dir, "root", "var", "run", "secrets", "kubernetes.io", "serviceaccount");
  await mkdir(sa, { recursive: true });
  await writeFile(path.join(sa, "token"), "sa-token");
  await writeFile(path.join(sa, "ca.crt"), "");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const server = (kc: ReturnType<typeof loadKubeConfig>) => kc.getCurrentCluster()?.server;

describe("loadKubeConfig", () => {
  it("uses an explicit path first, even inside a cluster", () => {
    const kc = loadKubeConfig(path.join(dir, "a.yaml"), {
      env: { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" },
    });
    expect(server(kc)).toBe("https://a.example:6443");
  });

  it("uses in-cluster config when KUBERNETES_SERVICE_HOST is set", async () => {
    const kc = loadKubeConfig(undefined, {
      env: {
        KUBERNETES_SERVICE_HOST: "10.96.0.1",
        KUBERNETES_SERVICE_PORT: "443",
        KUBECONFIG: path.join(dir, "a.yaml"),
      },
      inClusterRoot: path.join(dir, "root"),
    });
    expect(server(kc)).toBe("https://10.96.0.1:443");
    const opts: { headers?: Record<string, unknown> } = {};
    await kc.applyToHTTPSOptions(opts);
    expect(opts.headers?.Authorization).toBe("Bearer sa-token");
  });

  it("says what is missing in-cluster", () => {
    expect(() =>
      loadKubeConfig(undefined, {
        env: { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" },
        inClusterRoot: path.join(dir, "nowhere"),
      }),
    ).toThrow(/no service account token/);
  });

  it("then $KUBECONFIG, merging a list with the first current context", () => {
    const list = [path.join(dir, "b.yaml"), path.join(dir, "a.yaml")].join(path.delimiter);
    const kc = loadKubeConfig(undefined, {
      env: { KUBECONFIG: list },
      home: path.join(dir, "home"),
    });
    expect(server(kc)).toBe("https://a.example:6443");
    expect(kc.getClusters().map((c) => c.name)).toEqual(["b", "a"]);
  });

  it("then ~/.kube/config", () => {
    const kc = loadKubeConfig(undefined, { env: {}, home: path.join(dir, "home") });
    expect(server(kc)).toBe("https://home.example:6443");
  });

  it("fails with one clear line when nothing is there or the file is unusable", () => {
    expect(() => loadKubeConfig(undefined, { env: {}, home: path.join(dir, "empty") })).toThrow(
      /no Kubernetes configuration: .*use --kubeconfig/,
    );
    expect(() => loadKubeConfig(path.join(dir, "missing.yaml"))).toThrow(
      /kubeconfig .*missing.yaml: not found/,
    );
    expect(() => loadKubeConfig(path.join(dir, "nocontext.yaml"))).toThrow(/no current context/);
  });
});
