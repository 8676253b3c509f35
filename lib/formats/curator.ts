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
  const rest: [string, string][] = Object.entries(r.metadata).filter(
    ([k]) => k !== META.status && k !== META.weight && !k.startsWith(META.portPrefix),
  );
  for (const [name, port] of Object.entries(r.ports)) {
    rest.push([`${META.portPrefix}${name}`, String(port)]);
  }
  if (r.weight !== undefined) rest.push([META.weight, String(r.weight)]);
  rest.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return [[META.status, r.draining ? STATUS_OUT_OF_SERVICE : STATUS_UP], ...rest];
}

/** The znode bytes for `r`, field for field as Curator 5.4 writes them; FormatError if `r` is unwritable. */
export function encodeCurator(r: Registration, opts: CuratorEncodeOptions): Buffer {
  assertWritable(r);
  if (!Number.isSafeInteger(opts.registrationTimeUTC) || opts.registrationTimeUTC < 0) {
    throw new FormatError("bad registrationTimeUTC", String(opts.registrationTimeUTC));
  }
  const payload =
    opts.payload === "spring"
      ? jsonObject([
          ["@class", jsonString(SPRING_PAYLOAD_CLASS)],
          ["id", jsonString(r.id)],
          ["name", jsonString(r.service)],
          ["metadata", jsonObject(curatorMetadata(r).map(([k, v]) => [k, jsonString(v)]))],
        ])
      : "null";
  const json = jsonObject([
    ["name", jsonString(r.service)],
    ["id", jsonString(r.id)],
    ["address", jsonString(r.address)],
    ["port", String(r.port)],
    ["sslPort", "null"],
    ["payload", payload],
    ["registrationTimeUTC", String(opts.registrationTimeUTC)],
    ["serviceType", '"DYNAMIC"'],
    ["uriSpec", isIP(r.address) === 6 ? URI_SPEC_V6_JSON : URI_SPEC_JSON],
  ]);
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
