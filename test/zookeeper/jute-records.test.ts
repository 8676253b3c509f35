// The lean jute codec against node-zookeeper-client's own, on every record class the library
// defines, with random field values: same bytes written, same fields read back. (Every test
// that talks to ZooKeeper runs through it too: ZkSession installs it.)
import jute, { type JuteRecord, type RecordClass } from "node-zookeeper-client/lib/jute/index.js";
import { describe, expect, it } from "vitest";
import {
  deserializeRecord,
  initRecord,
  installJuteRecords,
  recordByteLength,
  serializeRecord,
} from "../../lib/zookeeper/jute-records.js";

// Taken before anything installs the codec (each test file has its own module graph).
const originalClasses = {
  data: { ...jute.data },
  protocol: { ...jute.protocol },
} as const;
const recordPrototype = Object.getPrototypeOf(jute.data.Stat?.prototype) as JuteRecord;
const original = {
  byteLength: recordPrototype.byteLength,
  serialize: recordPrototype.serialize,
  deserialize: recordPrototype.deserialize,
};

let seed = 12345;
function random(n: number): number {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % n;
}

function randomValue(type: string): unknown {
  const vector = /^vector<([\w.]+)>$/.exec(type);
  if (vector?.[1]) {
    const element = vector[1];
    return random(5) === 0
      ? undefined
      : Array.from({ length: random(4) }, () => randomValue(element));
  }
  const data = /^data\.(\w+)$/.exec(type);
  if (data?.[1]) return randomRecord(originalClasses.data[data[1]] as RecordClass);
  switch (type) {
    case "int":
      return random(2 ** 31) - 2 ** 30;
    case "long":
      return Buffer.from(Array.from({ length: 8 }, () => random(256)));
    case "buffer":
      return random(5) === 0
        ? undefined
        : Buffer.from(Array.from({ length: random(40) }, () => random(256)));
    case "ustring":
      return random(5) === 0
        ? undefined
        : ["/", "/services/a", "/é/中文/😀", "", `/svc/${random(1000)}`][random(5)];
    case "boolean":
      return random(2) === 1;
  }
  throw new Error(`test has no generator for ${type}`);
}

function randomRecord(cls: RecordClass): JuteRecord {
  const record = new cls();
  for (const a of record.specification) record[a.name] = randomValue(a.type);
  return record;
}

/** A record's fields as plain values, nested records included. */
function fields(record: JuteRecord): unknown {
  return Object.fromEntries(
    record.specification.map((a) => {
      const v = record[a.name];
      const plain = (x: unknown): unknown =>
        Buffer.isBuffer(x)
          ? `hex:${x.toString("hex")}`
          : x && typeof x === "object" && "specification" in x
            ? fields(x as JuteRecord)
            : x;
      return [a.name, Array.isArray(v) ? v.map(plain) : plain(v)];
    }),
  );
}

const allClasses = [
  ...Object.entries(originalClasses.data).map(([n, c]) => [`data.${n}`, c] as const),
  ...Object.entries(originalClasses.protocol).map(([n, c]) => [`protocol.${n}`, c] as const),
];

describe("jute records", () => {
  it.each(allClasses)("%s: writes the library's bytes and reads its fields", (_, cls) => {
    for (let round = 0; round < 50; round++) {
      const record = randomRecord(cls);
      if (round % 3 === 0) record.chrootPath = "/chroot";
      const size = original.byteLength.call(record);
      expect(recordByteLength(record)).toBe(size);

      const theirs = Buffer.alloc(size + 3, 0xaa);
      const ours = Buffer.alloc(size + 3, 0xaa);
      expect(serializeRecord(record, ours, 3)).toBe(original.serialize.call(record, theirs, 3));
      expect(ours.equals(theirs)).toBe(true);

      const readTheirs = new cls();
      const readOurs = new cls();
      readTheirs.chrootPath = readOurs.chrootPath = record.chrootPath;
      const taken = original.deserialize.call(readTheirs, theirs, 3);
      expect(deserializeRecord(readOurs, theirs, 3)).toBe(taken);
      expect(fields(readOurs)).toEqual(fields(readTheirs));
    }
  });

  it.each(allClasses)("%s: constructs what the library's constructor does", (_, cls) => {
    const spec = new cls().specification;
    for (let round = 0; round < 20; round++) {
      const args = spec.map((a) => (random(3) === 0 ? undefined : randomValue(a.type)));
      const theirs = new cls(...args);
      const ours = Object.create(cls.prototype) as JuteRecord;
      initRecord(ours, spec, args);
      expect(fields(ours)).toEqual(fields(theirs));
      // Copies, as the library makes: changing an argument leaves the record alone.
      for (const [i, a] of spec.entries()) {
        const arg = args[i];
        if (a.type === "long" && Buffer.isBuffer(arg)) expect(ours[a.name]).not.toBe(arg);
      }
    }
  });

  it("keeps read data in memory of its own and rejects an offset past the end", () => {
    const reply = new (originalClasses.protocol.GetDataResponse as RecordClass)();
    reply.data = Buffer.from("payload");
    const bytes = Buffer.alloc(original.byteLength.call(reply));
    original.serialize.call(reply, bytes, 0);
    const read = new (originalClasses.protocol.GetDataResponse as RecordClass)();
    deserializeRecord(read, bytes, 0);
    const data = read.data as Buffer;
    expect(data.toString()).toBe("payload");
    expect(data.buffer.byteLength).toBe(data.length); // not a view on a shared slab
    expect(() => deserializeRecord(read, bytes, bytes.length)).toThrow(/out of buffer range/);
  });

  it("installs into the library: same prototypes, so instanceof still holds", () => {
    installJuteRecords();
    installJuteRecords(); // once per process, however often called
    const Stat = jute.data.Stat as RecordClass;
    expect(Stat).not.toBe(originalClasses.data.Stat);
    const stat = new Stat();
    expect(stat).toBeInstanceOf(originalClasses.data.Stat as RecordClass);
    expect(recordPrototype.deserialize).not.toBe(original.deserialize);
    expect(fields(stat)).toEqual(fields(new (originalClasses.data.Stat as RecordClass)()));
  });
});
