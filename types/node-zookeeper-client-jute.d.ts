// node-zookeeper-client's record codec (lib/jute), which its typings do not describe.
declare module "node-zookeeper-client/lib/jute/index.js" {
  export interface Attribute {
    readonly name: string;
    readonly type: string;
  }
  export interface JuteRecord {
    specification: readonly Attribute[];
    chrootPath: string | undefined;
    [field: string]: unknown;
    byteLength(): number;
    serialize(buffer: Buffer, offset: number): number;
    deserialize(buffer: Buffer, offset: number): number;
  }
  export type RecordClass = new (...args: unknown[]) => JuteRecord;
  /** A request body: a record, or anything written like one (the library's TransactionRequest). */
  export interface RequestPayload {
    byteLength(): number;
    serialize(buffer: Buffer, offset: number): number;
    setChrootPath?(chroot: string | undefined): void;
  }
  export interface Request {
    header: JuteRecord | null;
    payload: RequestPayload | null;
    toBuffer(): Buffer;
  }
  const jute: {
    data: Record<string, RecordClass>;
    protocol: Record<string, RecordClass>;
    Request: {
      new (header: JuteRecord | null, payload: RequestPayload | null): Request;
      prototype: Request;
    };
    OP_CODES: Record<string, number> & {
      readonly CREATE: number;
      readonly DELETE: number;
      readonly SET_DATA: number;
      readonly CHECK: number;
      readonly MULTI: number;
      readonly ERROR: number;
      readonly GET_DATA: number;
      readonly GET_CHILDREN2: number;
    };
  };
  export default jute;
}
