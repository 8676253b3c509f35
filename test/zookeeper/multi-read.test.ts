/**
 * multiRead (lib/zookeeper/multi-read.ts) through a ZkSession, on a real ZooKeeper 3.8
 * (chrooted): each read's own result or error, the same as the one-by-one reads; and against
 * the same server made to look older than 3.6, where the session falls back for good.
 */
import zookeeper from "node-zookeeper-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestId } from "../../lib/zookeeper/auth.js";
import { decodeMultiReadReply } from "../../lib/zookeeper/multi-read.js";
import { type ZkRead, ZkSession } from "../../lib/zookeeper/session.js";
import { capturingLogger } from "../catalog/support.js";
import { startPre36Proxy } from "../support/pre-3.6-proxy.js";
import { openSession } from "../support/session.js";
import { waitUntil } from "../support/wait.js";
import { freshChroot } from "../support/zk-chroot.js";

const PERSISTENT = zookeeper.CreateMode.PERSISTENT;

let connect: string;
let session: ZkSession;

const READS: ZkRead[] = [
  { op: "getChildren", path: "/svc" },
  { op: "getData", path: "/svc/a" },
  { op: "getChildren", path: "/missing" },
  { op: "getData", path: "/svc/b" },
  { op: "getChildren", path: "/svc/a" }, // no children
  { op: "getData", path: "/svc/ü-ß" },
  { op: "getData", path: "/secret" },
  { op: "getData", path: "/svc/gone" },
];

beforeAll(async () => {
  connect = await freshChroot();
  session = await openSession(connect);
  await session.create("/svc", Buffer.alloc(0), PERSISTENT);
  await session.create("/svc/a", Buffer.from("alpha"), PERSISTENT);
  await session.create("/svc/b", Buffer.alloc(0), PERSISTENT);
  await session.create("/svc/ü-ß", Buffer.from("ünïcode"), PERSISTENT);
  await session.setData("/svc/a", Buffer.from("alpha-2"), -1);
  // Readable by its owner only (a plain client's node): NO_AUTH for everyone else.
  const raw = zookeeper.createClient(connect);
  raw.addAuthInfo("digest", Buffer.from("owner:pw"));
  await new Promise<void>((resolve) => {
    raw.once("connected", () => resolve());
    raw.connect();
  });
  const onlyOwner = [
    new zookeeper.ACL(
      zookeeper.Permission.ALL,
      new zookeeper.Id("digest", digestId({ user: "owner", password: "pw" })),
    ),
  ];
  await new Promise<void>((resolve, reject) =>
    raw.create("/secret", Buffer.from("s"), onlyOwner, PERSISTENT, (e) =>
      e ? reject(e) : resolve(),
    ),
  );
  raw.close();
});

afterAll(async () => {
  await session?.close();
});

/** What the one-by-one reads say, in multiRead's shape. */
async function oneByOne(s: ZkSession, reads: readonly ZkRead[]) {
  return Promise.all(
    reads.map((r) =>
      (r.op === "getData"
        ? s.getData(r.path)
        : s.getChildren(r.path).then((children) => ({ children: children.sort() }))
      ).catch((error: { code: string }) => ({ error: error.code })),
    ),
  );
}

function comparable(results: Awaited<ReturnType<ZkSession["multiRead"]>>) {
  return results.map((r) =>
    "error" in r
      ? { error: r.error.code }
      : "children" in r
        ? { children: [...r.children].sort() }
        : r,
  );
}

