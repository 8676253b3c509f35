/** ZkRegistry's writes against a real ZooKeeper (the rest is covered through the Syncer). */
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/log.js";
import type { DesiredRegistration } from "../../lib/registration.js";
import { targetOf } from "../../lib/sync/plan.js";
import { ZkRegistry } from "../../lib/zookeeper/registry.js";
import { ZkSession } from "../../lib/zookeeper/session.js";
import { freshChroot } from "../support/zk-chroot.js";

const sessions: ZkSession[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close();
});

async function session(connect: string): Promise<ZkSession> {
  const s = new ZkSession({ connect, sessionTimeoutMs: 4000, logger: silentLogger() });
  await s.start();
  sessions.push(s);
  return s;
}

function reg(service: string, id: string): DesiredRegistration {
  return {
    service,
    id,
    address: "10.0.0.1",
    port: 8080,
    ports: {},
    metadata: {},
    draining: false,
    format: "curator",
    parent: `/services/${service}`,
  };
}

describe("ZkRegistry", () => {
  it("creates missing parents in batches, and still when another client made some meanwhile", async () => {
    const connect = await freshChroot();
    const s = await session(connect);
    const other = await session(connect);
    const registry = new ZkRegistry({
      session: s,
      clusterName: "default",
      basePath: "/services",
      serversetBasePath: "/serversets",
      curatorPayload: "spring",
      logger: silentLogger(),
    });
    await registry.claimSession();
    await registry.scan([]);
    // Made after the scan: the registry does not know it exists, so its batch fails whole.
    await other.mkdirp("/services/svc-7");
    const wanted = Array.from({ length: 450 }, (_, i) => reg(`svc-${i}`, `i-${i}`));
    const result = await registry.apply(
      wanted.map((d) => ({
        kind: "create",
        target: targetOf(d),
        data: registry.render(d, undefined),
      })),
    );
    expect(result.rescan).toBe(false);
    expect(result.written).toHaveLength(450);
    for (const i of [0, 7, 199, 200, 449]) {
      expect(await other.getChildren(`/services/svc-${i}`)).toEqual([`i-${i}`]);
    }
  });
});
