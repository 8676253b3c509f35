/**
 * Flags + environment → one frozen, validated Config. Every flag also reads `KZB_<FLAG>`; a flag
 * beats env. A bad value is one line naming the flag and what it accepts (the CLI exits 2).
 *
 * `FLAGS` is the single definition of the command line: help, parsing and the manifests'
 * container args (checked by a test) all read it.
 */
import { readFileSync } from "node:fs";
import net from "node:net";
import { parseListenAddress } from "./dns/listen-address.js";
import { LOG_LEVELS, type LogLevel } from "./log.js";
import { FORMATS, type Format } from "./registration.js";
import { parseZkAuth, type ZkAuth } from "./zookeeper/auth.js";

export const COMMANDS = ["run", "sync", "dns", "ls", "demo"] as const;
export type Command = (typeof COMMANDS)[number];

export type CuratorPayload = "spring" | "none";
export type EndpointsApi = "endpointslices" | "endpoints";

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface Config {
  readonly zkConnect: string;
  readonly zkSessionTimeoutMs: number;
  readonly basePath: string;
  readonly serversetBasePath: string;
  readonly formats: readonly Format[];
  readonly curatorPayload: CuratorPayload;
  readonly endpointsApi: EndpointsApi;
  readonly zkAuth: ZkAuth | undefined;
  readonly kubeconfig: string | undefined;
  readonly namespaces: readonly string[] | "all";
  readonly clusterName: string;
  readonly serviceNameTemplate: string;
  /** Lower case, with the trailing dot: `zk.internal.` */
  readonly zone: string;
  readonly dnsListen: ListenAddress;
  readonly dnsTtlSeconds: number;
  readonly dnsServeStaleMs: number;
  readonly httpListen: ListenAddress;
  readonly dryRun: boolean;
  readonly logLevel: LogLevel;
  /** `ls --json` */
  readonly json: boolean;
}

/** A bad flag value or usage. `message` is the one line shown to the operator. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

interface FlagDef {
  /** Flag name without dashes, e.g. `zk-connect`. */
  readonly name: string;
  readonly default: string | undefined;
  readonly accepts: string;
  readonly boolean?: true;
  /** Which Config field it fills and how; throws a plain message on a bad value. */
  readonly apply: (raw: string, into: Record<string, unknown>) => void;
}

const flag = (
  name: string,
  def: string | undefined,
  accepts: string,
  apply: FlagDef["apply"],
): FlagDef => ({ name, default: def, accepts, apply });

/** A switch, off by default: `--name` alone turns it on; a given value is read as a boolean. */
const booleanFlag = (name: string, field: "dryRun" | "json"): FlagDef => ({
  name,
  default: "false",
  accepts: "true or false",
  apply: (v, c) => {
    c[field] = parseBool(v);
  },
  boolean: true,
});

