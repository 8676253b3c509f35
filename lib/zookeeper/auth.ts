/**
 * `--zk-auth digest:USER:PASSWORD`: nodes the bridge creates are world-readable and writable
 * by the bridge's identity only.
 */
import { createHash } from "node:crypto";
import zookeeper, { type ACL } from "node-zookeeper-client";

export interface ZkAuth {
  readonly user: string;
  readonly password: string;
}

/** Parses `digest:USER:PASSWORD` (the password may contain `:`); undefined if malformed. */
export function parseZkAuth(value: string): ZkAuth | undefined {
  const m = /^digest:([^:]+):(.+)$/.exec(value);
  return m?.[1] && m[2] ? { user: m[1], password: m[2] } : undefined;
}

/** ZooKeeper's digest id: `user:base64(sha1("user:password"))`. */
export function digestId(auth: ZkAuth): string {
  const hash = createHash("sha1").update(`${auth.user}:${auth.password}`).digest("base64");
  return `${auth.user}:${hash}`;
}

export function digestAcls(auth: ZkAuth): ACL[] {
  return [
    new zookeeper.ACL(zookeeper.Permission.READ, new zookeeper.Id("world", "anyone")),
    new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id("digest", digestId(auth))),
  ];
}

/** world:anyone ALL. (The library exports it; its type definitions forgot it.) */
export const OPEN_ACLS: ACL[] = (zookeeper.ACL as unknown as { OPEN_ACL_UNSAFE: ACL[] })
  .OPEN_ACL_UNSAFE;
