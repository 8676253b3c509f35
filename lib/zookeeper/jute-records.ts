/**
 * A cheaper codec for node-zookeeper-client's jute records, same bytes and same objects.
 *
 * The library (1.1.3) gives every 64-bit field its own `Buffer.alloc(8)`: a fresh ArrayBuffer
 * with a native backing store, once when a record is constructed and again when it is read. A
 * reply carrying a Stat makes fourteen of them. A DNS catalog following 1,000 changes a second
 * spent about a third of its allocation there, and most of its CPU in garbage collection. It
 * also re-parses each field's type with a regular expression on every use.
 *
 * Here each record layout is compiled once; 64-bit fields are copied into Node's pooled
 * small-buffer slab (`Buffer.allocUnsafe`). Nothing keeps many of them: kube-zk-bridge turns
 * them into hex strings, and the library keeps only its session id and last zxid. `buffer` fields (znode data, which callers may keep)
 * still get a buffer of their own, so a kept one never pins a shared slab. Requests are
 * serialised into a buffer that is written in full, so it need not be zero-filled first.
 */
import jute, {
  type Attribute,
  type JuteRecord,
  type RecordClass,
} from "node-zookeeper-client/lib/jute/index.js";

enum Kind {
  Int,
  Long,
  Bytes,
  Ustring,
  Boolean,
  Vector,
  Data,
}

interface FieldType {
  readonly kind: Kind;
  /** Vector: the element type. */
  readonly element?: FieldType;
  /** Data: the record class name in `jute.data`. */
  readonly record?: string;
}

interface Field extends FieldType {
  readonly name: string;
  /** `path`: the chroot is prepended when written, removed when read. */
  readonly isPath: boolean;
  /** SetWatches' path lists: the chroot is prepended to each path when written. */
  readonly isWatchList: boolean;
}

const WATCH_LISTS = new Set(["dataWatches", "existWatches", "childWatches"]);

function parseType(type: string): FieldType {
  switch (type) {
    case "int":
      return { kind: Kind.Int };
    case "long":
      return { kind: Kind.Long };
    case "buffer":
      return { kind: Kind.Bytes };
    case "ustring":
      return { kind: Kind.Ustring };
    case "boolean":
      return { kind: Kind.Boolean };
  }
  const vector = /^vector<([\w.]+)>$/.exec(type);
  if (vector?.[1]) return { kind: Kind.Vector, element: parseType(vector[1]) };
  const data = /^data\.(\w+)$/.exec(type);
  if (data?.[1]) return { kind: Kind.Data, record: data[1] };
  throw new Error(`Unknown type: ${type}`);
}

const layouts = new WeakMap<readonly Attribute[], readonly Field[]>();

/** The compiled layout of a record specification (cached by the specification array). */
function layoutOf(spec: readonly Attribute[]): readonly Field[] {
  let fields = layouts.get(spec);
  if (!fields) {
    fields = spec.map((a) => ({
      name: a.name,
      ...parseType(a.type),
      isPath: a.name === "path",
      isWatchList: WATCH_LISTS.has(a.name),
    }));
    layouts.set(spec, fields);
  }
  return fields;
}

function recordClass(name: string | undefined): RecordClass {
  const cls = name === undefined ? undefined : jute.data[name];
  if (!cls) throw new Error(`Unknown record: data.${name}`);
  return cls;
}

/** The library's Record prototype, which every generated record class inherits. */
const RECORD = Object.getPrototypeOf(recordClass("Stat").prototype) as JuteRecord;

/** A 64-bit field: eight bytes of `source` from `offset` (zero where it ends), pooled. */
function long(source?: Buffer, offset = 0): Buffer {
  const value = Buffer.allocUnsafe(8);
  const copied = source ? source.copy(value, 0, offset, offset + 8) : 0;
  if (copied < 8) value.fill(0, copied);
  return value;
}

