/**
 * A started ZkSession for tests and benchmarks: reads and writes ZooKeeper exactly as the bridge
 * does, logging nothing.
 */
import { silentLogger } from "../../lib/log.js";
import { ZkSession } from "../../lib/zookeeper/session.js";

/** Connected to `connect` (chroot included); the caller closes it. */
export async function openSession(connect: string, sessionTimeoutMs = 4000): Promise<ZkSession> {
  const session = new ZkSession({ connect, sessionTimeoutMs, logger: silentLogger() });
  await session.start();
  return session;
}
