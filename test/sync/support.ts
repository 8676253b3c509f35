/**
 * What the syncer tests share: registrations to sync, a fresh chroot per test with its
 * teardowns, and a registry + syncer wired as lib/sync-side.ts wires them.
 */
import { afterEach, beforeEach } from "vitest";
import type { CuratorPayload } from "../../lib/config.js";
import { silentLogger } from "../../lib/log.js";
import type { DesiredRegistration } from "../../lib/registration.js";
import { type DesiredSource, Syncer, type WriteGate } from "../../lib/sync/syncer.js";
import { ZkRegistry } from "../../lib/zookeeper/registry.js";
import type { ZkSession } from "../../lib/zookeeper/session.js";
import { freshChroot } from "../support/zk-chroot.js";

/** A Curator registration of `web.shop` on port 8080 (http), no metadata; `extra` overrides. */
export function desired(
  id: string,
  address = "10.0.0.1",
  extra: Partial<DesiredRegistration> = {},
): DesiredRegistration {
  return {
    service: "web.shop",
    id,
    address,
    port: 8080,
    ports: { http: 8080 },
    metadata: {},
    draining: false,
    format: "curator",
    parent: "/services/web.shop",
    ...extra,
  };
}

export interface PerTestChroot {
  /** This test's chroot on the shared ZooKeeper, as a connect string. */
  readonly connect: string;
  /** Runs `teardown` after this test; teardowns run last first. */
  defer(teardown: () => Promise<void>): void;
}

/** Registers the hooks: before each test a fresh chroot, after it the deferred teardowns. */
export function perTestChroot(): PerTestChroot {
  let connect: string | undefined;
  const teardowns: Array<() => Promise<void>> = [];
  beforeEach(async () => {
    connect = await freshChroot();
  });
  afterEach(async () => {
    for (const t of teardowns.splice(0).reverse()) await t();
  });
  return {
    get connect() {
      if (connect === undefined) throw new Error("the chroot is made in beforeEach");
      return connect;
    },
    defer(teardown) {
      teardowns.push(teardown);
    },
  };
}

/**
 * A registry on `session` (cluster `default`, /services, /serversets) and a syncer over it,
 * logging nothing; not started.
 */
export function wireSyncer(
  session: ZkSession,
  source: DesiredSource,
  opts: { payload?: CuratorPayload; dryRun?: boolean; resyncMs?: number; gate?: WriteGate } = {},
): { registry: ZkRegistry; syncer: Syncer } {
  const registry = new ZkRegistry({
    session,
    clusterName: "default",
    basePath: "/services",
    serversetBasePath: "/serversets",
    curatorPayload: opts.payload ?? "spring",
    logger: silentLogger(),
  });
  const syncer = new Syncer({
    source,
    registry,
    session,
    logger: silentLogger(),
    dryRun: opts.dryRun ?? false,
    ...(opts.resyncMs ? { resyncMs: opts.resyncMs } : {}),
    ...(opts.gate ? { gate: opts.gate } : {}),
  });
  return { registry, syncer };
}
