/**
 * Our ServerSet members in a real ZooKeeper, read the way Finagle's serverset2 reads them
 * (kazoo probe); and a member a legacy Python service registered itself, read by our decoder.
 */
import zookeeper from "node-zookeeper-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeCurator } from "../../lib/formats/curator.js";
import {
  decodeServerSet,
  encodeServerSet,
  isServerSetMember,
} from "../../lib/formats/serverset.js";
import type { HeldRegistration } from "../support/curator.js";
import { kazooReadServerSet, kazooRegisterServerSet } from "../support/kazoo.js";
import { freshChroot } from "../support/zk-chroot.js";
import { stoppingV6, web } from "./golden.js";
import { connectZk, type TestZk } from "./zk.js";

let connect: string;
let zk: TestZk;

beforeAll(async () => {
  connect = await freshChroot();
  zk = await connectZk(connect);
});
afterAll(() => zk?.close());

const basename = (p: string) => p.slice(p.lastIndexOf("/") + 1);

describe("a Finagle-style reader", () => {
  const path = "/serversets/web.shop";

  it("routes to ALIVE members only and ignores every non-member child", async () => {
    const seq = zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL;
    const alive = basename(
      await zk.create(`${path}/member_`, encodeServerSet(web, { shard: 0 }), seq),
    );
    const stopping = basename(
      await zk.create(`${path}/member_`, encodeServerSet(stoppingV6, { shard: 3 }), seq),
    );
    // Things a careless writer might leave in a ServerSet path.
    await zk.create(
      `${path}/web-7d4b9-abcde`,
      encodeCurator(web, { payload: "none", registrationTimeUTC: 1 }),
    );
    await zk.create(`${path}/status`, Buffer.from("ok"));
    expect(isServerSetMember(alive) && isServerSetMember(stopping)).toBe(true);

    const view = await kazooReadServerSet(connect, path);
    const endpoints = [...view.endpoints].sort((a, b) => a.port - b.port);
    expect(endpoints).toEqual([
      {
        kind: "endpoint",
        member: alive,
        host: "10.0.0.5",
        port: 8080,
        names: [null, "http"],
        shard: 0,
      },
      {
        kind: "endpoint",
        member: alive,
        host: "10.0.0.5",
        port: 9090,
        names: ["metrics"],
        shard: 0,
      },
    ]);
    expect(new Map(view.ignored.map((i) => [i.child, i.why]))).toEqual(
      new Map([
        [stopping, "status STOPPING"],
        ["status", "not a member"],
        ["web-7d4b9-abcde", "not a member"],
      ]),
    );
  });
});

describe("a member a legacy service registered itself (kazoo, EPHEMERAL_SEQUENTIAL)", () => {
  it("decodes, and goes when its session ends", async () => {
    const path = "/serversets/legacy";
    let held: HeldRegistration | undefined;
    try {
      held = await kazooRegisterServerSet(connect, path, "10.3.0.7", 31000, {
        endpoints: { http: 31000, admin: 31001 },
        shard: 4,
      });
      const member = basename(held.path);
      expect(isServerSetMember(member)).toBe(true);
      expect(await zk.children(path)).toEqual([member]);

      const r = decodeServerSet(await zk.getData(held.path), "legacy", member);
      expect(r).toEqual({
        service: "legacy",
        id: member,
        address: "10.3.0.7",
        port: 31000,
        ports: { http: 31000, admin: 31001 },
        metadata: {},
        draining: false,
      });
      const view = await kazooReadServerSet(connect, path);
      expect(view.endpoints.map((e) => [e.member, e.port, e.shard])).toEqual(
        expect.arrayContaining([
          [member, 31000, 4],
          [member, 31001, 4],
        ]),
      );

      await held.stop();
      expect(await zk.children(path)).toEqual([]);
    } finally {
      await held?.stop();
    }
  });
});
