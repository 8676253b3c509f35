/**
 * Propagation latency: from the Kubernetes API server applying one EndpointSlice change to
 *   (a) ZooKeeper holding it: seen by a separate plain client's one-shot child watch on that
 *       service's znode, armed before the change;
 *   (b) the bridge's DNS answering it: A query over UDP to 127.0.0.1, polled every ~1 ms, until
 *       the answer is the service's new set of ready addresses.
 * The bridge is the real built binary (`run`: sync + DNS) against a real ZooKeeper and the
 * in-process fake API server, with `services` × `endpoints` registered. Changes go one at a
 * time to random services: replace an endpoint by a new pod, add one, or mark one not ready.
 *
 * Reference, same ZooKeeper in the same run: a plain client creates/deletes an ephemeral znode
 * and the observer's child watch fires (ZooKeeper's own write → watch round trip), and, for (b),
 * the same plus the re-read a watcher needs (getChildren + getData) to know the new state.
 *
 *   npx tsx bench/propagation.ts [--sizes 100,1000,10000] [--changes 1000] [--endpoints 10]
 *        [--bridge dist/cmd/kube-zk-bridge.js] [--cpu-prof DIR] [--node-args "<node flags>"] [--svg FILE] [--seed 1]
 *
 * Defaults are the issue's sizes and write docs/benchmarks/propagation.svg; other sizes write the
 * plot under the run's scratch directory unless --svg says where.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Event } from "node-zookeeper-client";
import { numberArg, numberListArg, stringArg } from "./support/args.js";
import { inSync } from "./support/bridge-http.js";
import { runBench } from "./support/cleanup.js";
import { dnsName, SimulatedCluster, servicePath } from "./support/cluster.js";
import {
  formatProfileSummary,
  latestProfile,
  monotonicUs,
  summarizeProfile,
} from "./support/cpu-profile.js";
import { DnsClient } from "./support/dns-client.js";
import { cpuSecondsOf, MB, memoryOf } from "./support/proc.js";
import { seededRandom } from "./support/random.js";
import { scratchDir } from "./support/scratch.js";
import { type LatencySummary, ms, ratio, summarize } from "./support/stats.js";
import { lineChart } from "./support/svg.js";
import { allRegistered, spawnSyncBridge } from "./support/sync-bridge.js";
import { markdownTable } from "./support/table.js";
import { sleep, waitFor } from "./support/wait.js";
import {
  type Client,
  closeClient,
  connectClient,
  create,
  EPHEMERAL,
  getChildren,
  getData,
  PERSISTENT,
  remove,
} from "./support/zk-client.js";
import { waitForEphemerals } from "./support/zk4lw.js";
import { startBenchZooKeeper } from "./support/zookeeper.js";

const DEFAULT_SIZES = [100, 1000, 10_000];
const DEFAULT_CHANGES = 1000;
const SIZES = numberListArg("sizes", DEFAULT_SIZES);
const CHANGES = numberArg("changes", DEFAULT_CHANGES);
const PER_SERVICE = numberArg("endpoints", 10);
const SEED = numberArg("seed", 1);
const REFERENCE_SAMPLES = Math.min(CHANGES, 1000);
/** A change not visible after this long counts as lost (reported, not hidden). */
const CHANGE_DEADLINE_MS = 30_000;
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const isDefaultRun =
  SIZES.join() === DEFAULT_SIZES.join() && CHANGES === DEFAULT_CHANGES && PER_SERVICE === 10;

interface SizeResult {
  readonly services: number;
  readonly zk: LatencySummary;
  readonly dns: LatencySummary;
  readonly refWatch: LatencySummary;
  readonly refRead: LatencySummary;
  readonly lost: number;
  readonly initialSyncMs: number;
  readonly cpuMsPerChange: number;
  readonly peakRssBytes: number;
  /** The slowest changes (DNS latency), with when they happened, to correlate with periodic work. */
  readonly slowest: ReadonlyArray<{ ms: number; sAfterSpawn: number; kind: string }>;
  readonly profile?: string;
}

