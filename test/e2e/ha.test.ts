/**
 * Two replicas of `run` against one ZooKeeper and one (fake) cluster: one elected writer,
 * every replica serving DNS; handover on SIGKILL and on SIGTERM.
 */
import dgram from "node:dgram";
import dnsPacket from "dns-packet";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/log.js";
import { ZkSession } from "../../lib/zookeeper/session.js";
import { service, slice } from "../kubernetes/objects.js";
import { type BridgeProcess, startCli } from "../support/cli.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { writeKubeconfig } from "../support/kubeconfig.js";
import { sleep, waitUntil } from "../support/wait.js";
import { freePort, startZooKeeper, type ZooKeeperServer } from "../support/zookeeper.js";

const SESSION_S = 4;

interface Replica {
  readonly name: string;
  readonly proc: BridgeProcess;
  readonly dnsPort: number;
}

/** A's with a short timeout; resolves to the number of A records, or -1 on no/failed answer. */
async function countA(port: number, name: string): Promise<number> {
  const sock = dgram.createSocket("udp4");
  try {
    return await new Promise<number>((resolve) => {
      const timer = setTimeout(() => resolve(-1), 300);
      sock.on("message", (msg) => {
        clearTimeout(timer);
        const p = dnsPacket.decode(msg);
        const rcode = (p.flags ?? 0) & 0xf; // dns-packet keeps the rcode in the flags
        resolve(rcode === 0 ? (p.answers ?? []).filter((a) => a.type === "A").length : -1);
      });
      sock.send(
        dnsPacket.encode({ type: "query", id: 7, questions: [{ type: "A", name }] }),
        port,
        "127.0.0.1",
      );
    });
  } finally {
    sock.close();
  }
}

describe("two replicas (HA)", () => {
  let zk: ZooKeeperServer;
  let api: FakeApiServer;
  let obs: ZkSession;
  let kubeconfig: string;
  const replicas: Replica[] = [];
  let root = 0;

  beforeAll(async () => {
    zk = await startZooKeeper();
    obs = new ZkSession({ connect: zk.connect, sessionTimeoutMs: 10_000, logger: silentLogger() });
    await obs.start();
  });
  afterAll(async () => {
    await obs.close();
    await zk.stop();
  });
  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((r) => r.proc.stop("SIGKILL")));
    await api?.close();
  });

  async function cluster() {
    api = await FakeApiServer.start();
    kubeconfig = await writeKubeconfig(api.url);
    api.apply(service("shop", "web"));
    api.apply(
      slice("shop", "web-a", "web", {
        endpoints: [
          { address: "10.0.0.1", pod: "web-1" },
          { address: "10.0.0.2", pod: "web-2" },
          { address: "10.0.0.3", pod: "web-3" },
        ],
      }),
    );
    const chroot = `/ha-${++root}`;
    await obs.mkdirp(chroot);
    return chroot;
  }

  async function replica(chroot: string, name: string): Promise<Replica> {
    const dnsPort = await freePort();
    const proc = startCli(
      [
        "run",
        "--zk-connect",
        `${zk.connect}${chroot}`,
        "--kubeconfig",
        kubeconfig,
        "--zk-session-timeout",
        `${SESSION_S}s`,
        "--dns-listen",
        `127.0.0.1:${dnsPort}`,
        "--http-listen",
        `127.0.0.1:${await freePort()}`,
      ],
      { POD_NAME: name },
    );
    const r = { name, proc, dnsPort };
    replicas.push(r);
    return r;
  }

  const isLeader = (r: Replica) => {
    const changes = r.proc.logs.filter(
      (l) => l.msg === "became leader" || l.msg === "no longer leader",
    );
    return changes.at(-1)?.msg === "became leader";
  };
  const owners = async (dir: string) => {
    const kids = await obs.getChildren(dir).catch(() => [] as string[]);
    return Promise.all(
      kids.map(async (k) => (await obs.exists(`${dir}/${k}`))?.ephemeralOwner.toString("hex")),
    );
  };

  it("exactly one writes; SIGKILL of the leader hands over with every registration restored", async () => {
    const chroot = await cluster();
    const dir = `${chroot}/services/web.shop`;
    const a = await replica(chroot, "replica-a");
    await waitUntil("a leads", () => isLeader(a));
    const b = await replica(chroot, "replica-b");
    await waitUntil("registered", async () => (await owners(dir)).length === 3);
    await waitUntil(
      "b serves DNS",
      async () => (await countA(b.dnsPort, "web.shop.zk.internal")) === 3,
    );
    await sleep(500);
    expect(isLeader(a)).toBe(true);
    expect(isLeader(b)).toBe(false);
    expect(new Set(await owners(dir)).size).toBe(1); // one writer's session owns every node
    expect(b.proc.logs.some((l) => l.msg === "registry change")).toBe(false);
    const aSession = (await owners(dir))[0];

    const killedAt = Date.now();
    await a.proc.stop("SIGKILL");
    await waitUntil(
      "b adopts every registration",
      async () => {
        const o = await owners(dir);
        return o.length === 3 && o.every((x) => x !== undefined && x !== aSession);
      },
      (SESSION_S + 2) * 1000 + 5000,
    );
    const handover = Date.now() - killedAt;
    expect(isLeader(b)).toBe(true);
    process.stdout.write(
      `[ha] SIGKILL handover: ${handover} ms (session timeout ${SESSION_S} s)\n`,
    );
  });

  it("a SIGTERM handover keeps DNS answering for a stable service throughout", async () => {
    const chroot = await cluster();
    const dir = `${chroot}/services/web.shop`;
    const a = await replica(chroot, "replica-a");
    await waitUntil("a leads", () => isLeader(a));
    const b = await replica(chroot, "replica-b");
    await waitUntil(
      "b serves DNS",
      async () => (await countA(b.dnsPort, "web.shop.zk.internal")) === 3,
    );
    const aSession = (await owners(dir))[0];

    // Probe b's DNS every 20 ms while a shuts down and b takes over.
    let probing = true;
    let answered = 0;
    let longestGapMs = 0;
    let gapStart: number | undefined;
    const probe = (async () => {
      while (probing) {
        const n = await countA(b.dnsPort, "web.shop.zk.internal");
        const now = Date.now();
        if (n === 3) {
          answered++;
          if (gapStart !== undefined) longestGapMs = Math.max(longestGapMs, now - gapStart);
          gapStart = undefined;
        } else gapStart ??= now;
        await sleep(20);
      }
    })();
    expect(await a.proc.stop("SIGTERM")).toBe(0);
    await waitUntil("b owns every node", async () => {
      const o = await owners(dir);
      return o.length === 3 && o.every((x) => x !== aSession);
    });
    await sleep(1000);
    probing = false;
    await probe;
    if (gapStart !== undefined) longestGapMs = Math.max(longestGapMs, Date.now() - gapStart);
    process.stdout.write(
      `[ha] SIGTERM handover: ${answered} answers, longest gap ${longestGapMs} ms\n`,
    );
    expect(answered).toBeGreaterThan(10);
    expect(longestGapMs).toBe(0); // never a query without all three instances
  });
});
