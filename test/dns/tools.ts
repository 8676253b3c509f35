/**
 * Real resolvers and clients for DNS tests: `dig` in batch mode and an unprivileged `unbound`
 * in a temp dir that forwards the bridge's zone to our server. Everything talks to 127.0.0.1.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "../support/zookeeper.js";
import type { DnsCase, Rendered } from "./support.js";

const run = promisify(execFile);

export interface DigAnswer extends Rendered {
  flags: string[];
}

/** Parse dig's `+noall +comments +answer +authority +additional` output, one block per query. */
export function parseDig(output: string, stripTtl: boolean): DigAnswer[] {
  const blocks = output.split(";; Got answer:").slice(1);
  return blocks.map((block) => {
    const status = /status: ([A-Z]+)/.exec(block)?.[1] ?? "?";
    const flags = (/;; flags: ([a-z ]*);/.exec(block)?.[1] ?? "").trim().split(/\s+/);
    const out: DigAnswer = { rcode: status, flags, answer: [], ns: [], extra: [] };
    let section: string[] | undefined;
    for (const line of block.split("\n")) {
      if (line.startsWith(";; ANSWER SECTION")) section = out.answer;
      else if (line.startsWith(";; AUTHORITY SECTION")) section = out.ns;
      else if (line.startsWith(";; ADDITIONAL SECTION")) section = out.extra;
      else if (line.startsWith(";") || line.trim() === "") {
        if (line.trim() === "") section = undefined;
      } else if (section) {
        const f = line.trim().split(/\s+/);
        const [name = "", ...rest] = f;
        const ttlAndRest = stripTtl ? ["", ...rest] : rest;
        section.push([name.toLowerCase(), ...ttlAndRest].filter((x) => x !== "").join(" "));
      }
    }
    out.answer.sort();
    out.ns.sort();
    out.extra.sort();
    return out;
  });
}

/** Ask every case with one dig process; returns the answers in case order. */
export async function digBatch(
  port: number,
  cases: readonly DnsCase[],
  opts: { tcp?: boolean; recurse?: boolean; stripTtl?: boolean } = {},
): Promise<DigAnswer[]> {
  const dir = await mkdtemp(path.join(tmpdir(), "kzb-dig-"));
  try {
    const batch = path.join(dir, "batch");
    await writeFile(batch, `${cases.map((c) => `${c.qname} ${c.qtype}`).join("\n")}\n`);
    const { stdout } = await run("dig", [
      "@127.0.0.1",
      "-p",
      String(port),
      opts.recurse ? "+rec" : "+norec",
      ...(opts.tcp ? ["+tcp"] : []),
      ...(opts.stripTtl ? ["+nottlid"] : []),
      "+time=2",
      "+tries=2",
      "+noall",
      "+comments",
      "+answer",
      "+authority",
      "+additional",
      "-f",
      batch,
    ]);
    const answers = parseDig(stdout, opts.stripTtl ?? false);
    if (answers.length !== cases.length) {
      throw new Error(`dig answered ${answers.length} of ${cases.length} queries:\n${stdout}`);
    }
    return answers;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface Unbound {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Start unbound on a free loopback port, forwarding `zone` to 127.0.0.1@`upstreamPort`.
 * No DNSSEC validation, chroot, privileges or remote control; every other name is
 * forwarded to a dead local port so nothing leaves the machine.
 */
export async function startUnbound(zone: string, upstreamPort: number): Promise<Unbound> {
  const dir = await mkdtemp(path.join(tmpdir(), "kzb-unbound-"));
  const port = await freePort();
  const dead = await freePort();
  const conf = path.join(dir, "unbound.conf");
  await writeFile(
    conf,
    [
      "server:",
      "  interface: 127.0.0.1",
      `  port: ${port}`,
      "  do-ip6: no",
      "  do-daemonize: no",
      '  chroot: ""',
      '  username: ""',
      `  directory: "${dir}"`,
      `  pidfile: "${path.join(dir, "unbound.pid")}"`,
      "  use-syslog: no",
      '  logfile: ""',
      "  verbosity: 0",
      "  num-threads: 1",
      '  module-config: "iterator"',
      "  access-control: 127.0.0.0/8 allow",
      "  do-not-query-localhost: no",
      "  qname-minimisation: no",
      "  minimal-responses: no",
      `  domain-insecure: "${zone}"`,
      `  local-zone: "${zone}" nodefault`,
      "remote-control:",
      "  control-enable: no",
      "forward-zone:",
      `  name: "${zone}"`,
      `  forward-addr: 127.0.0.1@${upstreamPort}`,
      "forward-zone:",
      '  name: "."',
      `  forward-addr: 127.0.0.1@${dead}`,
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn("unbound", ["-d", "-c", conf], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
  };
  // Ready once it answers a query of the forwarded zone.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`unbound exited at start: ${stderr}`);
    }
    try {
      const [a] = await digBatch(port, [{ qname: zone, qtype: "SOA", rcode: "" }], {
        recurse: true,
      });
      if (a?.rcode === "NOERROR") break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`unbound did not answer on 127.0.0.1:${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, pid: child.pid ?? -1, stop };
}
