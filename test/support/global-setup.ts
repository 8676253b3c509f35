/**
 * One real ZooKeeper for the whole test run; each test file takes its own chroot from it
 * (test/support/zk-chroot.ts). Tests that kill or restart ZooKeeper start their own server.
 */
import type { TestProject } from "vitest/node";
import { startZooKeeper, type ZooKeeperServer } from "./zookeeper.js";

let server: ZooKeeperServer | undefined;

export async function setup(project: TestProject) {
  server = await startZooKeeper();
  project.provide("zkConnect", server.connect);
}

export async function teardown() {
  await server?.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    zkConnect: string;
  }
}
