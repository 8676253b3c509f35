/**
 * ZooKeeper errors as one class with a stable `code` name, so callers branch on strings
 * (`NODE_EXISTS`, `NO_NODE`, `BAD_VERSION`, `TIMEOUT`, …) instead of library numbers.
 */
import zookeeper from "node-zookeeper-client";

const NAMES: Record<number, string> = {};
for (const [name, value] of Object.entries(zookeeper.Exception)) {
  if (typeof value === "number") NAMES[value] = name;
}

export class ZkError extends Error {
  override readonly name = "ZkError";
  constructor(
    /** Library code name, or `TIMEOUT` when the call got no answer in time. */
    readonly code: string,
    message: string,
    /** For a failed multi: the index of the op that failed. */
    readonly index?: number,
  ) {
    super(`${message}: ${code}`);
  }

  static from(err: unknown, what: string): ZkError {
    if (err instanceof ZkError) return err;
    const code = (err as { getCode?: () => number }).getCode?.();
    if (typeof code === "number") return ZkError.fromCode(code, what);
    return new ZkError("CLIENT_ERROR", `${what}: ${(err as Error).message ?? String(err)}`);
  }

  static fromCode(code: number, what: string, index?: number): ZkError {
    return new ZkError(NAMES[code] ?? `CODE_${code}`, what, index);
  }

  /** Errors after which the same call may succeed once the connection is back. */
  get transient(): boolean {
    return ["TIMEOUT", "CONNECTION_LOSS", "SESSION_EXPIRED", "OPERATION_TIMEOUT"].includes(
      this.code,
    );
  }
}
