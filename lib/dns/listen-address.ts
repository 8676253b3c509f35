/** `--dns-listen` values: `host:port` with an IP literal host (`[v6]:port` for IPv6). */
import { isIPv4, isIPv6 } from "node:net";

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** Parse `0.0.0.0:1053`, `[::]:53`, `127.0.0.1:0`, `:1053` (all IPv4 interfaces). */
export function parseListenAddress(value: string): ListenAddress {
  const bad = (why: string) =>
    new Error(`listen address "${value}": ${why} (expected host:port, e.g. 0.0.0.0:1053)`);
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  if (!m) throw bad("not host:port");
  const host = m[1] ?? (m[2] === "" ? "0.0.0.0" : (m[2] as string));
  const port = Number(m[3]);
  if (port > 65535) throw bad("port above 65535");
  if (m[1] !== undefined) {
    if (!isIPv6(host)) throw bad("not an IPv6 address in brackets");
    return { host, port, family: 6 };
  }
  if (!isIPv4(host)) throw bad("host must be an IP address");
  return { host, port, family: 4 };
}

/** A `{host, port}` already parsed by the config (lib/config.ts) → a ListenAddress. */
export function toListenAddress(a: {
  readonly host: string;
  readonly port: number;
}): ListenAddress {
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) {
    throw new Error(`listen port ${a.port}: must be 0-65535`);
  }
  if (isIPv6(a.host)) return { host: a.host, port: a.port, family: 6 };
  if (isIPv4(a.host)) return { host: a.host, port: a.port, family: 4 };
  throw new Error(`listen host "${a.host}": must be an IP address`);
}