/** Child watches of the observer client, one stable watcher function (the library dedupes by identity). */
class WatchObserver {
  private readonly waiting = new Map<string, (at: number) => void>();
  private readonly onEvent = (e: Event) => {
    const at = performance.now();
    const done = this.waiting.get(e.getPath());
    if (done) {
      this.waiting.delete(e.getPath());
      done(at);
    }
  };

  constructor(readonly client: Client) {}

  /** Arms a one-shot child watch on `path`; resolves once armed, with the time it fires. */
  async arm(path: string): Promise<{ fired: Promise<number>; children: string[] }> {
    const fired = new Promise<number>((resolve) => this.waiting.set(path, resolve));
    const children = await getChildren(this.client, path, this.onEvent);
    return { fired, children };
  }

  forget(path: string): void {
    this.waiting.delete(path);
  }
}

function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p, sleep(ms).then(() => undefined)]);
}

/** Polls the A answer of `name` every ~1 ms until it equals `expected`; the time it first did. */
async function dnsReflects(
  dns: DnsClient,
  name: string,
  expected: string,
  deadlineMs: number,
): Promise<number | undefined> {
  const end = performance.now() + deadlineMs;
  while (performance.now() < end) {
    const sent = performance.now();
    const answer = await dns.queryA(name, 100);
    const now = performance.now();
    if (answer && answer.addresses.join(",") === expected) return now;
    const wait = 1 - (now - sent);
    if (wait > 0) await sleep(wait);
  }
  return undefined;
}

/** ZooKeeper's own round trips, measured against the same server the bridge writes to. */
async function reference(
  connect: string,
  observer: WatchObserver,
  random: () => number,
): Promise<{ watch: number[]; read: number[] }> {
  const writer = await connectClient(connect);
  const parents = Array.from({ length: 100 }, (_, i) => `/bench-ref/p${i}`);
  await create(writer, "/bench-ref", Buffer.alloc(0), PERSISTENT).catch(() => undefined);
  for (const p of parents) await create(writer, p, Buffer.alloc(0), PERSISTENT);
  const present = new Map<string, string>();
  const data = Buffer.alloc(600, 120); // about the size of one of the bridge's Curator nodes
  const watch: number[] = [];
  const read: number[] = [];
  for (let i = 0; i < REFERENCE_SAMPLES; i++) {
    const parent = parents[Math.floor(random() * parents.length)] as string;
    const armed = await observer.arm(parent);
    const t0 = performance.now();
    const old = present.get(parent);
    let node: string | undefined;
    if (old) {
      present.delete(parent);
      await remove(writer, old);
    } else {
      node = `${parent}/n-${i}`;
      present.set(parent, node);
      await create(writer, node, data, EPHEMERAL);
    }
    const fired = await within(armed.fired, CHANGE_DEADLINE_MS);
    if (fired === undefined) throw new Error(`reference watch on ${parent} never fired`);
    watch.push(fired - t0);
    // What any watcher must do next to know the new state: re-list (re-arming) and read.
    await getChildren(observer.client, parent);
    if (node) await getData(observer.client, node);
    read.push(performance.now() - t0);
    await sleep(2);
  }
  await closeClient(writer);
  return { watch, read };
}

