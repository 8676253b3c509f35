/**
 * `/metrics` of `kube-zk-bridge run` as Prometheus scrapes it: every metric of the contract is
 * there, and each one moves when its cause happens. One bridge for the whole file (the tests are
 * phases of one process's life, each asserting deltas), talking to its own real ZooKeeper through
 * a TCP proxy so a test can both kill ZooKeeper and keep the bridge away from it.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EndpointSpec, service, slice } from "../kubernetes/objects.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { writeKubeconfig } from "../support/kubeconfig.js";
import { plainMkdirp } from "../support/legacy-client.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { sleep, waitUntil } from "../support/wait.js";
import { startZooKeeper, type ZooKeeperServer } from "../support/zookeeper.js";
import { type RunBridge, startRun } from "./support.js";

const ZONE = "zk.internal";
const SESSION_MS = 2000;
const run = promisify(execFile);

/** Every metric the contract and issue 4 name. */
const METRICS = [
  "kzb_registrations",
  "kzb_zookeeper_session_state",
  "kzb_zookeeper_sessions_started_total",
  "kzb_reconcile_duration_seconds",
  "kzb_reconcile_operations_total",
  "kzb_reconcile_queue_depth",
  "kzb_kubernetes_informer_restarts_total",
  "kzb_dns_queries_total",
  "kzb_dns_request_duration_seconds",
  "kzb_catalog_skipped_nodes_total",
  "kzb_catalog_instances",
  "kzb_dns_stale_seconds",
  "kzb_leader",
] as const;

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Prometheus text exposition format 0.0.4 → TYPE declarations and samples. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1] as string, type[2] as string);
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    }
    // Prometheus parses values with Go's ParseFloat: Inf and NaN in any case (prom-client: "Nan").
    const raw = (m[3] as string).toLowerCase();
    const value = /^[+-]?inf$/.test(raw)
      ? raw.startsWith("-")
        ? -Infinity
        : Infinity
      : Number(raw);
    if (Number.isNaN(value) && raw !== "nan") throw new Error(`bad sample value: ${line}`);
    samples.push({ name: m[1] as string, labels, value });
  }
  return { types, samples };
}

class Scrape {
  constructor(
    readonly types: Map<string, string>,
    readonly samples: Sample[],
  ) {}

  /** Sum of the samples of `name` whose labels include `labels`; undefined when there is none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const hits = this.samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
    return hits.length === 0 ? undefined : hits.reduce((a, s) => a + s.value, 0);
  }

  /** Like value(), 0 when absent (a labelled counter not yet incremented has no sample). */
  count(name: string, labels: Record<string, string> = {}): number {
    return this.value(name, labels) ?? 0;
  }
}

