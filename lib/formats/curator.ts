/**
 * Curator service-discovery znodes (`<base>/<service>/<id>`): the exact JSON Curator 5's
 * `JsonInstanceSerializer` writes (checked byte for byte against the real 5.4 jar in
 * test/fixtures/), and a tolerant reader for nodes any Curator client registered.
 */
import { isIP } from "node:net";
import { META, type Registration } from "../registration.js";
import { FormatError } from "./format-error.js";
import {
  addressProblem,
  asObject,
  asPort,
  jsonObject,
  jsonString,
  parseJsonObject,
  sortByKey,
  stringMap,
} from "./json.js";
import { assertWritable, namedPorts, weightOf } from "./metadata.js";

/** `spring`: Spring Cloud Zookeeper's payload (metadata, status); `none`: `"payload":null`. */
export type CuratorPayload = "spring" | "none";

export interface CuratorEncodeOptions {
  readonly payload: CuratorPayload;
  /** Milliseconds since the epoch, as Curator's `registrationTimeUTC`. */
  readonly registrationTimeUTC: number;
}

export const SPRING_PAYLOAD_CLASS =
  "org.springframework.cloud.zookeeper.discovery.ZookeeperInstance";
const SPRING_PAYLOAD_CLASS_JSON = jsonString(SPRING_PAYLOAD_CLASS);
export const STATUS_UP = "UP";
export const STATUS_OUT_OF_SERVICE = "OUT_OF_SERVICE";

/** Curator's `UriSpec` JSON: literal and `{variable}` parts, in order. */
function uriSpecJson(parts: readonly (readonly [string, boolean])[]): string {
  const encoded = parts.map(([value, variable]) =>
    jsonObject([
      ["value", jsonString(value)],
      ["variable", String(variable)],
    ]),
  );
  return jsonObject([["parts", `[${encoded.join(",")}]`]]);
}

/**
 * Spring Cloud Zookeeper's default `uri-spec`, `{scheme}://{address}:{port}`. Spring builds
 * every instance's `getUri()` from it (`URI.create(instance.buildUriSpec())`); with
 * `uriSpec: null` that URI would be empty.
 */
const URI_SPEC_JSON = uriSpecJson([
  ["scheme", true],
  ["://", false],
  ["address", true],
  [":", false],
  ["port", true],
]);

/** For IPv6, `{scheme}://[{address}]:{port}`: Spring's default would give `http://fd00::5:8080`, a URI with no host. */
const URI_SPEC_V6_JSON = uriSpecJson([
  ["scheme", true],
  ["://[", false],
  ["address", true],
  ["]:", false],
  ["port", true],
]);

/**
 * The payload metadata the bridge writes for `r`. The registration's own fields are
 * authoritative: `instance_status` (from `draining`), `port.<name>` (from `ports`) and
 * `weight` are regenerated, whatever `r.metadata` says about them. `instance_status` comes
 * first, the rest sorted, so equal registrations always give equal bytes.
 */
export function curatorMetadata(r: Registration): [string, string][] {
  const rest: [string, string][] = [];
  for (const key in r.metadata) {
    if (key === META.status || key === META.weight || key.startsWith(META.portPrefix)) continue;
    rest.push([key, r.metadata[key] as string]);
  }
  for (const name in r.ports) rest.push([`${META.portPrefix}${name}`, String(r.ports[name])]);
  if (r.weight !== undefined) rest.push([META.weight, String(r.weight)]);
  sortByKey(rest, ([k]) => k);
  rest.unshift([META.status, r.draining ? STATUS_OUT_OF_SERVICE : STATUS_UP]);
  return rest;
}

/** The znode bytes for `r`, field for field as Curator 5.4 writes them; FormatError if `r` is unwritable. */
export function encodeCurator(r: Registration, opts: CuratorEncodeOptions): Buffer {
  assertWritable(r);
  if (!Number.isSafeInteger(opts.registrationTimeUTC) || opts.registrationTimeUTC < 0) {
    throw new FormatError("bad registrationTimeUTC", String(opts.registrationTimeUTC));
  }
  // Written out rather than through jsonObject: the same bytes, rendered 100k times at start.
  const name = jsonString(r.service);
  const id = jsonString(r.id);
  let payload = "null";
  if (opts.payload === "spring") {
    let metadata = "";
    for (const [k, v] of curatorMetadata(r)) {
      metadata += `${metadata === "" ? "" : ","}${jsonString(k)}:${jsonString(v)}`;
    }
    payload = `{"@class":${SPRING_PAYLOAD_CLASS_JSON},"id":${id},"name":${name},"metadata":{${metadata}}}`;
  }
  const uriSpec = isIP(r.address) === 6 ? URI_SPEC_V6_JSON : URI_SPEC_JSON;
  const json =
    `{"name":${name},"id":${id},"address":${jsonString(r.address)},"port":${r.port},` +
    `"sslPort":null,"payload":${payload},"registrationTimeUTC":${opts.registrationTimeUTC},` +
    `"serviceType":"DYNAMIC","uriSpec":${uriSpec}}`;
  return Buffer.from(json, "utf8");
}

/**
 * Read any Curator-registered node (ours or another client's) as a Registration; FormatError
 * if it cannot be served, never another exception.
 * - `service` and the id come from the znode path (`nodeName` is unique among its siblings);
 * - metadata from any payload that has a `metadata` object (Spring's or another class's);
 * - draining if `enabled` is false or `instance_status` is set and not `UP` (Spring's rule);
 * - ports from metadata `port.<name>`, plus `sslPort` as `https`; the primary is `port`,
 *   else `sslPort`; weight from metadata `weight`.
 */
export function decodeCurator(
  data: Uint8Array | null | undefined,
  service: string,
  nodeName: string,
): Registration {
  const node = parseJsonObject(data);
  const problem = addressProblem(node.address);
  if (problem) throw new FormatError(problem);
  const port = optionalPort(node.port, "bad port");
  const sslPort = optionalPort(node.sslPort, "bad sslPort");
  const primary = port ?? sslPort;
  if (primary === undefined) throw new FormatError("missing port");

  const metadata = stringMap(asObject(node.payload)?.metadata);
  const ports = namedPorts(metadata);
  if (sslPort !== undefined && ports.https === undefined) ports.https = sslPort;
  const weight = weightOf(metadata);
  return {
    service,
    id: nodeName,
    address: node.address as string,
    port: primary,
    ports,
    metadata,
    draining: isDisabled(node.enabled) || !isUp(metadata[META.status]),
    ...(weight === undefined ? {} : { weight }),
  };
}

/** Spring keeps an instance whose status is absent, blank or `UP` (any case). */
function isUp(status: string | undefined): boolean {
  return status === undefined || status.trim() === "" || status.toUpperCase() === STATUS_UP;
}

/** Curator 4+ `enabled` flag; Jackson also coerces the string `"false"`. */
function isDisabled(enabled: unknown): boolean {
  return enabled === false || enabled === "false";
}

/** Absent or null is fine (undefined); present but not a port is garbage. */
function optionalPort(v: unknown, reason: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const port = asPort(v);
  if (port === undefined) throw new FormatError(reason, JSON.stringify(v).slice(0, 40));
  return port;
}