async function measureSize(services: number, scratch: string): Promise<SizeResult> {
  const random = seededRandom(SEED + services);
  const zk = await startBenchZooKeeper();
  const cluster = await SimulatedCluster.start(services, PER_SERVICE);
  const { bridge, profDir } = await spawnSyncBridge({
    command: "run",
    zkConnect: zk.connect,
    cluster,
    name: `propagation-${services}`,
    logFile: path.join(scratch, `bridge-${services}.log`),
  });
  const registered = await waitForEphemerals(zk.port, allRegistered(cluster.total), {
    timeoutMs: 600_000,
    check: () => bridge.assertAlive(),
  });
  await waitFor("the bridge in sync (/readyz)", () => inSync(bridge), {
    timeoutMs: 300_000,
    intervalMs: 100,
  });
  const initialSyncMs = registered - bridge.spawnedAt;
  const dns = await DnsClient.open(bridge.dnsPort);
  const last = services - 1;
  await waitFor(
    "DNS answering the last service",
    () => dnsReflects(dns, dnsName(last), cluster.readyAddresses(last).join(","), 100),
    { timeoutMs: 120_000, intervalMs: 100 },
  );
  console.error(
    `[${services} services] ${cluster.total} endpoints registered in ${(initialSyncMs / 1000).toFixed(1)} s; measuring`,
  );

  const observer = new WatchObserver(await connectClient(zk.connect));
  const ref = await reference(zk.connect, observer, random);

  const zkLatency: number[] = [];
  const dnsLatency: number[] = [];
  const timeline: Array<{ ms: number; sAfterSpawn: number; kind: string }> = [];
  let lost = 0;
  const cpuBefore = cpuSecondsOf(bridge.pid) ?? 0;
  const fromUs = monotonicUs();
  for (let i = 0; i < CHANGES; i++) {
    bridge.assertAlive();
    const s = Math.floor(random() * services);
    const armed = await observer.arm(servicePath(s));
    const change = cluster.change(s, random);
    const [zkAt, dnsAt] = await Promise.all([
      within(armed.fired, CHANGE_DEADLINE_MS),
      dnsReflects(dns, dnsName(s), change.expected.join(","), CHANGE_DEADLINE_MS),
    ]);
    if (zkAt === undefined || dnsAt === undefined) {
      lost++;
      observer.forget(servicePath(s));
      console.error(`change ${i} (${change.kind} on service ${s}) not seen in time`);
      continue;
    }
    zkLatency.push(zkAt - change.at);
    dnsLatency.push(dnsAt - change.at);
    timeline.push({
      ms: dnsAt - change.at,
      sAfterSpawn: (change.at - bridge.spawnedAt) / 1000,
      kind: change.kind,
    });
    if ((i + 1) % 250 === 0) console.error(`[${services} services] ${i + 1}/${CHANGES} changes`);
    await sleep(5);
  }
  const toUs = monotonicUs();
  const cpuMsPerChange = (((cpuSecondsOf(bridge.pid) ?? 0) - cpuBefore) * 1000) / CHANGES;
  const peakRssBytes = memoryOf(bridge.pid)?.peakRss ?? Number.NaN;

  dns.close();
  await closeClient(observer.client);
  await bridge.stop();
  await cluster.api.close();
  await zk.stop();

  let profile: string | undefined;
  if (profDir) {
    const file = latestProfile(profDir);
    if (file) {
      profile = `### ${services} services: bridge CPU profile, change phase only (${file})\n\n${formatProfileSummary(
        summarizeProfile(file, { fromUs, toUs }),
        { top: 25, perUnit: { count: CHANGES, name: "change" } },
      )}`;
    }
  }
  return {
    services,
    zk: summarize(zkLatency),
    dns: summarize(dnsLatency),
    refWatch: summarize(ref.watch),
    refRead: summarize(ref.read),
    lost,
    initialSyncMs,
    cpuMsPerChange,
    peakRssBytes,
    slowest: timeline.sort((x, y) => y.ms - x.ms).slice(0, 3),
    ...(profile ? { profile } : {}),
  };
}

