/**
 * The ZooKeeper component's probes and start command, run for real against ZooKeeper 3.8:
 * - probe.sh `live`/`ready` against the shared test server, a closed port, and an ensemble
 *   member without a quorum (alive, not ready) that becomes ready once a quorum forms;
 * - the StatefulSet's own container command starts each member, deriving myid from the pod
 *   name and reading the rendered zoo.cfg. The image's `zkServer.sh start-foreground` is
 *   stood in for by a two-line script that starts Debian's ZooKeeper the same way.
 * zoo.cfg is the rendered one with only what one machine needs changed: member addresses
 * become 127.0.0.1 with a free port each, and every socket binds to loopback.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { IStatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import { afterAll, describe, expect, inject, it } from "vitest";
import { waitUntil } from "../support/wait.js";
import { freePort, ruok } from "../support/zookeeper.js";
import { one, render, VARIANTS } from "./manifests.js";

const objects = render(VARIANTS.complete);
const sts = one<IStatefulSet>(objects, "StatefulSet", "zookeeper");
const container = sts.spec?.template.spec?.containers[0] as IContainer;
const configMap = one<IConfigMap>(
  objects,
  "ConfigMap",
  sts.spec?.template.spec?.volumes?.find((v) => v.name === "config")?.configMap?.name,
);
const ZOO_CFG = configMap.data?.["zoo.cfg"] ?? "";
const work = mkdtempSync(path.join(tmpdir(), "kzb-zk-ensemble-"));
const PROBE = path.join(work, "probe.sh");
writeFileSync(PROBE, configMap.data?.["probe.sh"] ?? "");

const members: ChildProcess[] = [];
afterAll(async () => {
  for (const m of members) {
    if (m.exitCode === null && m.signalCode === null) {
      const gone = new Promise((r) => m.once("exit", r));
      m.kill("SIGKILL");
      await gone;
    }
  }
  rmSync(work, { recursive: true, force: true });
});

function probe(kind: "live" | "ready", port: number) {
  const r = spawnSync("bash", [PROBE, kind], {
    encoding: "utf8",
    env: { ...process.env, ZK_CLIENT_PORT: String(port) },
    timeout: 10_000,
  });
  return { code: r.status, stderr: r.stderr };
}

/** `host:port` of the shared test ZooKeeper (standalone). */
const sharedPort = () => Number(inject("zkConnect").split(":")[1]);

describe("probe.sh", () => {
  it("passes both probes on a serving standalone server", () => {
    expect(probe("live", sharedPort())).toEqual({ code: 0, stderr: "" });
    expect(probe("ready", sharedPort())).toEqual({ code: 0, stderr: "" });
  });

  it("fails both on a port where nothing listens, saying so", async () => {
    const port = await freePort();
    const live = probe("live", port);
    const ready = probe("ready", port);
    expect(live.code).toBe(1);
    expect(ready.code).toBe(1);
    expect(ready.stderr).toContain(`zookeeper srvr on 127.0.0.1:${port}: no reply`);
  });

  it("rejects an unknown probe kind", () => {
    expect(spawnSync("bash", [PROBE, "healthy"], { encoding: "utf8" }).status).toBe(2);
  });
});

