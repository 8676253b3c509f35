/**
 * Where the Kubernetes connection comes from (PRODUCT.md `--kubeconfig`). An explicit path wins
 * (as with kubectl and client-go: an operator who names a file means it, even inside a pod),
 * then in-cluster config, then `$KUBECONFIG`, then `~/.kube/config`.
 */
import { existsSync } from "node:fs";
import { isIPv6 } from "node:net";
import { homedir } from "node:os";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";

export interface KubeConfigEnvironment {
  readonly env?: NodeJS.ProcessEnv;
  readonly home?: string;
  /** Prefix of the service account files (`/var/run/secrets/kubernetes.io/serviceaccount/…`); tests only. */
  readonly inClusterRoot?: string;
}

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const SERVICE_ACCOUNT_TOKEN = `${SERVICE_ACCOUNT_DIR}/token`;

/**
 * A KubeConfig with a current cluster, or an Error whose message says which source was tried
 * and what is wrong with it.
 */
export function loadKubeConfig(file?: string, where: KubeConfigEnvironment = {}): KubeConfig {
  const env = where.env ?? process.env;
  const kc = new KubeConfig();
  let source: string;
  if (file) {
    source = file;
    loadFiles(kc, [file]);
  } else if (env.KUBERNETES_SERVICE_HOST) {
    source = "in-cluster config";
    const root = where.inClusterRoot ?? "";
    if (!env.KUBERNETES_SERVICE_PORT) {
      throw new Error(
        "in-cluster config: KUBERNETES_SERVICE_HOST is set but KUBERNETES_SERVICE_PORT is not",
      );
    }
    if (!existsSync(`${root}${SERVICE_ACCOUNT_TOKEN}`)) {
      throw new Error(
        `in-cluster config: no service account token at ${root}${SERVICE_ACCOUNT_TOKEN} (automountServiceAccountToken: false?)`,
      );
    }
    // As client-node's loadFromCluster, but from `env` rather than process.env.
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT;
    kc.loadFromClusterAndUser(
      {
        name: "inCluster",
        server: `${["80", "8080", "8001"].includes(port) ? "http" : "https"}://${isIPv6(host) ? `[${host}]` : host}:${port}`,
        caFile: `${root}${SERVICE_ACCOUNT_DIR}/ca.crt`,
        skipTLSVerify: false,
      },
      {
        name: "inClusterUser",
        authProvider: {
          name: "tokenFile",
          config: { tokenFile: `${root}${SERVICE_ACCOUNT_DIR}/token` },
        },
      },
    );
  } else if (env.KUBECONFIG) {
    source = `$KUBECONFIG (${env.KUBECONFIG})`;
    loadFiles(kc, env.KUBECONFIG.split(path.delimiter).filter(Boolean));
  } else {
    const file = path.join(where.home ?? homedir(), ".kube", "config");
    if (!existsSync(file)) {
      throw new Error(
        `no Kubernetes configuration: not in a cluster (KUBERNETES_SERVICE_HOST unset), $KUBECONFIG unset, ${file} missing; use --kubeconfig`,
      );
    }
    source = file;
    loadFiles(kc, [file]);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    throw new Error(
      `${source}: no current context with a cluster server (current-context: "${kc.getCurrentContext()}")`,
    );
  }
  return kc;
}

/** Loads the first file and merges the others into it, as kubectl does with a $KUBECONFIG list. */
function loadFiles(kc: KubeConfig, files: readonly string[]): void {
  files.forEach((file, i) => {
    const target = i === 0 ? kc : new KubeConfig();
    try {
      target.loadFromFile(file);
      // The first file that names a current context decides it, as with kubectl.
      if (target !== kc) kc.mergeConfig(target, Boolean(kc.currentContext));
    } catch (err) {
      const why =
        (err as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : (err as Error).message;
      throw new Error(`kubeconfig ${file}: ${why}`);
    }
  });
}