function plot(results: readonly SizeResult[], file: string): void {
  const pts = (f: (r: SizeResult) => number) =>
    results.map((r) => [r.services, f(r)] as const).filter(([, y]) => Number.isFinite(y));
  const svg = lineChart({
    title: `Propagation: EndpointSlice change → ZooKeeper / DNS (${CHANGES} changes per size)`,
    xLabel: `Services in the registry (× ${PER_SERVICE} endpoints), log scale`,
    yLabel: "latency (ms)",
    hline: { y: 100, label: "target: p99 ≤ 100 ms" },
    series: [
      { name: "ZooKeeper p50", points: pts((r) => r.zk.p50), color: "#1f77b4" },
      { name: "ZooKeeper p99", points: pts((r) => r.zk.p99), color: "#1f77b4", dashed: true },
      { name: "DNS answer p50", points: pts((r) => r.dns.p50), color: "#ff7f0e" },
      { name: "DNS answer p99", points: pts((r) => r.dns.p99), color: "#ff7f0e", dashed: true },
      { name: "ref: ZK write→watch p50", points: pts((r) => r.refWatch.p50), color: "#2ca02c" },
      {
        name: "ref: ZK write→watch p99",
        points: pts((r) => r.refWatch.p99),
        color: "#2ca02c",
        dashed: true,
      },
    ],
  });
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, svg);
}

runBench(async () => {
  const scratch = scratchDir("propagation");
  console.error(`logs in ${scratch}`);
  const results: SizeResult[] = [];
  for (const services of SIZES) results.push(await measureSize(services, scratch));

  const row = (r: SizeResult, what: string, s: LatencySummary, ref: LatencySummary) => [
    r.services.toLocaleString("en-US"),
    what,
    String(s.n),
    ms(s.p50),
    ms(s.p95),
    ms(s.p99),
    ms(s.max),
    `${ms(ref.p50)} / ${ms(ref.p99)}`,
    ratio(s.p99, ref.p99),
  ];
  console.log(
    `\n## Propagation latency (ms), ${CHANGES} changes per size, ${PER_SERVICE} endpoints per Service\n`,
  );
  console.log(
    markdownTable([
      [
        "Services",
        "observed at",
        "n",
        "p50",
        "p95",
        "p99",
        "max",
        "ref p50 / p99",
        "p99 ÷ ref p99",
      ],
      ...results.flatMap((r) => [
        row(r, "ZooKeeper (child watch)", r.zk, r.refWatch),
        row(r, "DNS A answer", r.dns, r.refRead),
      ]),
    ]),
  );
  console.log(
    "\nref (ZooKeeper row): a plain client's create/delete of an ephemeral → the observer's child watch fires." +
      "\nref (DNS row): the same plus the re-read any watcher needs (getChildren + getData): the floor of a ZooKeeper-fed answer.",
  );
  console.log(
    `\n${markdownTable([
      [
        "Services",
        "initial sync (s)",
        "changes lost",
        "bridge CPU per change (ms)",
        "bridge peak RSS (MB)",
      ],
      ...results.map((r) => [
        r.services.toLocaleString("en-US"),
        (r.initialSyncMs / 1000).toFixed(1),
        String(r.lost),
        r.cpuMsPerChange.toFixed(1),
        MB(r.peakRssBytes),
      ]),
    ])}`,
  );
  const svgFile =
    stringArg("svg") ??
    (isDefaultRun
      ? path.join(REPO, "docs/benchmarks/propagation.svg")
      : path.join(scratch, "propagation.svg"));
  plot(results, svgFile);
  console.log(`\nplot: ${path.relative(process.cwd(), svgFile)}`);
  console.log(
    `\nslowest changes (DNS latency, when, kind): ${results
      .map(
        (r) =>
          `${r.services} Services: ${r.slowest.map((x) => `${ms(x.ms)} ms at ${x.sAfterSpawn.toFixed(1)} s (${x.kind})`).join(", ")}`,
      )
      .join("; ")}` +
      "\n(the bridge's drift check (lib/sync/syncer.ts resyncMs) runs every 60 s from its start; a change landing on it waits for it)",
  );
  for (const r of results) if (r.profile) console.log(`\n${r.profile}`);
});