export const FLAGS: readonly FlagDef[] = [
  flag("zk-connect", "127.0.0.1:2181", "host:port[,host:port…][/chroot]", (v, c) => {
    c.zkConnect = parseZkConnect(v);
  }),
  flag("zk-session-timeout", "10s", "a duration between 1s and 10m, e.g. 10s", (v, c) => {
    c.zkSessionTimeoutMs = parseDuration(v, 1000, 600_000);
  }),
  flag("base-path", "/services", "an absolute znode path, e.g. /services", (v, c) => {
    c.basePath = parseZnodePath(v);
  }),
  flag("serverset-base-path", "/serversets", "an absolute znode path, e.g. /serversets", (v, c) => {
    c.serversetBasePath = parseZnodePath(v);
  }),
  flag("format", "curator", "curator, serverset, or both comma-separated", (v, c) => {
    c.formats = parseList(v, FORMATS);
  }),
  flag("curator-payload", "spring", "spring or none", (v, c) => {
    c.curatorPayload = parseOne(v, ["spring", "none"]);
  }),
  flag("endpoints-api", "endpointslices", "endpointslices or endpoints", (v, c) => {
    c.endpointsApi = parseOne(v, ["endpointslices", "endpoints"]);
  }),
  flag("zk-auth", undefined, "digest:USER:PASSWORD, or @FILE holding it", (v, c) => {
    c.zkAuth = parseZkAuthValue(v);
  }),
  flag("kubeconfig", undefined, "a kubeconfig file path", (v, c) => {
    if (!v) throw new Error("empty path");
    c.kubeconfig = v;
  }),
  flag("namespaces", undefined, "comma-separated namespace names (default: all)", (v, c) => {
    c.namespaces = parseNamespaces(v);
  }),
  flag("cluster-name", "default", "a DNS label, e.g. prod-eu1", (v, c) => {
    c.clusterName = parseLabel(v);
  }),
  flag(
    "service-name-template",
    "{service}.{namespace}",
    "a template using {service}, {namespace}, {cluster}",
    (v, c) => {
      c.serviceNameTemplate = parseTemplate(v);
    },
  ),
  flag("zone", "zk.internal.", "a DNS zone name not under .local, e.g. zk.internal.", (v, c) => {
    c.zone = parseZone(v);
  }),
  flag("dns-listen", "0.0.0.0:1053", "IP:port, e.g. 0.0.0.0:1053 or [::]:1053", (v, c) => {
    // The DNS server's own parser: a value it would refuse at bind time fails here, as a flag.
    const { host, port } = parseListenAddress(v.trim());
    c.dnsListen = { host, port };
  }),
  flag("dns-ttl", "5s", "a duration between 0s and 1d in whole seconds, e.g. 5s", (v, c) => {
    c.dnsTtlSeconds = wholeSeconds(parseDuration(v, 0, 86_400_000));
  }),
  flag("dns-serve-stale", "5m", "a duration between 0s and 1d, e.g. 5m", (v, c) => {
    c.dnsServeStaleMs = parseDuration(v, 0, 86_400_000);
  }),
  flag("http-listen", "0.0.0.0:8080", "host:port, e.g. 0.0.0.0:8080", (v, c) => {
    c.httpListen = parseListen(v);
  }),
  booleanFlag("dry-run", "dryRun"),
  flag("log-level", "info", LOG_LEVELS.join(", "), (v, c) => {
    c.logLevel = parseOne(v, LOG_LEVELS);
  }),
  booleanFlag("json", "json"),
];

/** `--zk-connect` ⇔ `KZB_ZK_CONNECT` */
export function envName(flagName: string): string {
  return `KZB_${flagName.toUpperCase().replaceAll("-", "_")}`;
}

export interface ParsedCommandLine {
  readonly command: Command | "help" | "version";
  readonly config: Config;
}

/** Parses argv (without node and script) and env into a command and a frozen Config. */
export function parseCommandLine(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): ParsedCommandLine {
  const byName = new Map(FLAGS.map((f) => [f.name, f]));
  const given = new Map<string, string>();
  let command: ParsedCommandLine["command"] | undefined;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--help" || arg === "-h") return { command: "help", config: defaults(env) };
    if (arg === "--version") return { command: "version", config: defaults(env) };
    if (!arg.startsWith("--")) {
      if (command) throw new ConfigError(`unexpected argument "${arg}": one command only`);
      if (!(COMMANDS as readonly string[]).includes(arg)) {
        throw new ConfigError(`unknown command "${arg}": expected one of ${COMMANDS.join(", ")}`);
      }
      command = arg as Command;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const def = byName.get(name);
    if (!def) throw new ConfigError(`unknown flag --${name} (see --help)`);
    let value: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (value === undefined) {
      if (def.boolean) value = "true";
      else {
        value = argv[++i];
        if (value === undefined) throw new ConfigError(`--${name} needs a value: ${def.accepts}`);
      }
    }
    given.set(name, value);
  }
  if (!command) throw new ConfigError(`missing command: expected one of ${COMMANDS.join(", ")}`);
  return { command, config: build(given, env) };
}

function defaults(env: Readonly<Record<string, string | undefined>>): Config {
  return build(new Map(), env);
}

function build(
  given: Map<string, string>,
  env: Readonly<Record<string, string | undefined>>,
): Config {
  const into: Record<string, unknown> = {
    zkAuth: undefined,
    kubeconfig: undefined,
    namespaces: "all",
  };
  for (const def of FLAGS) {
    const fromFlag = given.get(def.name);
    const fromEnv = env[envName(def.name)];
    const raw = fromFlag ?? fromEnv ?? def.default;
    if (raw === undefined) continue;
    try {
      def.apply(raw, into);
    } catch (err) {
      const source =
        fromFlag !== undefined
          ? `--${def.name}`
          : fromEnv !== undefined
            ? `${envName(def.name)} (--${def.name})`
            : `--${def.name}`;
      throw new ConfigError(
        `invalid ${source} "${redact(def.name, raw)}": ${(err as Error).message}; expected ${def.accepts}`,
      );
    }
  }
  const config = into as unknown as Config;
  if (nested(config.basePath, config.serversetBasePath)) {
    throw new ConfigError(
      `invalid --serverset-base-path "${config.serversetBasePath}": must not overlap --base-path "${config.basePath}" (each format has its own tree)`,
    );
  }
  return Object.freeze(config);
}

