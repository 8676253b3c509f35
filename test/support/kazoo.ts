/**
 * A real Python kazoo client (test/python/kazoo_probe.py) driven from tests: a Finagle-style
 * ServerSet reader, a raw Curator-path reader, and a self-registered ServerSet member.
 * Needs Debian's python3-kazoo, hence /usr/bin/python3 (a pyenv `python3` on PATH lacks it).
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { firstLine, type HeldRegistration, heldProcess } from "./curator.js";

const PROBE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../python/kazoo_probe.py",
);
const PYTHON = process.env.KZB_TEST_PYTHON ?? "/usr/bin/python3";

function python(): string {
  if (!existsSync(PYTHON)) {
    throw new Error(`kazoo probe: ${PYTHON} missing; run scripts/install-deps.sh (python3-kazoo)`);
  }
  return PYTHON;
}

/** One endpoint a Finagle-style reader would route to (ALIVE members only). */
export interface FinagleEndpoint {
  kind: "endpoint";
  member: string;
  host: string;
  port: number;
  /** null = the serviceEndpoint; strings = additionalEndpoints names at the same host:port. */
  names: (string | null)[];
  shard: number | null;
}

/** A child the Finagle-style reader skipped, and why (`not a member`, `status STOPPING`, …). */
export interface FinagleIgnored {
  kind: "ignored";
  child: string;
  why: string;
}

export interface ServerSetView {
  endpoints: FinagleEndpoint[];
  ignored: FinagleIgnored[];
}

/** One child of a Curator service path as a Python consumer reads it (parsed JSON or the error). */
export interface KazooCuratorNode {
  node: string;
  instance?: Record<string, unknown>;
  error?: string;
}

function runProbe(args: string[]): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    execFile(python(), [PROBE, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const lines = stdout
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const failure = lines.find((l) => "error" in l && !("node" in l));
      if (err || failure) {
        reject(
          new Error(`kazoo probe ${args[0]} failed: ${String(failure?.error ?? err)}\n${stderr}`),
        );
      } else resolve(lines);
    });
  });
}

/** List and read a ServerSet as Finagle would: what it routes to, and what it ignored. */
export async function kazooReadServerSet(
  connect: string,
  serverSetPath: string,
): Promise<ServerSetView> {
  const lines = await runProbe(["read-serverset", connect, serverSetPath]);
  return {
    endpoints: lines.filter(
      (l): l is FinagleEndpoint & Record<string, unknown> => l.kind === "endpoint",
    ),
    ignored: lines.filter(
      (l): l is FinagleIgnored & Record<string, unknown> => l.kind === "ignored",
    ),
  };
}

/** Read every instance node under `<basePath>/<service>` as raw JSON. */
export async function kazooReadCurator(
  connect: string,
  basePath: string,
  service: string,
): Promise<KazooCuratorNode[]> {
  return (await runProbe([
    "read-curator",
    connect,
    basePath,
    service,
  ])) as unknown as KazooCuratorNode[];
}

export interface KazooServerSetMemberOptions {
  status?: string;
  shard?: number;
  /** additionalEndpoints, name → port, on the same host. */
  endpoints?: Readonly<Record<string, number>>;
  /** Requested session timeout in ms; default 5000. */
  sessionTimeoutMs?: number;
}

/** Create an EPHEMERAL_SEQUENTIAL `member_` node as a Finagle-style service would, and hold it. */
export async function kazooRegisterServerSet(
  connect: string,
  serverSetPath: string,
  host: string,
  port: number,
  opts: KazooServerSetMemberOptions = {},
): Promise<HeldRegistration> {
  const args = [
    PROBE,
    "register-serverset",
    connect,
    serverSetPath,
    host,
    String(port),
    "--status",
    opts.status ?? "ALIVE",
    "--shard",
    String(opts.shard ?? 0),
    "--session-timeout",
    String((opts.sessionTimeoutMs ?? 5000) / 1000),
    ...Object.entries(opts.endpoints ?? {}).flatMap(([name, p]) => ["--endpoint", `${name}=${p}`]),
  ];
  const child = spawn(python(), args, { stdio: ["pipe", "pipe", "pipe"] });
  const registered = await firstLine(child, "registered", 30_000);
  return heldProcess(child, registered);
}
