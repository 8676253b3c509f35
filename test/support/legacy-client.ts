/**
 * What other ZooKeeper clients write (a legacy app registering itself, an operator), through a
 * plain node-zookeeper-client rather than the bridge's session: for tests and `demo`.
 */
import zookeeper from "node-zookeeper-client";

/** Curator JSON as Curator 5.4 writes it; `payload` is null (a plain Curator app) unless given. */
export function curatorJson(
  service: string,
  id: string,
  address: string,
  port: number,
  opts: { payload?: unknown; registrationTimeUTC?: number } = {},
): Buffer {
  return Buffer.from(
    JSON.stringify({
      name: service,
      id,
      address,
      port,
      sslPort: null,
      payload: opts.payload ?? null,
      registrationTimeUTC: opts.registrationTimeUTC ?? 1700000000000,
      serviceType: "DYNAMIC",
      uriSpec: null,
    }),
  );
}

/** Creates `path` (and missing parents) holding `data`, with a short-lived plain client. */
export async function plainMkdirp(connect: string, path: string, data?: Buffer): Promise<void> {
  const client = zookeeper.createClient(connect);
  try {
    await new Promise<void>((resolve, reject) => {
      client.once("connected", () => {
        const done = (err: Error | zookeeper.Exception | null) => (err ? reject(err) : resolve());
        if (data === undefined) client.mkdirp(path, done);
        else client.mkdirp(path, data, done);
      });
      client.connect();
    });
  } finally {
    client.close();
  }
}
