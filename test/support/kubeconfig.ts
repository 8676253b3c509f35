import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

/** A kubeconfig file pointing at a plain-HTTP (fake) API server, as a user would write one. */
export async function writeKubeconfig(serverUrl: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "kzb-kube-"));
  const file = path.join(dir, "config");
  await writeFile(
    file,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: fake",
      "  cluster:",
      `    server: ${serverUrl}`,
      // client-node refuses plain HTTP unless TLS verification is explicitly off.
      "    insecure-skip-tls-verify: true",
      "users:",
      "- name: fake",
      "  user:",
      "    token: test",
      "contexts:",
      "- name: fake",
      "  context: {cluster: fake, user: fake}",
      "current-context: fake",
      "",
    ].join("\n"),
  );
  return file;
}
