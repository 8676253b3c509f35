/**
 * The Deployment's container, as the kubelet runs it, minus the cluster: the built entry point
 * (what the image ships) with the rendered args and ConfigMap environment, only the listen
 * addresses moved to free loopback ports, ZooKeeper pointed at the test server and Kubernetes
 * at the fake apiserver behind the RBAC proxy of the rendered ClusterRole. Its probes must
 * pass, it must serve a Kubernetes Service over DNS without one denied request, and SIGTERM
 * must end it cleanly.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import type { IContainer } from "kubernetes-models/v1/Container";
import { afterAll, expect, it } from "vitest";
import { parseCommandLine } from "../../lib/config.js";
import { service, slice } from "../kubernetes/objects.js";
import { type BridgeProcess, startCli } from "../support/cli.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { writeKubeconfig } from "../support/kubeconfig.js";
import { waitUntil } from "../support/wait.js";
import { freshChroot } from "../support/zk-chroot.js";
import { freePort } from "../support/zookeeper.js";
import { type AuthorizingProxy, startAuthorizingProxy } from "./authorizer.js";
import { BRIDGE, bridgeCommandLine, one, render, VARIANTS } from "./manifests.js";

const execFileP = promisify(execFile);
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** `args` with `--name=value` (or `--name value`) replaced by `--name=to`. */
function withFlag(args: readonly string[], name: string, to: string): string[] {
  const out: string[] = [];
  let replaced = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === `--${name}` || a.startsWith(`--${name}=`)) {
      if (a === `--${name}`) i++;
      out.push(`--${name}=${to}`);
      replaced = true;
    } else out.push(a);
  }
  if (!replaced) throw new Error(`the Deployment's args have no --${name}`);
  return out;
}

it("starts from the Deployment's command line, passes its probes and serves DNS with only the ClusterRole's access", async () => {
  const objects = render(VARIANTS.complete);
  const deployment = one<IDeployment>(objects, "Deployment", BRIDGE);
  const container = deployment.spec?.template.spec?.containers.find(
    (c) => c.name === BRIDGE,
  ) as IContainer;
  const line = bridgeCommandLine(objects);
  const { config } = parseCommandLine(line.args, line.env);

  const fake = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  cleanup.push(() => fake.close());
  fake.apply(service("shop", "web"));
  fake.apply(
    slice("shop", "web-abc", "web", { endpoints: [{ address: "10.0.0.5", pod: "web-1" }] }),
  );
  const serviceAccount = deployment.spec?.template.spec?.serviceAccountName;
  const role = one<IClusterRole>(objects, "ClusterRole", BRIDGE);
  const proxy: AuthorizingProxy = await startAuthorizingProxy(
    fake.url,
    role.rules ?? [],
    `system:serviceaccount:${deployment.metadata?.namespace}:${serviceAccount}`,
  );
  cleanup.push(() => proxy.close());

  const dnsPort = await freePort();
  const httpPort = await freePort();
  let args = withFlag(line.args, "dns-listen", `127.0.0.1:${dnsPort}`);
  args = withFlag(args, "http-listen", `127.0.0.1:${httpPort}`);
  args.push(`--kubeconfig=${await writeKubeconfig(proxy.url)}`);
  const bridge: BridgeProcess = startCli(args, {
    ...line.env,
    KZB_ZK_CONNECT: await freshChroot(),
  });
  cleanup.push(() => bridge.stop("SIGKILL"));

  const http = (p: string) =>
    fetch(`http://127.0.0.1:${httpPort}${p}`).then(
      (r) => r.status,
      () => 0,
    );
  const probes = [container.startupProbe, container.livenessProbe, container.readinessProbe];
  for (const probe of probes) {
    const p = probe?.httpGet;
    expect(p?.port).toBe(
      container.ports?.find((x) => x.containerPort === config.httpListen.port)?.name,
    );
    await waitUntil(
      `probe ${p?.path} answers 200`,
      async () => (await http(p?.path ?? "")) === 200,
      30_000,
    );
  }

  const name = `web.shop.${config.zone}`;
  await waitUntil(
    `dig ${name} answers 10.0.0.5`,
    async () => {
      const { stdout } = await execFileP("dig", [
        "@127.0.0.1",
        "-p",
        String(dnsPort),
        name,
        "A",
        "+short",
        "+time=2",
        "+tries=1",
      ]);
      return stdout.trim() === "10.0.0.5";
    },
    30_000,
  );

  expect(proxy.requests.filter((r) => !r.allowed).map((r) => r.attributes)).toEqual([]);
  expect(proxy.requests.length).toBeGreaterThan(0);
  expect(await bridge.stop("SIGTERM")).toBe(0);
});
