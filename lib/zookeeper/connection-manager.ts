/**
 * node-zookeeper-client's ConnectionManager, which the lean request paths (reads, multis,
 * addWatch) queue on directly. Its typings do not describe it; callers name the members they
 * rely on, so a library upgrade that renames one fails at the first use, loudly.
 */
import type { Client } from "node-zookeeper-client";

export function connectionManagerOf<T extends object>(
  client: Client,
  ...members: ReadonlyArray<keyof T & string>
): T {
  const manager = (client as unknown as { connectionManager?: Record<string, unknown> })
    .connectionManager;
  for (const m of members) {
    if (manager?.[m] === undefined) {
      throw new Error(`node-zookeeper-client has no connectionManager.${m}`);
    }
  }
  return manager as unknown as T;
}