describe("multiRead", () => {
  it("answers each read on its own, as the one-by-one reads do (NO_NODE and NO_AUTH for theirs alone)", async () => {
    const results = await session.multiRead(READS);
    expect(comparable(results)).toEqual(await oneByOne(session, READS));
    expect(comparable(results).map((r) => ("error" in r ? r.error : "ok"))).toEqual([
      "ok",
      "ok",
      "NO_NODE",
      "ok",
      "ok",
      "ok",
      "NO_AUTH",
      "NO_NODE",
    ]);
    const a = results[1] as { data: Buffer; stat: zookeeper.Stat };
    expect(a.data.toString()).toBe("alpha-2");
    expect(a.stat.version).toBe(1);
    expect((results[0] as { children: string[] }).children.sort()).toEqual(["a", "b", "ü-ß"]);
    expect((results[5] as { data: Buffer }).data.toString()).toBe("ünïcode");
  });

  it("takes hundreds of reads in one request, and nothing at all", async () => {
    const many: ZkRead[] = Array.from({ length: 300 }, (_, i) => ({
      op: i % 2 ? "getData" : "getChildren",
      path: i % 3 ? "/svc/a" : "/svc",
    }));
    const results = await session.multiRead(many);
    expect(results).toHaveLength(300);
    expect(results.every((r) => !("error" in r))).toBe(true);
    expect(await session.multiRead([])).toEqual([]);
  });
});

describe("decodeMultiReadReply", () => {
  const one: ZkRead[] = [{ op: "getData", path: "/a" }];
  const two: ZkRead[] = [...one, { op: "getChildren", path: "/b" }];
  const end = Buffer.from("ffffffff01ffffffff", "hex");
  const errorResult = Buffer.from("ffffffff00ffffff9bffffff9b", "hex"); // NO_NODE (-101)

  it("reads an error result and the end marker", () => {
    expect(decodeMultiReadReply(Buffer.concat([errorResult, end]), one)).toEqual([
      { errorCode: -101 },
    ]);
  });

  it("throws on a body cut short, a result of an unknown type, or too few results", () => {
    expect(() => decodeMultiReadReply(errorResult.subarray(0, 7), one)).toThrow();
    expect(() => decodeMultiReadReply(errorResult, one)).toThrow(); // no end marker
    const unknown = Buffer.from("0000000e00000000000000", "hex"); // type 14 (a multi's)
    expect(() => decodeMultiReadReply(Buffer.concat([unknown, end]), one)).toThrow(/type 14/);
    expect(() => decodeMultiReadReply(Buffer.concat([errorResult, end]), two)).toThrow(
      /1 results for 2/,
    );
  });

  it("throws on a result of another read's kind, or more results than reads", () => {
    const noChildren = Buffer.from("000000080000000000" + "00000000", "hex"); // getChildren: []
    expect(() => decodeMultiReadReply(Buffer.concat([noChildren, end]), one)).toThrow(
      /type 8 for getData \/a/,
    );
    expect(decodeMultiReadReply(Buffer.concat([errorResult, noChildren, end]), two)).toEqual([
      { errorCode: -101 },
      { children: [] },
    ]);
    expect(() => decodeMultiReadReply(Buffer.concat([errorResult, errorResult, end]), one)).toThrow(
      /more results than the 1 reads/,
    );
  });
});

describe("on a server older than 3.6", () => {
  it("falls back to one read per request for good, says so once, and answers the same", async () => {
    const [hostPort = "", chroot = ""] = connect.split(/(?=\/)/);
    const proxy = await startPre36Proxy(Number(hostPort.split(":")[1]));
    const { logger, lines } = capturingLogger();
    const old = new ZkSession({
      connect: `${proxy.connect}${chroot}`,
      sessionTimeoutMs: 4000,
      logger,
    });
    await old.start();
    try {
      // The refusal closes the connection: the reads under way then may be lost with it.
      let results: Awaited<ReturnType<ZkSession["multiRead"]>> | undefined;
      await waitUntil("answered", async () => {
        results = await old.multiRead(READS).catch(() => undefined);
        return results !== undefined;
      });
      expect(comparable(results ?? [])).toEqual(await oneByOne(session, READS));
      expect(comparable(await old.multiRead(READS))).toEqual(await oneByOne(session, READS));
      expect(proxy.refused).toBe(1); // asked once, then never again
      expect(lines.filter((l) => /older than 3\.6/.test(l.msg))).toHaveLength(1);
    } finally {
      await old.close();
      await proxy.close();
    }
  });
});
