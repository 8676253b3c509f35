/**
 * `kube-zk-bridge run` seen from its HTTP side, as kubelet, curl and an operator see it: the
 * built binary, a real ZooKeeper (our own: one test kills it), the fake Kubernetes API server,
 * real DNS packets (dig and node:dgram). Also the process's logs and its SIGTERM lifecycle.
 */
import { execFile } from "node:child_process";
import dgram from "node:dgram";
import { promisify } from "node:util";
import dnsPacket from "dns-packet";
import { describe, expect, it } from "vitest";
import type { DecodedReply } from "../dns/support.js";
import { type EndpointSpec, service, slice } from "../kubernetes/objects.js";
import type { FakeApiServer } from "../support/fake-apiserver.js";
import { curatorJson, plainMkdirp } from "../support/legacy-client.js";
import { sleep, waitUntil } from "../support/wait.js";
import { ownZooKeeper, queryUdp, type RunBridge } from "./support.js";

const ZONE = "zk.internal";
const run = promisify(execFile);

interface Readyz {
  status: string;
  notReady: string[];
  parts: Record<string, { ready: boolean; detail?: string }>;
}

interface Served {
  service: string;
  id: string;
  address: string;
  port: number;
  draining: boolean;
  weight?: number;
}

/** `dig` as an operator types it; the status and the answer section's records. */
async function dig(port: number, name: string, type: string) {
  const { stdout } = await run("dig", [
    `@127.0.0.1`,
    "-p",
    String(port),
    name,
    type,
    "+norec",
    "+time=2",
    "+tries=1",
    "+noall",
    "+comments",
    "+answer",
  ]);
  const status = /status: ([A-Z]+)/.exec(stdout)?.[1];
  const answers = stdout
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith(";"))
    .map((l) => l.trim().split(/\s+/));
  return { status, answers };
}

/** The A addresses of a NOERROR reply, sorted; undefined for any other outcome. */
const addressesOf = (p: DecodedReply | undefined) =>
  p?.rcode === "NOERROR"
    ? (p.answers ?? []).flatMap((a) => (a.type === "A" ? [a.data] : [])).sort()
    : undefined;

