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
  export interface Request {
    header: JuteRecord | null;
    payload: { byteLength(): number; serialize(buffer: Buffer, offset: number): number } | null;
    toBuffer(): Buffer;
  }
  const jute: {
    data: Record<string, RecordClass>;
    protocol: Record<string, RecordClass>;
    Request: {
      new (header: JuteRecord | null, payload: JuteRecord | null): Request;
      prototype: Request;
    };
    OP_CODES: Record<string, number> & {
      readonly GET_DATA: number;
      readonly GET_CHILDREN2: number;
    };
  };
  export default jute;
}