/** Never echo a secret back into logs or terminals. */
function redact(flagName: string, raw: string): string {
  return flagName === "zk-auth" && raw.startsWith("digest:") ? "digest:…" : raw;
}

function nested(a: string, b: string): boolean {
  const under = (x: string, y: string) => x === y || x.startsWith(`${y}/`) || y === "/";
  return under(a, b) || under(b, a);
}

// ── value parsers: each throws a short reason; the caller adds flag and accepted values ──

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `10s`, `2m`, `1h`, `1d` → milliseconds, within [min, max]. */
export function parseDuration(raw: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const m = DURATION.exec(raw.trim());
  if (!m) throw new Error("not a duration");
  const ms = Math.round(Number(m[1]) * (UNIT_MS[m[2] as string] as number));
  if (ms < min || ms > max) throw new Error("out of range");
  return ms;
}

function wholeSeconds(ms: number): number {
  if (ms % 1000 !== 0) throw new Error("DNS TTLs are whole seconds");
  return ms / 1000;
}

function parseOne<T extends string>(raw: string, allowed: readonly T[]): T {
  const v = raw.trim().toLowerCase();
  if (!(allowed as readonly string[]).includes(v)) throw new Error("not an accepted value");
  return v as T;
}

function parseList<T extends string>(raw: string, allowed: readonly T[]): T[] {
  const items = raw.split(",").map((s) => parseOne(s, allowed));
  if (items.length === 0) throw new Error("empty");
  return [...new Set(items)];
}

function parseBool(raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (["true", "1", "yes"].includes(v)) return true;
  if (["false", "0", "no", ""].includes(v)) return false;
  throw new Error("not a boolean");
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function parseLabel(raw: string): string {
  if (!LABEL.test(raw)) throw new Error("not a lower-case DNS label");
  return raw;
}

function parseNamespaces(raw: string): string[] | "all" {
  if (raw.trim() === "" || raw.trim() === "all") return "all";
  return [...new Set(raw.split(",").map((s) => parseLabel(s.trim())))];
}

function parseZnodePath(raw: string): string {
  const p = raw.trim();
  if (!p.startsWith("/") || p === "/" || p.endsWith("/") || p.includes("//")) {
    throw new Error("not an absolute znode path");
  }
  if (p.split("/").some((seg) => seg === "." || seg === "..")) throw new Error("relative segment");
  return p;
}

function parseZkConnect(raw: string): string {
  const v = raw.trim();
  const slash = v.indexOf("/");
  const hosts = slash < 0 ? v : v.slice(0, slash);
  if (slash >= 0) parseZnodePath(v.slice(slash));
  if (hosts.includes("["))
    throw new Error("IPv6 literals are not supported by the ZooKeeper client; use a host name");
  for (const h of hosts.split(",")) {
    const m = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(h);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new Error(`bad host:port "${h}"`);
  }
  return v;
}

function parseZkAuthValue(raw: string): ZkAuth {
  const text = raw.startsWith("@") ? readSecretFile(raw.slice(1)) : raw;
  const auth = parseZkAuth(text.trim());
  if (!auth) throw new Error("not digest:USER:PASSWORD");
  return auth;
}

function readSecretFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    throw new Error(`cannot read ${file}`);
  }
}

function parseTemplate(raw: string): string {
  if (!raw.includes("{service}")) throw new Error("must contain {service}");
  const unknown = raw
    .match(/\{[^}]*\}/g)
    ?.filter((p) => !["{service}", "{namespace}", "{cluster}"].includes(p));
  if (unknown?.length) throw new Error(`unknown placeholder ${unknown[0]}`);
  return raw;
}

function parseZone(raw: string): string {
  const z = `${raw.trim().toLowerCase().replace(/\.$/, "")}.`;
  if (z === ".") throw new Error("the root zone cannot be served");
  if (
    z.length > 254 ||
    !z
      .slice(0, -1)
      .split(".")
      .every((l) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(l))
  ) {
    throw new Error("not a DNS name");
  }
  if (z === "local." || z.endsWith(".local.")) throw new Error(".local is mDNS");
  return z;
}

function parseListen(raw: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(raw.trim());
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || !host || port > 65535) throw new Error("not host:port");
  if (m[1] && net.isIPv6(m[1]) === false) throw new Error("bad IPv6 address");
  return { host, port };
}
