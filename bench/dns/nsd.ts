/** NSD (one server process, rate limiting off) serving a zone file as the bridge's zone, on the server CPU. */
import { execFile, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../test/support/zookeeper.js";
import { ZONE } from "../support/bridge-defaults.js";
import { ownChild } from "../support/child.js";
import { pinned, SERVER_CPU } from "../support/cpu-pin.js";
import { waitFor } from "../support/wait.js";
import type { Server } from "./perf.js";

const run = promisify(execFile);

/** True once a server on `port` answers the zone's SOA. */
async function answersSoa(port: number): Promise<boolean> {
  try {
    const { stdout } = await run("dig", [
      "@127.0.0.1",
      "-p",
      String(port),
      "+short",
      "+time=1",
      "+tries=1",
      ZONE,
      "SOA",
    ]);
    return stdout.trim() !== "";
  } catch {
    return false; // not listening yet
  }
}

/** Starts NSD in `dir` (config, pid and log files there) serving `zone`, a zone file's text. */
export async function startNsd(dir: string, zone: string): Promise<Server> {
  const port = await freePort();
  await writeFile(path.join(dir, "zk.internal.zone"), zone);
  const conf = path.join(dir, "nsd.conf");
  await writeFile(
    conf,
    [
      "server:",
      "  ip-address: 127.0.0.1",
      `  port: ${port}`,
      "  do-ip6: no",
      '  username: ""',
      '  chroot: ""',
      `  zonesdir: "${dir}"`,
      '  database: ""',
      `  pidfile: "${dir}/nsd.pid"`,
      `  logfile: "${dir}/nsd.log"`,
      `  xfrdfile: "${dir}/xfrd.state"`,
      `  xfrdir: "${dir}"`,
      "  server-count: 1",
      "  rrl-ratelimit: 0",
      "  verbosity: 0",
      "remote-control:",
      "  control-enable: no",
      "zone:",
      `  name: ${ZONE}`,
      "  zonefile: zk.internal.zone",
      "",
    ].join("\n"),
  );
  const [cmd, args] = pinned(SERVER_CPU, "nsd", ["-d", "-c", conf]);
  const spawned = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  spawned.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const nsd = ownChild(spawned, "nsd");
  try {
    await waitFor(
      "NSD answering",
      async () => {
        const exit = nsd.exitStatus();
        if (exit) throw new Error(`nsd exited (code ${exit.code}): ${stderr}`);
        return answersSoa(port);
      },
      { timeoutMs: 60_000, intervalMs: 100, detail: () => stderr },
    );
  } catch (err) {
    nsd.signal("SIGKILL");
    throw err;
  }
  return { name: "NSD", port, pid: nsd.pid, stop: () => nsd.stop() };
}