describe("a member started by the StatefulSet's command from the rendered zoo.cfg", () => {
  const zkServerShim = path.join(work, "bin", "zkServer.sh");
  mkdirSync(path.dirname(zkServerShim));
  // The official image's zkServer.sh runs QuorumPeerMain on $ZOOCFGDIR/zoo.cfg in the foreground.
  writeFileSync(
    zkServerShim,
    `#!/bin/bash
[[ "$1" == start-foreground ]] || exit 2
exec java $JVMFLAGS -cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar -Dzookeeper.root.logger=WARN,CONSOLE -Dzookeeper.console.threshold=WARN org.apache.zookeeper.server.quorum.QuorumPeerMain "$ZOOCFGDIR/zoo.cfg"
`,
    { mode: 0o755 },
  );

  it("raises jute.maxbuffer so a 100,000-node session close can be replayed (ZOOKEEPER-4306)", () => {
    const flags = container.env?.find((e) => e.name === "JVMFLAGS")?.value ?? "";
    const bytes = Number(/-Djute\.maxbuffer=(\d+)/.exec(flags)?.[1] ?? 0);
    // A close lists every ephemeral of the session; ~40 bytes a path, 100,000 paths.
    expect(bytes).toBeGreaterThanOrEqual(100_000 * 40 * 2);
  });

  interface Ports {
    client: number;
    follower: number;
    election: number;
  }

  /** The rendered zoo.cfg for member `ordinal` on this machine. */
  function localZooCfg(ordinal: number, ports: Ports[], dataDir: string): string {
    const lines = ZOO_CFG.split("\n").map((line) => {
      const server = /^server\.(\d+)=([^:]+):(\d+):(\d+)$/.exec(line);
      if (server) {
        const p = ports[Number(server[1]) - 1] as Ports;
        return `server.${server[1]}=127.0.0.1:${p.follower}:${p.election}`;
      }
      if (line.startsWith("dataDir=")) return `dataDir=${dataDir}`;
      if (line.startsWith("clientPort=")) return `clientPort=${ports[ordinal]?.client}`;
      if (line.startsWith("quorumListenOnAllIPs=")) return "quorumListenOnAllIPs=false";
      return line;
    });
    expect(lines.filter((l) => l.startsWith("server.")).length).toBe(ports.length);
    return `${lines.join("\n")}\nclientPortAddress=127.0.0.1\n`;
  }

  function startMember(ordinal: number, ports: Ports[]): string {
    const dir = path.join(work, `zookeeper-${ordinal}`);
    const data = path.join(dir, "data");
    mkdirSync(path.join(dir, "conf"), { recursive: true });
    mkdirSync(data);
    writeFileSync(path.join(dir, "conf", "zoo.cfg"), localZooCfg(ordinal, ports, data));
    const jvmFlags = container.env?.find((e) => e.name === "JVMFLAGS")?.value ?? "";
    const [cmd, ...args] = container.command ?? [];
    const child = spawn(cmd as string, args, {
      env: {
        PATH: `${path.dirname(zkServerShim)}:${process.env.PATH}`,
        HOSTNAME: `${sts.metadata?.name}-${ordinal}`,
        ZOOCFGDIR: path.join(dir, "conf"),
        // The manifest's flags, plus a small heap and a quick start for a test machine.
        JVMFLAGS: `${jvmFlags} -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1`,
      },
      stdio: "ignore",
    });
    members.push(child);
    return data;
  }

  it("is alive but not ready alone, and ready once a quorum forms; myid follows the pod ordinal", async () => {
    const replicas = sts.spec?.replicas ?? 0;
    expect(replicas).toBe(3);
    const ports: Ports[] = [];
    for (let i = 0; i < replicas; i++) {
      ports.push({
        client: await freePort(),
        follower: await freePort(),
        election: await freePort(),
      });
    }
    const p0 = ports[0] as Ports;
    const p1 = ports[1] as Ports;

    const data0 = startMember(0, ports);
    await waitUntil("member 0 answers ruok", () => ruok(p0.client), 30_000);
    expect(probe("live", p0.client).code).toBe(0);
    const alone = probe("ready", p0.client);
    expect(alone.code).toBe(1);
    expect(alone.stderr).toMatch(/not currently serving requests/);

    const data1 = startMember(1, ports);
    // Two of three members: a quorum.
    await waitUntil(
      "members 0 and 1 ready",
      () => probe("ready", p0.client).code === 0 && probe("ready", p1.client).code === 0,
      45_000,
      250,
    );
    expect(readFileSync(path.join(data0, "myid"), "utf8")).toBe("1\n");
    expect(readFileSync(path.join(data1, "myid"), "utf8")).toBe("2\n");
  });
});
