/**
 * Two replicas of `run` against one ZooKeeper and one (fake) cluster: one elected writer,
 * every replica serving DNS; handover on SIGKILL and on SIGTERM.
 */
import { describe, expect, it } from "vitest";
import { service, slice } from "../kubernetes/objects.js";
import type { BridgeProcess } from "../support/cli.js";
import { sleep, waitUntil } from "../support/wait.js";
import { ownZooKeeper, queryUdp } from "./support.js";

const SESSION_S = 4;

interface Replica {
  readonly name: string;
  readonly proc: BridgeProcess;
  readonly dnsPort: number;
}

/** A's with a short timeout; resolves to the number of A records, or -1 on no/failed answer. */
async function countA(port: number, name: string): Promise<number> {
  const p = await queryUdp(port, name, "A", 300);
  return p?.rcode === "NOERROR" ? (p.answers ?? []).filter((a) => a.type === "A").length : -1;
}

describe("two replicas (HA)", () => {
  const own = ownZooKeeper();
  let root = 0;

  /** A cluster with web.shop's three pods, and a chroot for it; both fresh. */
  async function cluster() {
    const { api, kubeconfig } = await own.cluster();
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
    await own.obs.mkdirp(chroot);
    return { chroot, kubeconfig };
  }

  async function replica(
    { chroot, kubeconfig }: { chroot: string; kubeconfig: string },
    name: string,
  ): Promise<Replica> {
    const { proc, dnsPort } = await own.run({
      zkConnect: `${own.zk.connect}${chroot}`,
      kubeconfig,
      sessionTimeout: `${SESSION_S}s`,
      env: { POD_NAME: name },
    });
    return { name, proc, dnsPort };
  }

  const isLeader = (r: Replica) => {
    const changes = r.proc.logs.filter(
      (l) => l.msg === "became leader" || l.msg === "no longer leader",
    );
    return changes.at(-1)?.msg === "became leader";
  };
  const owners = async (dir: string) => {
    const kids = await own.obs.getChildren(dir).catch(() => [] as string[]);
    return Promise.all(
      kids.map(async (k) => (await own.obs.exists(`${dir}/${k}`))?.ephemeralOwner.toString("hex")),
    );
  };

  it("exactly one writes; SIGKILL of the leader hands over with every registration restored", async () => {
    const c = await cluster();
    const dir = `${c.chroot}/services/web.shop`;
    const a = await replica(c, "replica-a");
    await waitUntil("a leads", () => isLeader(a));
    const b = await replica(c, "replica-b");
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
    const c = await cluster();
    const dir = `${c.chroot}/services/web.shop`;
    const a = await replica(c, "replica-a");
    await waitUntil("a leads", () => isLeader(a));
    const b = await replica(c, "replica-b");
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
