/**
 * A fresh chroot on the shared test ZooKeeper, so test files never see each other's nodes.
 */
import { randomBytes } from "node:crypto";
import zookeeper from "node-zookeeper-client";
import { inject } from "vitest";

/** Connect string `127.0.0.1:<port>/t-<random>` whose chroot node exists. */
export async function freshChroot(connect: string = inject("zkConnect")): Promise<string> {
  const chroot = `/t-${randomBytes(6).toString("hex")}`;
  const client = zookeeper.createClient(connect, { sessionTimeout: 5000 });
  await new Promise<void>((resolve, reject) => {
    client.once("connected", () => {
      client.mkdirp(chroot, (err) => (err ? reject(err) : resolve()));
    });
    client.connect();
  });
  client.close();
  return `${connect}${chroot}`;
}