/** What the library's Record constructor does, without per-field regular expressions. */
export function initRecord(record: JuteRecord, spec: readonly Attribute[], args: unknown[]): void {
  record.specification = spec;
  record.chrootPath = undefined;
  const fields = layoutOf(spec);
  for (let index = 0; index < fields.length; index++) {
    const f = fields[index] as Field;
    const arg = args[index];
    switch (f.kind) {
      case Kind.Int:
        record[f.name] = typeof arg === "number" ? arg : 0;
        break;
      case Kind.Long:
        record[f.name] = long(Buffer.isBuffer(arg) ? arg : undefined);
        break;
      case Kind.Bytes:
        record[f.name] = Buffer.isBuffer(arg) ? Buffer.from(arg) : undefined;
        break;
      case Kind.Ustring:
        record[f.name] = typeof arg === "string" ? arg : undefined;
        break;
      case Kind.Boolean:
        record[f.name] = typeof arg === "boolean" ? arg : false;
        break;
      case Kind.Vector:
        record[f.name] = Array.isArray(arg) ? arg : undefined;
        break;
      case Kind.Data: {
        const isRecord = Object.prototype.isPrototypeOf.call(RECORD, arg as object);
        record[f.name] = isRecord ? arg : new (recordClass(f.record))();
        break;
      }
    }
  }
}

/**
 * A record of a layout the library does not define (e.g. ZooKeeper 3.6's AddWatchRequest), on
 * the shared Record prototype, so it reads, writes and takes the chroot like the library's own.
 */
export function newRecord(spec: readonly Attribute[], args: unknown[]): JuteRecord {
  const record = Object.create(RECORD) as JuteRecord;
  initRecord(record, spec, args);
  return record;
}

/** As the library does it, even to a missing path ("/chrootundefined"). */
function withChroot(chroot: string | undefined, path: unknown): unknown {
  if (!chroot) return path;
  return path === "/" ? chroot : `${chroot}${path}`;
}

/** The value written for field `f` of `record` (paths with the chroot in front). */
function outgoing(record: JuteRecord, f: Field): unknown {
  const value = record[f.name];
  if (f.isPath) return withChroot(record.chrootPath, value);
  if (f.isWatchList && Array.isArray(value)) {
    return value.map((p) => withChroot(record.chrootPath, p));
  }
  return value;
}

function sizeOf(type: FieldType, value: unknown): number {
  switch (type.kind) {
    case Kind.Int:
      return 4;
    case Kind.Long:
      return 8;
    case Kind.Bytes:
      return 4 + (Buffer.isBuffer(value) ? value.length : 0);
    case Kind.Ustring:
      return 4 + (typeof value === "string" ? Buffer.byteLength(value) : 0);
    case Kind.Boolean:
      return 1;
    case Kind.Vector: {
      let size = 4;
      if (Array.isArray(value))
        for (const item of value) size += sizeOf(type.element as FieldType, item);
      return size;
    }
    case Kind.Data:
      return (value as JuteRecord).byteLength();
  }
}

export function recordByteLength(record: JuteRecord): number {
  const fields = layoutOf(record.specification);
  let size = 0;
  for (let i = 0; i < fields.length; i++)
    size += sizeOf(fields[i] as Field, outgoing(record, fields[i] as Field));
  return size;
}

function write(type: FieldType, value: unknown, buffer: Buffer, offset: number): number {
  switch (type.kind) {
    case Kind.Int:
      buffer.writeInt32BE(value as number, offset);
      return 4;
    case Kind.Long:
      (value as Buffer).copy(buffer, offset);
      return 8;
    case Kind.Bytes:
      if (!Buffer.isBuffer(value)) return buffer.writeInt32BE(-1, offset) - offset;
      buffer.writeInt32BE(value.length, offset);
      value.copy(buffer, offset + 4);
      return 4 + value.length;
    case Kind.Ustring: {
      if (typeof value !== "string") return buffer.writeInt32BE(-1, offset) - offset;
      const length = buffer.write(value, offset + 4, "utf8");
      buffer.writeInt32BE(length, offset);
      return 4 + length;
    }
    case Kind.Boolean:
      buffer.writeUInt8(value ? 1 : 0, offset);
      return 1;
    case Kind.Vector: {
      if (!Array.isArray(value)) return buffer.writeInt32BE(-1, offset) - offset;
      let written = buffer.writeInt32BE(value.length, offset) - offset;
      for (const item of value) {
        written += write(type.element as FieldType, item, buffer, offset + written);
      }
      return written;
    }
    case Kind.Data:
      return (value as JuteRecord).serialize(buffer, offset);
  }
}

