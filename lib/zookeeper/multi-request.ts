/**
 * The body of a `multi` request written straight into bytes: the same bytes as
 * node-zookeeper-client's TransactionRequest (1.1.3), which builds a jute record per op, a
 * MultiHeader record per op and two records per ACL of every create, then measures each
 * record three times (the request's length, the transaction's, each record's own bounds
 * check). A recovery writing 100,000 registrations spent a fifth of its CPU there and in the
 * garbage it left. Here each op is measured once and written once; the ACL list, the same
 * for every create of a session, is encoded once per list.
 *
 * Wire format (ZooKeeper's MultiOperationRecord): per op a MultiHeader {int type, boolean
 * done = false, int err = -1} and the op's request record; then MultiHeader {-1, true, -1}.
 * A multi's reply is the library's own TransactionResponse (it picks it by the header's op
 * code). The same body carries a ZooKeeper 3.6 multiRead's reads (lib/zookeeper/multi-read.ts).
 */
import zookeeper, { type ACL, type Client, type Exception } from "node-zookeeper-client";
import jute, { type JuteRecord } from "node-zookeeper-client/lib/jute/index.js";
import { connectionManagerOf, requestOf } from "./connection-manager.js";
import { createException } from "./raw-replies.js";
import type { ZkOp, ZkRead } from "./session.js";

/** Per op of a multi's reply, as the library's TransactionResponse reads it. */
export interface MultiResult {
  readonly type: number;
  readonly path?: string;
  readonly stat?: zookeeper.Stat;
  readonly err?: number;
}

interface Connection {
  queue(
    request: unknown,
    callback: (error: Exception | null, response?: { payload: { results: MultiResult[] } }) => void,
  ): void;
}

/**
 * Sends a multi as the library's `transaction().commit()` does, with the lean body. `done`
 * gets the first failing op's error with every op's result (the others say
 * RUNTIME_INCONSISTENCY), or null and the results.
 */
export function queueMulti(
  client: Client,
  ops: readonly ZkOp[],
  acls: readonly ACL[],
  done: (error: Exception | null, results?: MultiResult[]) => void,
): void {
  const connection = connectionManagerOf<Connection>(client, "queue");
  const request = requestOf(jute.OP_CODES.MULTI, new MultiRequest(ops, acls));
  connection.queue(request, (error, response) => {
    if (error || !response) return done(error ?? createException(zookeeper.Exception.SYSTEM_ERROR));
    const results = response.payload.results;
    const failed = results.find((r) => r.type === jute.OP_CODES.ERROR && r.err !== 0);
    done(failed?.err !== undefined ? createException(failed.err) : null, results);
  });
}

const OP = {
  create: jute.OP_CODES.CREATE,
  remove: jute.OP_CODES.DELETE,
  setData: jute.OP_CODES.SET_DATA,
  check: jute.OP_CODES.CHECK,
  getData: jute.OP_CODES.GET_DATA,
  /** GetChildrenRequest (op 8), the only children read a multiRead takes. */
  getChildren: 8,
} as const;

/** int type, boolean done, int err. */
const HEADER_BYTES = 4 + 1 + 4;

const encodedAcls = new WeakMap<readonly ACL[], Buffer>();
const NO_ACLS: readonly ACL[] = [];

/** vector<ACL>: count, then each ACL record, as the library's own records write them. */
function aclBytes(acls: readonly ACL[]): Buffer {
  let bytes = encodedAcls.get(acls);
  if (bytes) return bytes;
  const records = acls.map((a) => (a as unknown as { toRecord(): JuteRecord }).toRecord());
  bytes = Buffer.alloc(records.reduce((size, r) => size + r.byteLength(), 4));
  let at = bytes.writeInt32BE(acls.length, 0);
  for (const r of records) at += r.serialize(bytes, at);
  encodedAcls.set(acls, bytes);
  return bytes;
}

function writeString(buffer: Buffer, value: string, at: number): number {
  const length = buffer.write(value, at + 4, "utf8");
  buffer.writeInt32BE(length, at);
  return at + 4 + length;
}

/** The request payload the library's connection queues: chroot, length, bytes. */
export class MultiRequest {
  private chroot = "";
  private bytes: Buffer | undefined;

  constructor(
    private readonly ops: ReadonlyArray<ZkOp | ZkRead>,
    /** For creates; a multiRead has none. */
    private readonly acls: readonly ACL[] = NO_ACLS,
  ) {}

  /** Called by the library's queue before the request is written (as for its own records). */
  setChrootPath(chroot: string | undefined): void {
    this.chroot = chroot ?? "";
    this.bytes = undefined;
  }

  byteLength(): number {
    return this.encoded().length;
  }

  serialize(buffer: Buffer, offset: number): number {
    return this.encoded().copy(buffer, offset);
  }

  /** As the library does it: the chroot in front, and "/" is the chroot itself. */
  private pathOf(path: string): string {
    if (!this.chroot) return path;
    return path === "/" ? this.chroot : `${this.chroot}${path}`;
  }

  private encoded(): Buffer {
    if (this.bytes) return this.bytes;
    const acl = aclBytes(this.acls);
    const paths = this.ops.map((o) => this.pathOf(o.path));
    let size = HEADER_BYTES;
    this.ops.forEach((o, i) => {
      size += HEADER_BYTES + 4 + Buffer.byteLength(paths[i] as string);
      if (o.op === "create") size += 4 + o.data.length + acl.length + 4;
      else if (o.op === "setData") size += 4 + o.data.length + 4;
      else if (o.op === "getData" || o.op === "getChildren") size += 1;
      else size += 4;
    });
    const b = Buffer.allocUnsafe(size); // every byte is written below
    let at = 0;
    this.ops.forEach((o, i) => {
      at = b.writeInt32BE(OP[o.op], at);
      at = b.writeUInt8(0, at);
      at = b.writeInt32BE(-1, at);
      at = writeString(b, paths[i] as string, at);
      switch (o.op) {
        case "create":
          at = b.writeInt32BE(o.data.length, at);
          at += o.data.copy(b, at);
          at += acl.copy(b, at);
          at = b.writeInt32BE(o.mode, at);
          break;
        case "setData":
          at = b.writeInt32BE(o.data.length, at);
          at += o.data.copy(b, at);
          at = b.writeInt32BE(o.version, at);
          break;
        case "remove":
        case "check":
          at = b.writeInt32BE(o.version, at);
          break;
        case "getData":
        case "getChildren":
          at = b.writeUInt8(0, at); // no watch: a multiRead sets none
          break;
      }
    });
    at = b.writeInt32BE(-1, at);
    at = b.writeUInt8(1, at);
    b.writeInt32BE(-1, at);
    this.bytes = b;
    return b;
  }
}
