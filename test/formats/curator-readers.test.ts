/**
 * Our Curator bytes in a real ZooKeeper, read by real clients: Curator 5.4 as Spring Cloud
 * Zookeeper uses it, Curator as a plain (non-Spring) client uses it, and Python's kazoo.
 * And the other way round: a node a real Curator client registered, read by our decoder.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { curatorMetadata, decodeCurator, encodeCurator } from "../../lib/formats/curator.js";
import { FormatError } from "../../lib/formats/format-error.js";
import type { Registration } from "../../lib/registration.js";
import {
  compileCuratorProbe,
  curatorRead,
  curatorRegister,
  type HeldRegistration,
} from "../support/curator.js";
import { kazooReadCurator } from "../support/kazoo.js";
import { freshChroot } from "../support/zk-chroot.js";
import { drainingV6, REGISTRATION_TIME, web } from "./golden.js";
import { connectZk, type TestZk, waitUntil } from "./zk.js";

const BASE = "/services";
let connect: string;
let zk: TestZk;

beforeAll(async () => {
  connect = await freshChroot();
  zk = await connectZk(connect);
  await compileCuratorProbe();
});
afterAll(() => zk?.close());

function put(r: Registration, payload: "spring" | "none"): Promise<string> {
  const bytes = encodeCurator(r, { payload, registrationTimeUTC: REGISTRATION_TIME });
  return zk.create(`${BASE}/${r.service}/${r.id}`, bytes);
}

const byId = <T extends { id: string }>(xs: T[]) =>
  [...xs].sort((a, b) => a.id.localeCompare(b.id));

describe("spring payload nodes", () => {
  const service = "web.shop";
  const upV6: Registration = { ...web, id: "fd00--6", address: "fd00::6", ports: {} };

  beforeAll(async () => {
    await Promise.all([put(web, "spring"), put(drainingV6, "spring"), put(upV6, "spring")]);
  });

  it("a Spring Cloud Zookeeper reader gets every UP instance and drops the draining one", async () => {
    const read = await curatorRead(connect, BASE, service, "spring");
    if (!read.ok) throw new Error(read.error);
    const instances = byId(read.instances);
    expect(instances.map((i) => i.id)).toEqual(["fd00--6", "web-7d4b9-abcde"]);
    expect(instances[1]).toMatchObject({
      name: "web.shop",
      address: "10.0.0.5",
      port: 8080,
      sslPort: null,
      springPort: 8080,
      uri: "http://10.0.0.5:8080",
      springUriHost: "10.0.0.5",
      metadata: Object.fromEntries(curatorMetadata(web)),
    });
    expect(instances[0]).toMatchObject({
      address: "fd00::6",
      springPort: 8080,
      uri: "http://[fd00::6]:8080",
      springUriHost: "[fd00::6]",
    });
  });

  it("a plain Curator reader without Spring's class fails on them (why `--curator-payload none` exists)", async () => {
    const read = await curatorRead(connect, BASE, service, "plain");
    expect(read.ok).toBe(false);
    expect(read.ok ? "" : read.error).toContain(
      "org.springframework.cloud.zookeeper.discovery.ZookeeperInstance",
    );
  });

  it("kazoo reads them as exactly the JSON we wrote", async () => {
    const nodes = await kazooReadCurator(connect, BASE, service);
    expect(nodes.map((n) => n.node).sort()).toEqual(["fd00--5", "fd00--6", "web-7d4b9-abcde"]);
    for (const n of nodes) {
      const bytes = await zk.getData(`${BASE}/${service}/${n.node}`);
      expect(n.instance).toEqual(JSON.parse(bytes.toString("utf8")));
    }
  });
});

describe("payload none nodes", () => {
  const service = "orders";
  const a: Registration = { ...web, service, id: "orders-a", address: "10.0.1.1", port: 7000 };
  const b: Registration = { ...web, service, id: "orders-b", address: "10.0.1.2", port: 7001 };

  beforeAll(async () => {
    await Promise.all([put(a, "none"), put(b, "none")]);
  });

  it("a plain Curator reader reads them", async () => {
    const read = await curatorRead(connect, BASE, service, "plain");
    if (!read.ok) throw new Error(read.error);
    expect(byId(read.instances).map((i) => [i.id, i.address, i.port, i.payloadClass])).toEqual([
      ["orders-a", "10.0.1.1", 7000, undefined],
      ["orders-b", "10.0.1.2", 7001, undefined],
    ]);
  });

  it("a Spring reader reads them too (null payload = status absent = UP)", async () => {
    const read = await curatorRead(connect, BASE, service, "spring");
    if (!read.ok) throw new Error(read.error);
    expect(byId(read.instances).map((i) => [i.id, i.metadata, i.uri])).toEqual([
      ["orders-a", null, "http://10.0.1.1:7000"],
      ["orders-b", null, "http://10.0.1.2:7001"],
    ]);
  });
});

describe("a malformed node (spring-cloud-zookeeper#183)", () => {
  const service = "broken";

  it("breaks the Curator reader for the whole service, while our decoder rejects only that node", async () => {
    await put({ ...web, service, id: "good" }, "spring");
    await zk.create(`${BASE}/${service}/bad`, Buffer.from('{"name":"broken","address":'));

    const read = await curatorRead(connect, BASE, service, "spring");
    expect(read.ok).toBe(false);

    const verdicts: Record<string, string> = {};
    for (const child of await zk.children(`${BASE}/${service}`)) {
      try {
        const r = decodeCurator(await zk.getData(`${BASE}/${service}/${child}`), service, child);
        verdicts[child] = `ok ${r.address}:${r.port}`;
      } catch (err) {
        verdicts[child] = err instanceof FormatError ? err.reason : `threw ${String(err)}`;
      }
    }
    expect(verdicts).toEqual({ good: "ok 10.0.0.5:8080", bad: "not JSON" });
  });
});

describe("an instance registered by a real Curator client", () => {
  it("decodes, is visible to Curator readers, and goes when the client stops", async () => {
    let held: HeldRegistration | undefined;
    try {
      held = await curatorRegister(connect, BASE, "legacy", "legacy-1", "10.9.0.1", 7000, {
        payload: "spring",
      });
      expect(held.path).toBe(`${BASE}/legacy/legacy-1`);
      const r = decodeCurator(await zk.getData(held.path), "legacy", "legacy-1");
      expect(r).toEqual({
        service: "legacy",
        id: "legacy-1",
        address: "10.9.0.1",
        port: 7000,
        ports: {},
        metadata: { instance_status: "UP" },
        draining: false,
      });
      const read = await curatorRead(connect, BASE, "legacy", "spring");
      expect(read.ok && read.instances.map((i) => i.id)).toEqual(["legacy-1"]);

      await held.stop();
      expect(await zk.exists(held.path)).toBe(false);
    } finally {
      await held?.stop();
    }
  });

  it("a killed client's node stays until ZooKeeper expires its session", async () => {
    let held: HeldRegistration | undefined;
    try {
      held = await curatorRegister(connect, BASE, "legacy", "legacy-2", "10.9.0.2", 7000, {
        sessionTimeoutMs: 2000,
      });
      const path = held.path;
      expect(decodeCurator(await zk.getData(path), "legacy", "legacy-2").draining).toBe(false);
      await held.kill();
      // Killed, not closed: the node outlives the process…
      expect(await zk.exists(path)).toBe(true);
      // …and goes with the session.
      await waitUntil(`${path} to expire`, async () => !(await zk.exists(path)));
    } finally {
      await held?.stop();
    }
  });
});