export function serializeRecord(record: JuteRecord, buffer: Buffer, offset: number): number {
  if (!Buffer.isBuffer(buffer)) throw new Error("buffer must an instance of Node.js Buffer class.");
  if (offset < 0 || offset >= buffer.length) {
    throw new Error(`offset: ${offset} is out of buffer range.`);
  }
  const size = recordByteLength(record);
  if (offset + size > buffer.length) throw new Error("buffer does not have enough space.");
  const fields = layoutOf(record.specification);
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as Field;
    offset += write(f, outgoing(record, f), buffer, offset);
  }
  return size;
}

/** Bytes taken by the value `read` last returned (a second result without an allocation). */
let lastRead = 0;

function read(type: FieldType, buffer: Buffer, offset: number): unknown {
  switch (type.kind) {
    case Kind.Int:
      lastRead = 4;
      return buffer.readInt32BE(offset);
    case Kind.Long:
      lastRead = 8;
      return long(buffer, offset);
    case Kind.Bytes: {
      const length = buffer.readInt32BE(offset);
      if (length === -1) {
        lastRead = 4;
        return undefined;
      }
      // Its own memory: callers keep znode data.
      const value = Buffer.allocUnsafeSlow(length);
      const copied = buffer.copy(value, 0, offset + 4, offset + 4 + length);
      value.fill(0, copied);
      lastRead = 4 + length;
      return value;
    }
    case Kind.Ustring: {
      const length = buffer.readInt32BE(offset);
      if (length === -1) {
        lastRead = 4;
        return undefined;
      }
      lastRead = 4 + length;
      return buffer.toString("utf8", offset + 4, offset + 4 + length);
    }
    case Kind.Boolean:
      lastRead = 1;
      return buffer.readUInt8(offset) === 1;
    case Kind.Vector: {
      let length = buffer.readInt32BE(offset);
      if (length === -1) {
        lastRead = 4;
        return undefined;
      }
      const items: unknown[] = [];
      let taken = 4;
      for (; length > 0; length--) {
        items.push(read(type.element as FieldType, buffer, offset + taken));
        taken += lastRead;
      }
      lastRead = taken;
      return items;
    }
    case Kind.Data: {
      const value = new (recordClass(type.record))();
      lastRead = value.deserialize(buffer, offset);
      return value;
    }
  }
}

export function deserializeRecord(record: JuteRecord, buffer: Buffer, offset: number): number {
  if (!Buffer.isBuffer(buffer)) throw new Error("buffer must an instance of Node.js Buffer class.");
  if (offset < 0 || offset >= buffer.length) {
    throw new Error(`offset: ${offset} is out of buffer range.`);
  }
  const fields = layoutOf(record.specification);
  let taken = 0;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as Field;
    const value = read(f, buffer, offset + taken);
    taken += lastRead;
    record[f.name] = value;
    const chroot = record.chrootPath;
    if (f.isPath && chroot && typeof value === "string") {
      record[f.name] = value === chroot ? "/" : value.substring(chroot.length);
    }
  }
  return taken;
}

let installed = false;

/**
 * Puts the codec into node-zookeeper-client, once per process, before any client is made:
 * every generated record class gets a constructor that initialises through `initRecord` (same
 * prototype, so `instanceof` is unchanged), and the shared Record prototype reads and writes
 * through this module.
 */
export function installJuteRecords(): void {
  if (installed) return;
  for (const classes of [jute.data, jute.protocol]) {
    for (const [name, original] of Object.entries(classes)) {
      const spec = (new original() as JuteRecord).specification;
      const LeanRecord = function (this: JuteRecord, ...args: unknown[]) {
        initRecord(this, spec, args);
      };
      LeanRecord.prototype = original.prototype;
      classes[name] = LeanRecord as unknown as typeof original;
    }
  }
  RECORD.byteLength = function (this: JuteRecord) {
    return recordByteLength(this);
  };
  RECORD.serialize = function (this: JuteRecord, buffer: Buffer, offset: number) {
    return serializeRecord(this, buffer, offset);
  };
  RECORD.deserialize = function (this: JuteRecord, buffer: Buffer, offset: number) {
    return deserializeRecord(this, buffer, offset);
  };
  jute.Request.prototype.toBuffer = function () {
    const size = (this.header?.byteLength() ?? 0) + (this.payload?.byteLength() ?? 0);
    const buffer = Buffer.allocUnsafe(size + 4); // every byte is written below
    let offset = buffer.writeInt32BE(size, 0);
    if (this.header) offset += this.header.serialize(buffer, offset);
    if (this.payload) offset += this.payload.serialize(buffer, offset);
    return buffer;
  };
  installed = true;
}
