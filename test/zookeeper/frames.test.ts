import zookeeper from "node-zookeeper-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seededRandom } from "../../bench/support/random.js";
import { frameSplitter } from "../../lib/zookeeper/frames.js";
import type { ZkSession } from "../../lib/zookeeper/session.js";
import { openSession } from "../support/session.js";
import { freshChroot } from "../support/zk-chroot.js";

/** A length-prefixed frame whose body is `body`. */
function frame(body: string): Buffer {
  const b = Buffer.from(body);
  const out = Buffer.alloc(4 + b.length);
  out.writeInt32BE(b.length, 0);
  b.copy(out, 4);
  return out;
}

/** A splitter on one connection that records the bodies it hands on. */
function recording(connection: () => unknown = () => "conn", stopAfter = Number.POSITIVE_INFINITY) {
  const bodies: string[] = [];
  const feed = frameSplitter(
    (f) => bodies.push(f.subarray(4).toString()),
    connection,
    () => bodies.length >= stopAfter,
  );
  return { bodies, feed };
}

describe("frameSplitter", () => {
  const bodies = ["", "a", "hello", "x".repeat(300), "z".repeat(70_000), "last"];
  const stream = Buffer.concat(bodies.map(frame));

  it("hands on each frame whole and in order, however the stream is cut into chunks", () => {
    const random = seededRandom(7);
    for (let round = 0; round < 300; round++) {
      const { bodies: seen, feed } = recording();
      let offset = 0;
      while (offset < stream.length) {
        // Mostly small chunks (splitting headers too), sometimes large ones (many frames).
        const size = random() < 0.8 ? 1 + Math.floor(random() * 8) : Math.floor(random() * 90_000);
        feed(stream.subarray(offset, offset + size));
        offset += size;
      }
      expect(seen).toEqual(bodies);
    }
  });

  it("delivers all frames of one chunk in one call", () => {
    const { bodies: seen, feed } = recording();
    feed(stream);
    expect(seen).toEqual(bodies);
  });

  it("drops a partial frame left by a previous connection", () => {
    let conn = 1;
    const { bodies: seen, feed } = recording(() => conn);
    feed(frame("from the old connection").subarray(0, 10));
    conn = 2;
    feed(frame("new"));
    expect(seen).toEqual(["new"]);
  });

  it("stops handing on frames once the handler gives up on the connection", () => {
    const { bodies: seen, feed } = recording(() => "conn", 2);
    feed(Buffer.concat([frame("one"), frame("two"), frame("three"), frame("four").subarray(0, 6)]));
    feed(frame("after"));
    // The partial "four" was not kept: "after" parses on its own.
    expect(seen).toEqual(["one", "two", "after"]);
  });

  it("passes a frame with a negative length on with the rest of the chunk", () => {
    const handed: Buffer[] = [];
    const feed = frameSplitter(
      (f) => handed.push(f),
      () => "conn",
      () => false,
    );
    const corrupt = Buffer.alloc(8);
    corrupt.writeInt32BE(-5, 0);
    feed(Buffer.concat([frame("ok"), corrupt]));
    expect(handed.map((b) => b.length)).toEqual([6, 8]);
  });
});

describe("a session reading through real ZooKeeper", () => {
  let session: ZkSession;
  const NODES = 3000;

  beforeAll(async () => {
    session = await openSession(await freshChroot());
    await session.mkdirp("/many");
    for (let i = 0; i < NODES; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, NODES - i) }, (_, j) =>
          session.create(
            `/many/n${i + j}`,
            Buffer.from(`node ${i + j} `.repeat(1 + ((i + j) % 40))),
            zookeeper.CreateMode.PERSISTENT,
          ),
        ),
      );
    }
  });
  afterAll(() => session.close());

  it("gets every reply of thousands of concurrent reads, each with its own data", async () => {
    // All in flight at once, so ZooKeeper's replies arrive many to a socket chunk.
    const reads = await Promise.all(
      Array.from({ length: NODES }, (_, i) => session.getData(`/many/n${i}`)),
    );
    reads.forEach(({ data }, i) => {
      expect(data.toString()).toBe(`node ${i} `.repeat(1 + (i % 40)));
    });
    const children = await session.getChildren("/many");
    expect(children.length).toBe(NODES);
  });
});
