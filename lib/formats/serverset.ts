/**
 * Finagle / Twitter-commons ServerSet members (`<path>/member_<seq>`): the JSON their
 * `JsonCodec` writes (fields in its order: serviceEndpoint, additionalEndpoints, status,
 * shard) and a tolerant reader shaped like Finagle's `serverset2.Endpoint.parseJson`.
 */
import type { Registration } from "../registration.js";
import { FormatError } from "./format-error.js";
import {
  addressProblem,
  asObject,
  asPort,
  jsonObject,
  jsonString,
  parseJsonObject,
  stringMap,
} from "./json.js";
import { assertWritable, weightOf } from "./metadata.js";

export const SERVERSET_MEMBER_PREFIX = "member_";
export const STATUS_ALIVE = "ALIVE";
export const STATUS_STOPPING = "STOPPING";

export interface ServerSetEncodeOptions {
  /** The member's shard number (Aurora writes the instance index; 0 when unsharded). */
  readonly shard: number;
}

/** True for the children Finagle reads: `member_` and the sequence digits ZooKeeper appended. */
export function isServerSetMember(name: string): boolean {
  return /^member_\d+$/.test(name);
}

function endpoint(host: string, port: number): string {
  return jsonObject([
    ["host", jsonString(host)],
    ["port", String(port)],
  ]);
}

/**
 * The member bytes for `r`; FormatError if `r` is unwritable. `additionalEndpoints` holds
 * every named port, the primary included, as Aurora's announcer does: Finagle clients
 * configured with a named endpoint (`…!http`) look only there, and Finagle merges names that
 * share a host:port, so the duplicate costs nothing. Names are sorted for stable bytes.
 */
export function encodeServerSet(r: Registration, opts: ServerSetEncodeOptions): Buffer {
  assertWritable(r);
  if (!Number.isSafeInteger(opts.shard) || opts.shard < 0) {
    throw new FormatError("bad shard", String(opts.shard));
  }
  const additional = Object.entries(r.ports)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, port]): [string, string] => [name, endpoint(r.address, port)]);
  const json = jsonObject([
    ["serviceEndpoint", endpoint(r.address, r.port)],
    ["additionalEndpoints", jsonObject(additional)],
    ["status", jsonString(r.draining ? STATUS_STOPPING : STATUS_ALIVE)],
    ["shard", String(opts.shard)],
  ]);
  return Buffer.from(json, "utf8");
}

/**
 * Read any ServerSet member as a Registration; FormatError if it cannot be served, never
 * another exception. The id is the member's node name; only `ALIVE` is up (Finagle routes
 * nothing else); ports come from `additionalEndpoints` on the same host (an endpoint on
 * another host cannot be one instance's port, so it is skipped); metadata from the optional
 * `metadata` map newer Finagle versions write.
 */
export function decodeServerSet(
  data: Uint8Array | null | undefined,
  service: string,
  nodeName: string,
): Registration {
  const node = parseJsonObject(data);
  const primary = asObject(node.serviceEndpoint);
  if (!primary) throw new FormatError("missing serviceEndpoint");
  const problem = addressProblem(primary.host);
  if (problem) throw new FormatError(problem);
  const host = primary.host as string;
  if (primary.port === undefined || primary.port === null) throw new FormatError("missing port");
  const port = asPort(primary.port);
  if (port === undefined)
    throw new FormatError("bad port", JSON.stringify(primary.port).slice(0, 40));

  const ports: [string, number][] = [];
  for (const [name, value] of Object.entries(asObject(node.additionalEndpoints) ?? {})) {
    const ep = asObject(value);
    const p = asPort(ep?.port);
    if (ep?.host === host && p !== undefined) ports.push([name, p]);
  }
  const metadata = stringMap(node.metadata);
  const weight = weightOf(metadata);
  return {
    service,
    id: nodeName,
    address: host,
    port,
    ports: Object.fromEntries(ports),
    metadata,
    draining: node.status !== STATUS_ALIVE,
    ...(weight === undefined ? {} : { weight }),
  };
}
