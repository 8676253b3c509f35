/**
 * ZooKeeper 3.6+ `multiRead` (opcode 22): many getChildren / getData in one request, each
 * with its own result or error (unlike a multi, one failing read fails nothing else). A scan
 * of 10,000 service nodes is 50 requests instead of 10,000, each of which ZooKeeper would take
 * through its request pipeline and answer on its own. node-zookeeper-client 1.1.3 lacks it:
 * the request body is MultiRequest's, the reply is taken by lib/zookeeper/raw-replies.ts and
 * decoded here.
 *
 * Reply body (ZooKeeper's MultiResponse): per read a MultiHeader {int type, boolean done, int
 * err} and then a GetChildrenResponse {vector<ustring> children} (type 8), a GetDataResponse
 * {buffer data, Stat stat} (type 4) or an ErrorResponse {int err} (type -1); then a header
 * with done set.
 */
import type { Client, Exception, Stat } from "node-zookeeper-client";
import jute from "node-zookeeper-client/lib/jute/index.js";
import { newRecord } from "./jute-records.js";
import { MultiRequest } from "./multi-request.js";
import { queueRaw } from "./raw-replies.js";
import type { ZkRead } from "./session.js";

/** ZooKeeper's OpCode.multiRead. */
const MULTI_READ = 22;
const GET_CHILDREN = 8;
const HEADER_BYTES = 4 + 1 + 4;
const EMPTY = Buffer.alloc(0);

const CHILDREN_RESPONSE = [{ name: "children", type: "vector<ustring>" }] as const;

/** Per read: its result, or the server's error code for it. */
export type RawReadResult =
  | { readonly children: string[] }
  | { readonly data: Buffer; readonly stat: Stat }
  | { readonly errorCode: number };

/** The result type a read's own answer carries (an error is ERROR, -1). */
const RESULT_TYPE = { getChildren: GET_CHILDREN, getData: jute.OP_CODES.GET_DATA } as const;

/**
 * Decodes a multiRead reply body; throws on one that does not parse, answers a read with
 * another op's result, or answers too few reads. So each result is of its read's kind, or an
 * error.
 */
export function decodeMultiReadReply(body: Buffer, reads: readonly ZkRead[]): RawReadResult[] {
  const results: RawReadResult[] = [];
  let at = 0;
  for (;;) {
    const type = body.readInt32BE(at);
    const done = body.readUInt8(at + 4) !== 0;
    at += HEADER_BYTES;
    if (done) break;
    const read = reads[results.length];
    if (read === undefined) throw new Error(`more results than the ${reads.length} reads`);
    if (type !== jute.OP_CODES.ERROR && type !== RESULT_TYPE[read.op]) {
      throw new Error(`a result of type ${type} for ${read.op} ${read.path}`);
    }
    if (type === GET_CHILDREN) {
      const response = newRecord(CHILDREN_RESPONSE, []);
      at += response.deserialize(body, at);
      results.push({ children: (response.children as string[] | undefined) ?? [] });
    } else if (type === jute.OP_CODES.GET_DATA) {
      const GetDataResponse = jute.protocol.GetDataResponse;
      if (!GetDataResponse) throw new Error("node-zookeeper-client has no GetDataResponse");
      const response = new GetDataResponse();
      at += response.deserialize(body, at);
      results.push({
        data: (response.data as Buffer | undefined) ?? EMPTY,
        stat: response.stat as Stat,
      });
    } else {
      results.push({ errorCode: body.readInt32BE(at) });
      at += 4;
    }
  }
  if (results.length !== reads.length) {
    throw new Error(`${results.length} results for ${reads.length} reads`);
  }
  return results;
}

/** Sends the reads as one multiRead; `done` gets the server's error (UNIMPLEMENTED before 3.6) or every result. */
export function queueMultiRead(
  client: Client,
  reads: readonly ZkRead[],
  done: (error: Exception | Error | null, results?: RawReadResult[]) => void,
): void {
  queueRaw(client, MULTI_READ, new MultiRequest(reads), (error, body) => {
    if (error || !body) return done(error ?? new Error("no reply"));
    let results: RawReadResult[];
    try {
      results = decodeMultiReadReply(body, reads);
    } catch (err) {
      return done(new Error(`malformed multiRead reply: ${(err as Error).message}`));
    }
    done(null, results);
  });
}
