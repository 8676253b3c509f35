// The lean multi body against node-zookeeper-client's own TransactionRequest: the same bytes
// for every kind of op, with and without a chroot, with both ACL lists the bridge uses, and
// with non-ASCII paths (lengths are in bytes). Every sync test then writes through it to a
// real ZooKeeper (ZkSession.multi sends it).
import zookeeper from "node-zookeeper-client";
import jute from "node-zookeeper-client/lib/jute/index.js";
import { describe, expect, it } from "vitest";
import { digestAcls, OPEN_ACLS } from "../../lib/zookeeper/auth.js";
import { MultiRequest } from "../../lib/zookeeper/multi-request.js";
import type { ZkOp } from "../../lib/zookeeper/session.js";

interface Payload {
  setChrootPath(chroot: string | undefined): void;
  byteLength(): number;
  serialize(buffer: Buffer, offset: number): number;
}

const TransactionRequest = (
  jute as unknown as { TransactionRequest: new (ops: unknown[]) => Payload }
).TransactionRequest;

/** The library's op objects, as `client.transaction()` builds them. */
function libraryOps(ops: readonly ZkOp[], acls: unknown[]): unknown[] {
  return ops.map((o) => {
    switch (o.op) {
      case "create":
        return { type: jute.OP_CODES.CREATE, path: o.path, data: o.data, acls, mode: o.mode };
      case "setData":
        return { type: jute.OP_CODES.SET_DATA, path: o.path, data: o.data, version: o.version };
      case "remove":
        return { type: jute.OP_CODES.DELETE, path: o.path, version: o.version };
      default:
        return { type: jute.OP_CODES.CHECK, path: o.path, version: o.version };
    }
  });
}

function bytesOf(payload: Payload, chroot: string | undefined): Buffer {
  payload.setChrootPath(chroot);
  const buffer = Buffer.alloc(payload.byteLength() + 3, 0xee);
  const written = payload.serialize(buffer, 3); // at an offset, as after the request header
  expect(written).toBe(payload.byteLength());
  return buffer;
}

const OPS: ZkOp[] = [
  {
    op: "create",
    path: "/services/web/a1",
    data: Buffer.from('{"name":"web"}'),
    mode: zookeeper.CreateMode.EPHEMERAL,
  },
  {
    op: "create",
    path: "/services/web/member_",
    data: Buffer.alloc(0),
    mode: zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
  },
  { op: "create", path: "/", data: Buffer.from([0, 1, 2]), mode: zookeeper.CreateMode.PERSISTENT },
  { op: "setData", path: "/services/wéb/ü-1", data: Buffer.from("ßtraße"), version: 7 },
  { op: "remove", path: "/services/web/a2", version: 0 },
  { op: "check", path: "/services/web", version: -1 },
];

describe("MultiRequest", () => {
  for (const [name, acls] of [
    ["open ACLs", OPEN_ACLS],
    ["digest ACLs", digestAcls({ user: "bridge", password: "s3cret:x" })],
  ] as const) {
    for (const chroot of [undefined, "/tenant-a"]) {
      it(`writes the library's bytes (${name}, chroot ${chroot ?? "none"})`, () => {
        const ours = bytesOf(new MultiRequest(OPS, acls), chroot);
        const theirs = bytesOf(new TransactionRequest(libraryOps(OPS, acls)), chroot);
        expect(ours.toString("hex")).toBe(theirs.toString("hex"));
      });
    }
  }

  it("writes an empty multi as the end marker alone", () => {
    const ours = bytesOf(new MultiRequest([], OPEN_ACLS), undefined);
    expect(ours.subarray(3).toString("hex")).toBe("ffffffff01ffffffff");
  });

  it("re-encodes when the chroot changes (a request queued again after a reconnect)", () => {
    const request = new MultiRequest(OPS.slice(0, 1), OPEN_ACLS);
    const plain = bytesOf(request, undefined);
    const rooted = bytesOf(request, "/x");
    expect(rooted.length).toBe(plain.length + 2);
    expect(rooted.includes(Buffer.from("/x/services/web/a1"))).toBe(true);
  });
});