describe("kube-zk-bridge run: HTTP side, logs, lifecycle (end to end)", () => {
  const own = ownZooKeeper();
  let chroots = 0;

  interface Bridge extends RunBridge {
    readonly root: string;
  }

  /** A fresh chroot, API server and `run` process. */
  async function bridge(
    opts: { sessionTimeout?: string; extra?: string[]; seed?: (api: FakeApiServer) => void } = {},
  ): Promise<Bridge & { api: FakeApiServer }> {
    const { api, kubeconfig } = await own.cluster();
    opts.seed?.(api);
    const root = `/http-${++chroots}`;
    // Our observer reconnects on its own after the test that restarts ZooKeeper.
    await waitUntil(`chroot ${root}`, async () => {
      await own.obs.mkdirp(root);
      return true;
    });
    const started = await own.run({
      zkConnect: `${own.zk.connect}${root}`,
      kubeconfig,
      sessionTimeout: opts.sessionTimeout ?? "6s",
      extra: opts.extra,
    });
    return { ...started, root, api };
  }

  function shop(fake: FakeApiServer, endpoints: EndpointSpec[]) {
    fake.apply(service("shop", "web", { ports: [{ name: "http", port: 80, targetPort: 8080 }] }));
    fake.apply(
      slice("shop", "web-abc", "web", { ports: [{ name: "http", port: 8080 }], endpoints }),
    );
  }
  const twoPods: EndpointSpec[] = [
    { address: "10.0.0.5", pod: "web-1" },
    { address: "10.0.0.6", pod: "web-2" },
  ];

  /** GET /readyz; undefined while nothing listens yet. */
  async function readyz(b: Bridge) {
    try {
      const r = await fetch(`${b.http}/readyz`);
      return { code: r.status, body: (await r.json()) as Readyz };
    } catch {
      return undefined;
    }
  }
  const ready = (b: Bridge) =>
    waitUntil("/readyz 200", async () => ((await readyz(b))?.code === 200 ? true : undefined));

  it("/readyz is 503 naming kubernetes until the API server answers, then 200 with every part; /healthz 200", async () => {
    const b = await bridge({
      seed: (fake) => {
        shop(fake, twoPods);
        fake.failNext(1_000_000, 500); // every list and watch fails until reset
      },
    });
    const down = await waitUntil("/readyz 503 naming kubernetes", async () => {
      const r = await readyz(b);
      return r?.code === 503 && r.body.notReady.includes("kubernetes") ? r.body : undefined;
    });
    expect(down.status).toBe("not ready");
    expect(down.parts.kubernetes?.ready).toBe(false);
    const health = await fetch(`${b.http}/healthz`);
    expect(health.status).toBe(200);

    b.api.failNext(0);
    // The informers retry with a growing backoff: allow for a few doublings.
    const up = await waitUntil(
      "/readyz 200",
      async () => {
        const r = await readyz(b);
        return r?.code === 200 ? r.body : undefined;
      },
      40_000,
    );
    expect(up.status).toBe("ready");
    expect(up.notReady).toEqual([]);
    for (const part of ["zookeeper", "kubernetes", "catalog", "dns"]) {
      expect(up.parts[part], part).toMatchObject({ ready: true });
    }
    expect(up.parts.dns?.detail).toContain(String(b.dnsPort));
    expect((await fetch(`${b.http}/healthz`)).status).toBe(200);
  });

  it("within --dns-serve-stale DNS answers from the last snapshot and /readyz shows staleness; beyond it 503, and 200 again once ZooKeeper is back", async () => {
    const b = await bridge({
      seed: (fake) => shop(fake, twoPods),
      sessionTimeout: "2s",
      extra: ["--dns-serve-stale", "2s"],
    });
    const name = `web.shop.${ZONE}`;
    await ready(b);
    await waitUntil("DNS serves web.shop", async () =>
      addressesOf(await queryUdp(b.dnsPort, name, "A"))?.length === 2 ? true : undefined,
    );
    try {
      await own.zk.kill();
      // Serve-stale is only 2 s: look at DNS and /readyz together, as often as possible.
      const stale = await waitUntil(
        "stale but ready",
        async () => {
          const [r, p] = await Promise.all([readyz(b), queryUdp(b.dnsPort, name, "A")]);
          return r?.code === 200 && /stale/.test(r.body.parts.catalog?.detail ?? "")
            ? { body: r.body, addresses: addressesOf(p) }
            : undefined;
        },
        5000,
        20,
      );
      expect(stale.addresses).toEqual(["10.0.0.5", "10.0.0.6"]);
      expect(stale.body.parts.zookeeper?.detail).toMatch(/disconnected|connecting/);

      const past = await waitUntil(
        "/readyz 503 past serve-stale",
        async () => {
          const r = await readyz(b);
          return r?.code === 503 ? r.body : undefined;
        },
        15_000,
      );
      expect(past.notReady).toContain("zookeeper");
      expect(past.notReady).toContain("catalog");
      expect(past.parts.catalog?.detail).toMatch(/past --dns-serve-stale/);
      expect((await queryUdp(b.dnsPort, name, "A"))?.rcode).toBe("SERVFAIL");
      expect((await fetch(`${b.http}/healthz`)).status).toBe(200);
    } finally {
      await own.zk.start();
    }
    await waitUntil("/readyz 200 after ZooKeeper is back", async () => {
      const r = await readyz(b);
      return r?.code === 200 ? true : undefined;
    }).catch(async (err) => {
      throw new Error(`${String(err)}; last /readyz: ${JSON.stringify((await readyz(b))?.body)}`);
    });
    expect(addressesOf(await queryUdp(b.dnsPort, name, "A"))).toEqual(["10.0.0.5", "10.0.0.6"]);
  });

  it("/registrations is what DNS serves (dig A and SRV per service, legacy nodes included)", async () => {
    const b = await bridge({
      seed: (fake) =>
        shop(fake, [
          ...twoPods,
          { address: "10.0.0.7", pod: "web-3" },
          { address: "10.0.0.8", pod: "web-4", ready: false, serving: true, terminating: true },
        ]),
    });
    // A legacy client registers itself with a plain ZooKeeper client.
    await plainMkdirp(
      `${own.zk.connect}${b.root}`,
      "/services/billing.legacy/billing-1",
      curatorJson("billing.legacy", "billing-1", "192.168.50.10", 7001),
    );
    await ready(b);

    const served = await waitUntil("both services in /registrations", async () => {
      const r = (await (await fetch(`${b.http}/registrations`)).json()) as {
        instances: Served[];
      };
      const services = new Set(r.instances.map((i) => i.service));
      const web = r.instances.filter((i) => i.service === "web.shop" && !i.draining);
      const drainingOne = r.instances.some((i) => i.id === "web-4" && i.draining);
      return services.has("billing.legacy") && web.length === 3 && drainingOne
        ? r.instances
        : undefined;
    });
    expect(served.find((i) => i.id === "billing-1")).toMatchObject({
      address: "192.168.50.10",
      port: 7001,
    });

    const byService = new Map<string, Served[]>();
    for (const i of served) {
      if (!i.draining) byService.set(i.service, [...(byService.get(i.service) ?? []), i]);
    }
    expect([...byService.keys()].sort()).toEqual(["billing.legacy", "web.shop"]);
    for (const [svc, instances] of byService) {
      const a = await dig(b.dnsPort, `${svc}.${ZONE}`, "A");
      expect(a.status, svc).toBe("NOERROR");
      expect(a.answers.map((r) => r[4]).sort(), svc).toEqual(
        instances.map((i) => i.address).sort(),
      );
      const srv = await dig(b.dnsPort, `${svc}.${ZONE}`, "SRV");
      expect(srv.status, svc).toBe("NOERROR");
      // name TTL IN SRV priority weight port target
      expect(srv.answers.map((r) => `${r[6]} ${r[7]?.toLowerCase()}`).sort(), svc).toEqual(
        instances.map((i) => `${i.port} ${i.id}.${svc}.${ZONE}.`.toLowerCase()).sort(),
      );
    }
    // Every instance, the draining one too, answers at its own name with its own address…
    for (const i of served) {
      const one = await dig(b.dnsPort, `${i.id}.${i.service}.${ZONE}`, "A");
      expect(one.status, i.id).toBe("NOERROR");
      expect(
        one.answers.map((r) => r[4]),
        i.id,
      ).toEqual([i.address]);
    }
    // …but the draining pod is not in the service's own answers.
    const web = await dig(b.dnsPort, `web.shop.${ZONE}`, "A");
    expect(web.answers.map((r) => r[4])).not.toContain("10.0.0.8");
  });

  it("logs JSON lines: one per registry change at info, nothing per DNS query", async () => {
    const b = await bridge({ seed: (fake) => shop(fake, [{ address: "10.0.0.5", pod: "web-1" }]) });
    const changes = () => b.proc.logs.filter((l) => l.msg === "registry change");
    await ready(b);
    await waitUntil("first registration logged", () => changes().length === 1);

    shop(b.api, [
      { address: "10.0.0.5", pod: "web-1" },
      { address: "10.0.0.6", pod: "web-2" },
      { address: "10.0.0.7", pod: "web-3" },
    ]);
    await waitUntil("two more registry changes", () => changes().length === 3);
    shop(b.api, [
      { address: "10.0.0.5", pod: "web-1" },
      { address: "10.0.0.6", pod: "web-2" },
    ]);
    await waitUntil("one removal", () => changes().length === 4);
    await sleep(500); // nothing else is logged for these three changes
    const lines = changes();
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(l.level).toBe(30); // pino's info
    expect(lines.map((l) => `${l.change} ${String(l.path).replace(b.root, "")}`)).toEqual([
      "create /services/web.shop/web-1",
      "create /services/web.shop/web-2",
      "create /services/web.shop/web-3",
      expect.stringMatching(/^\w+ \/services\/web\.shop\/web-3$/),
    ]);
    expect(lines[3]?.change).not.toBe("create");

    // 200 queries of every outcome: the log must not grow with them.
    await waitUntil("DNS serves web.shop", async () =>
      addressesOf(await queryUdp(b.dnsPort, `web.shop.${ZONE}`, "A"))?.length === 2
        ? true
        : undefined,
    );
    const before = b.proc.logs.length;
    const names: Array<[string, dnsPacket.RecordType]> = [
      [`web.shop.${ZONE}`, "A"],
      [`web.shop.${ZONE}`, "SRV"],
      [`nothing.${ZONE}`, "A"],
      ["example.com", "A"],
    ];
    const sock = dgram.createSocket("udp4");
    let answered = 0;
    sock.on("message", () => {
      answered++;
    });
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
    try {
      for (let i = 0; i < 200; i++) {
        const [name, type] = names[i % names.length] as [string, dnsPacket.RecordType];
        sock.send(
          dnsPacket.encode({ type: "query", id: i, questions: [{ type, name }] }),
          b.dnsPort,
          "127.0.0.1",
        );
        if (i % 20 === 19) await sleep(5); // pace: no receive-buffer overflow
      }
      await waitUntil("200 answers", () => answered === 200, 10_000);
    } finally {
      sock.close();
    }
    await sleep(300);
    expect(b.proc.logs.length - before).toBeLessThanOrEqual(3);

    // Every stdout line is a pino JSON object (cli.ts keeps unparsable lines as bare {msg}).
    for (const l of b.proc.logs) {
      expect(typeof l.level, JSON.stringify(l)).toBe("number");
      expect(typeof l.time, JSON.stringify(l)).toBe("number");
      expect(typeof l.msg, JSON.stringify(l)).toBe("string");
    }
  });

  it("SIGTERM: exit 0, and the bridge's ephemerals are gone at once (session closed, not expired)", async () => {
    // A 30 s session: only a closed session explains the nodes vanishing right at exit.
    const b = await bridge({
      seed: (fake) => shop(fake, twoPods),
      sessionTimeout: "30s",
    });
    const dir = `${b.root}/services/web.shop`;
    const paths = [`${dir}/web-1`, `${dir}/web-2`];
    await ready(b);
    const owners = await waitUntil("both registered", async () => {
      const stats = await Promise.all(paths.map((p) => own.obs.exists(p)));
      return stats.every((s) => s !== null) ? stats : undefined;
    });
    for (const s of owners) expect(s?.ephemeralOwner.toString("hex")).not.toBe("0000000000000000");

    const started = performance.now();
    const code = await b.proc.stop("SIGTERM");
    const tookMs = Math.round(performance.now() - started);
    console.info(`SIGTERM → exit ${code} in ${tookMs} ms`);
    expect(code).toBe(0);
    const after = await Promise.all(paths.map((p) => own.obs.exists(p)));
    expect(after).toEqual([null, null]);
    expect(b.proc.logs.some((l) => l.msg === "shutting down")).toBe(true);
    expect(b.proc.logs.at(-1)?.msg).toBe("stopped");
  });
});
