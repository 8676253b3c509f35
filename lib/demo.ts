/**
 * `demo`: a local try-out on one machine. Starts a real ZooKeeper (installing Debian's package
 * when missing and allowed), a simulated Kubernetes API server with a few sample Services, a
 * legacy service that registered itself in ZooKeeper, and the bridge (`run`) against them; then
 * prints commands to try. One pod flips readiness every 20 s so changes can be watched.
 *
 * The simulated cluster is the fake API server the tests use (test/support): it speaks the real
 * list/watch protocol, so the bridge runs exactly as against a cluster.
 */
import { spawnSync } from "node:child_process";
import net from "node:net";
import { type EndpointSpec, service, slice } from "../test/kubernetes/objects.js";
import { FakeApiServer } from "../test/support/fake-apiserver.js";
import { writeKubeconfig } from "../test/support/kubeconfig.js";
import { curatorJson, plainMkdirp } from "../test/support/legacy-client.js";
import { startZooKeeper, zooKeeperInstalled } from "../test/support/zookeeper.js";
import { startBridge } from "./app.js";
import type { Config, ListenAddress } from "./config.js";
import { formatListen } from "./dns-side.js";
import { createLogger } from "./log.js";

export async function runDemo(base: Config): Promise<number> {
  if (!ensureZooKeeper()) return 1;
  const zk = await startZooKeeper();
  const api = await FakeApiServer.start();
  seedCluster(api);
  const kubeconfig = await writeKubeconfig(api.url);
  await registerLegacyService(zk.connect);

  const config: Config = Object.freeze({
    ...base,
    zkConnect: zk.connect,
    kubeconfig,
    dnsListen: await availableOr(base.dnsListen),
    httpListen: await availableOr(base.httpListen),
    logLevel: base.logLevel === "info" ? "warn" : base.logLevel,
  });
  const bridge = await startBridge("run", config, createLogger(config.logLevel));
  const flip = flipReadiness(api);
  printTryThis(config, zk.connect);

  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  process.stdout.write("\nstopping the demo…\n");
  clearInterval(flip);
  await bridge.close();
  await api.close();
  await zk.stop();
  return 0;
}

/** ZooKeeper from Debian: install it if missing and we may, else say exactly what to run. */
function ensureZooKeeper(): boolean {
  if (zooKeeperInstalled()) return true;
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      "kube-zk-bridge demo needs ZooKeeper 3.8 from Debian: run `sudo apt-get install -y zookeeper` (or `npm run setup` as root), then try again.\n",
    );
    return false;
  }
  process.stdout.write("installing ZooKeeper (apt-get install zookeeper)…\n");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [
    ["update", "-qq"],
    ["install", "-y", "-qq", "zookeeper"],
  ]) {
    const r = spawnSync("apt-get", args, { stdio: "inherit", env });
    if (r.status !== 0) {
      process.stderr.write(`kube-zk-bridge demo: apt-get ${args.join(" ")} failed\n`);
      return false;
    }
  }
  return zooKeeperInstalled();
}

const PODS = (app: string, prefix: string, n: number): EndpointSpec[] =>
  Array.from({ length: n }, (_, i) => ({
    address: `${prefix}.${i + 1}`,
    pod: `${app}-${i + 1}`,
    node: "node-1",
  }));

/** web.shop's one EndpointSlice, ports http and metrics, holding `pods`. */
const webSlice = (pods: EndpointSpec[]) =>
  slice("shop", "web-x1", "web", {
    ports: [
      { name: "http", port: 8080 },
      { name: "metrics", port: 9090 },
    ],
    endpoints: pods,
  });

function seedCluster(api: FakeApiServer): void {
  api.apply(
    service("shop", "web", {
      ports: [
        { name: "http", port: 80, targetPort: 8080 },
        { name: "metrics", port: 9090, targetPort: 9090 },
      ],
    }),
  );
  api.apply(webSlice(PODS("web", "10.1.0", 3)));
  api.apply(service("payments", "api", { annotations: { "kube-zk-bridge.io/weight": "10" } }));
  api.apply(slice("payments", "api-x1", "api", { endpoints: PODS("api", "10.2.0", 2) }));
  api.apply(
    service("infra", "cache", {
      ports: [{ name: "redis", port: 6379, targetPort: 6379 }],
      annotations: { "kube-zk-bridge.io/format": "curator,serverset" },
    }),
  );
  api.apply(
    slice("infra", "cache-x1", "cache", {
      ports: [{ name: "redis", port: 6379 }],
      endpoints: PODS("cache", "10.3.0", 2),
    }),
  );
}

/** One pod of web.shop goes terminating-but-serving and back: watch DNS and ZooKeeper follow. */
function flipReadiness(api: FakeApiServer): NodeJS.Timeout {
  let draining = false;
  return setInterval(() => {
    draining = !draining;
    const pods = PODS("web", "10.1.0", 3);
    if (draining)
      Object.assign(pods[2] as EndpointSpec, { ready: false, serving: true, terminating: true });
    api.apply(webSlice(pods));
  }, 20_000);
}

/** A legacy app that registered itself the Curator way: the bridge serves it in DNS too. */
async function registerLegacyService(connect: string): Promise<void> {
  await plainMkdirp(
    connect,
    "/services/billing.legacy/billing-1",
    curatorJson("billing.legacy", "billing-1", "192.168.50.10", 7001, {
      registrationTimeUTC: Date.now(),
    }),
  );
}

/** The configured address if free, else a free port on the same host (a demo must just work). */
async function availableOr(want: ListenAddress): Promise<ListenAddress> {
  const host = want.host === "0.0.0.0" ? "127.0.0.1" : want.host;
  const free = await new Promise<boolean>((resolve) => {
    const s = net.createServer().once("error", () => resolve(false));
    s.listen(want.port, host, () => s.close(() => resolve(true)));
  });
  if (free) return { host, port: want.port };
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer();
    s.listen(0, host, () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
  return { host, port };
}

function printTryThis(config: Config, zkConnect: string): void {
  const dns = `@${config.dnsListen.host} -p ${config.dnsListen.port}`;
  const http = `http://${formatListen(config.httpListen)}`;
  const z = config.zone;
  process.stdout.write(`
kube-zk-bridge demo is running.
  ZooKeeper           ${zkConnect}
  simulated cluster   Services shop/web (3 pods, http+metrics), payments/api (2 pods, weight 10),
                      infra/cache (2 pods, Curator + ServerSet); web-3 drains and returns every 20 s
  legacy service      billing.legacy, registered directly in ZooKeeper by "another client"
  DNS                 ${formatListen(config.dnsListen)} (zone ${z})
  HTTP                ${http}

Try:
  dig ${dns} web.shop.${z} A +norec
  dig ${dns} web.shop.${z} SRV +norec
  dig ${dns} _metrics._tcp.web.shop.${z} SRV +norec
  dig ${dns} web-1.web.shop.${z} TXT +norec
  dig ${dns} billing.legacy.${z} A +norec        # a legacy, self-registered service
  dig ${dns} nothing.${z} A +norec               # NXDOMAIN with the SOA
  curl ${http}/readyz
  curl ${http}/registrations
  curl -s ${http}/metrics | grep ^kzb_
  node dist/cmd/kube-zk-bridge.js ls --zk-connect ${zkConnect}
  /usr/share/zookeeper/bin/zkCli.sh -server ${zkConnect} ls -R /services

Ctrl-C stops everything.
`);
}