describe("kube-zk-bridge run: /metrics (end to end)", () => {
  let zk: ZooKeeperServer;
  let proxy: TcpProxy;
  let api: FakeApiServer;
  let bridge: RunBridge;
  const root = "/metrics-e2e";

  async function scrape(): Promise<Scrape> {
    const r = await fetch(`${bridge.http}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/plain/);
    const { types, samples } = parseExposition(await r.text());
    return new Scrape(types, samples);
  }

  function web(endpoints: EndpointSpec[]) {
    api.apply(service("shop", "web", { ports: [{ name: "http", port: 80, targetPort: 8080 }] }));
    api.apply(
      slice("shop", "web-abc", "web", { ports: [{ name: "http", port: 8080 }], endpoints }),
    );
  }

  const dig = (name: string, type: string, ...extra: string[]) =>
    run("dig", [
      "@127.0.0.1",
      "-p",
      String(bridge.dnsPort),
      name,
      type,
      "+norec",
      "+time=2",
      "+tries=1",
      ...extra,
    ]).then(({ stdout }) => /status: ([A-Z]+)/.exec(stdout)?.[1]);

  beforeAll(async () => {
    zk = await startZooKeeper();
    proxy = await startTcpProxy(zk.port);
    await plainMkdirp(zk.connect, root);

    api = await FakeApiServer.start();
    web([{ address: "10.0.0.5", pod: "web-1" }]);
    bridge = await startRun({
      zkConnect: `${proxy.connect}${root}`,
      kubeconfig: await writeKubeconfig(api.url),
      sessionTimeout: `${SESSION_MS}ms`,
    });
    await waitUntil(
      "/readyz 200",
      async () => (await fetch(`${bridge.http}/readyz`)).status === 200,
    );
  });
  afterAll(async () => {
    await bridge?.proc.stop("SIGKILL");
    await api?.close();
    await proxy?.close();
    await zk?.stop();
  });

  it("exposes every metric of the contract, with the single replica leading", async () => {
    const m = await waitUntil("first registration counted", async () => {
      const s = await scrape();
      return s.value("kzb_registrations", { service: "web.shop" }) === 1 &&
        s.value("kzb_catalog_instances") === 1
        ? s
        : undefined;
    });
    for (const name of METRICS) expect(m.types.has(name), name).toBe(true);
    expect(m.types.get("kzb_reconcile_duration_seconds")).toBe("histogram");
    expect(m.types.get("kzb_dns_request_duration_seconds")).toBe("histogram");
    expect(m.value("kzb_registrations", { service: "web.shop", format: "curator" })).toBe(1);
    expect(m.value("kzb_leader")).toBe(1);
    expect(m.value("kzb_zookeeper_session_state", { state: "connected" })).toBe(1);
    expect(m.value("kzb_zookeeper_session_state", { state: "disconnected" })).toBe(0);
    expect(m.value("kzb_zookeeper_sessions_started_total")).toBe(1);
    expect(m.value("kzb_dns_stale_seconds")).toBe(0);
    expect(m.value("kzb_reconcile_queue_depth")).toBe(0); // present, and drained
    expect(m.count("kzb_reconcile_operations_total", { op: "create" })).toBe(1);
  });

  it("a new endpoint moves registrations, reconcile duration and operations, catalog instances", async () => {
    const before = await scrape();
    web([
      { address: "10.0.0.5", pod: "web-1" },
      { address: "10.0.0.6", pod: "web-2" },
    ]);
    const after = await waitUntil("two registrations, two instances", async () => {
      const s = await scrape();
      return s.value("kzb_registrations", { service: "web.shop", format: "curator" }) === 2 &&
        s.value("kzb_catalog_instances") === 2
        ? s
        : undefined;
    });
    expect(after.count("kzb_reconcile_operations_total", { op: "create" })).toBe(
      before.count("kzb_reconcile_operations_total", { op: "create" }) + 1,
    );
    expect(after.count("kzb_reconcile_duration_seconds_count")).toBeGreaterThan(
      before.count("kzb_reconcile_duration_seconds_count"),
    );
    expect(after.count("kzb_reconcile_duration_seconds_sum")).toBeGreaterThan(
      before.count("kzb_reconcile_duration_seconds_sum"),
    );
    expect(after.value("kzb_reconcile_queue_depth")).toBe(0);
  });

  it("DNS queries are counted by type, rcode and transport, and timed", async () => {
    const before = await scrape();
    expect(await dig(`web.shop.${ZONE}`, "A")).toBe("NOERROR");
    expect(await dig(`web.shop.${ZONE}`, "SRV")).toBe("NOERROR");
    expect(await dig(`nothing.${ZONE}`, "A")).toBe("NXDOMAIN");
    expect(await dig("example.com", "A")).toBe("REFUSED");
    expect(await dig(`web.shop.${ZONE}`, "A", "+tcp")).toBe("NOERROR");
    // The server adds its query counts to Prometheus once a second (hot-path cost): wait for them.
    const after = await waitUntil("five queries counted", async () => {
      const s = await scrape();
      const total = (x: Scrape) => x.count("kzb_dns_queries_total");
      return total(s) - total(before) >= 5 ? s : undefined;
    });
    const delta = (labels: Record<string, string>) =>
      after.count("kzb_dns_queries_total", labels) - before.count("kzb_dns_queries_total", labels);
    expect(delta({ qtype: "A", rcode: "NOERROR", transport: "udp" })).toBe(1);
    expect(delta({ qtype: "SRV", rcode: "NOERROR", transport: "udp" })).toBe(1);
    expect(delta({ qtype: "A", rcode: "NXDOMAIN", transport: "udp" })).toBe(1);
    expect(delta({ qtype: "A", rcode: "REFUSED", transport: "udp" })).toBe(1);
    expect(delta({ qtype: "A", rcode: "NOERROR", transport: "tcp" })).toBe(1);
    expect(delta({})).toBe(5);
    const latency = (s: Scrape) => s.count("kzb_dns_request_duration_seconds_count");
    expect(latency(after) - latency(before)).toBe(5);
    expect(after.count("kzb_dns_request_duration_seconds_sum")).toBeGreaterThan(
      before.count("kzb_dns_request_duration_seconds_sum"),
    );
  });

  it("informer restarts are counted after API errors and dropped watches", async () => {
    const before = (await scrape()).count("kzb_kubernetes_informer_restarts_total");
    api.failNext(2, 500);
    api.dropWatches();
    await waitUntil(
      "informer restarts counted",
      async () => (await scrape()).count("kzb_kubernetes_informer_restarts_total") > before,
    );
    // …and the informers recover: a change after the failures still lands.
    web([
      { address: "10.0.0.5", pod: "web-1" },
      { address: "10.0.0.6", pod: "web-2" },
      { address: "10.0.0.7", pod: "web-3" },
    ]);
    await waitUntil("three registrations after the restarts, served", async () => {
      const s = await scrape();
      return (
        s.value("kzb_registrations", { service: "web.shop" }) === 3 &&
        s.value("kzb_catalog_instances") === 3
      );
    });
  });

  it("a garbage znode under the base path is skipped and counted, and serving goes on", async () => {
    const before = await scrape();
    // Written straight to the server (not through the proxy), as any app would.
    await plainMkdirp(
      `${zk.connect}${root}`,
      "/services/junk.app/garbage-1",
      Buffer.from("{not json at all"),
    );
    const after = await waitUntil("skipped node counted", async () => {
      const s = await scrape();
      return s.count("kzb_catalog_skipped_nodes_total") >
        before.count("kzb_catalog_skipped_nodes_total")
        ? s
        : undefined;
    });
    expect(after.value("kzb_catalog_instances")).toBe(before.value("kzb_catalog_instances"));
    expect(await dig(`web.shop.${ZONE}`, "A")).toBe("NOERROR");
    expect(bridge.proc.proc.exitCode).toBeNull();
  });

  it("ZooKeeper down: session state and stale seconds move; an expired session starts a new one", async () => {
    const before = await scrape();
    expect(before.value("kzb_zookeeper_session_state", { state: "connected" })).toBe(1);
    const sessions = before.count("kzb_zookeeper_sessions_started_total");
    try {
      await zk.kill();
      const down = await waitUntil("disconnected and stale", async () => {
        const s = await scrape();
        return s.value("kzb_zookeeper_session_state", { state: "connected" }) === 0 &&
          s.count("kzb_dns_stale_seconds") > 0
          ? s
          : undefined;
      });
      expect(
        down.count("kzb_zookeeper_session_state", { state: "disconnected" }) +
          down.count("kzb_zookeeper_session_state", { state: "connecting" }),
      ).toBe(1);
      // A restarted ZooKeeper restores its sessions and would let ours resume: keep the
      // bridge away (black hole) until the server has expired it.
      proxy.blackhole(true);
    } finally {
      await zk.start();
    }
    await sleep(SESSION_MS + 1500);
    proxy.blackhole(false);
    const up = await waitUntil("a new session, connected and fresh", async () => {
      const s = await scrape();
      return s.value("kzb_zookeeper_session_state", { state: "connected" }) === 1 &&
        s.count("kzb_zookeeper_sessions_started_total") === sessions + 1 &&
        s.value("kzb_dns_stale_seconds") === 0
        ? s
        : undefined;
    });
    expect(up.value("kzb_dns_stale_seconds")).toBe(0);
    // The new session wins the election again and re-creates every registration.
    await waitUntil("leading again, registrations restored", async () => {
      const s = await scrape();
      return s.value("kzb_leader") === 1 &&
        s.value("kzb_registrations", { service: "web.shop" }) === 3
        ? s
        : undefined;
    });
  });
});
