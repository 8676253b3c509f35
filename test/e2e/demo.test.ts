/**
 * `kube-zk-bridge demo` as the README tells a newcomer to run it: the built binary prints what
 * it started and commands to try; we run those commands exactly as printed (bash, dig, curl,
 * the ls command) and check their real answers; Ctrl-C (SIGINT) stops everything, ZooKeeper's
 * JVM included.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { BIN } from "../support/cli.js";
import { waitUntil } from "../support/wait.js";
import { freePort } from "../support/zookeeper.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);

/** Runs one printed command line as a user pastes it into a shell, from the repo root. */
async function shell(line: string): Promise<string> {
  const { stdout } = await run("bash", ["-c", line], { cwd: REPO, timeout: 20_000 });
  return stdout;
}

/** The records of dig's ANSWER SECTION, as whitespace-split fields. */
function answerSection(digOutput: string): string[][] {
  const out: string[][] = [];
  let inAnswer = false;
  for (const line of digOutput.split("\n")) {
    if (line.startsWith(";; ANSWER SECTION:")) inAnswer = true;
    else if (line.startsWith(";;") || line.trim() === "") inAnswer = false;
    else if (inAnswer) out.push(line.trim().split(/\s+/));
  }
  return out;
}

/** The PID of the process listening on 127.0.0.1:<port> (ss -p; we run as root in CI). */
async function listenerPid(port: number): Promise<number | undefined> {
  const { stdout } = await run("ss", ["-ltnpH", `sport = :${port}`]);
  const m = /pid=(\d+)/.exec(stdout);
  return m ? Number(m[1]) : undefined;
}

const alive = (pid: number) => existsSync(`/proc/${pid}`);
const commandOf = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
};

describe("kube-zk-bridge demo (end to end)", () => {
  let demo: ChildProcess | undefined;
  let zkPid: number | undefined;

  afterEach(async () => {
    if (demo && demo.exitCode === null && demo.signalCode === null) {
      const gone = new Promise((r) => demo?.once("exit", r));
      demo.kill("SIGKILL");
      await gone;
    }
    // A killed demo cannot stop its ZooKeeper: do it by the PID we found.
    if (zkPid !== undefined && alive(zkPid) && commandOf(zkPid).includes("java")) {
      process.kill(zkPid, "SIGKILL");
    }
    demo = undefined;
    zkPid = undefined;
  });

  it("prints commands that work as written, and SIGINT stops it all with exit 0", async () => {
    const dnsPort = await freePort();
    const httpPort = await freePort();
    const proc = spawn(
      process.execPath,
      [
        BIN,
        "demo",
        "--dns-listen",
        `127.0.0.1:${dnsPort}`,
        "--http-listen",
        `127.0.0.1:${httpPort}`,
      ],
      { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] },
    );
    demo = proc;
    let stdout = "";
    let stderr = "";
    proc.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    proc.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));

    await waitUntil(
      "the demo's commands to try",
      () => {
        if (proc.exitCode !== null) throw new Error(`demo exited ${proc.exitCode}: ${stderr}`);
        return stdout.includes("Ctrl-C stops everything");
      },
      45_000,
    );
    // A human text, not JSON logs.
    expect(stdout).toContain("kube-zk-bridge demo is running.");
    expect(stdout.split("\n").some((l) => l.startsWith("{"))).toBe(false);

    const zkConnect = /ZooKeeper\s+(127\.0\.0\.1:(\d+))/.exec(stdout);
    expect(zkConnect, stdout).not.toBeNull();
    const zkPort = Number(zkConnect?.[2]);
    zkPid = await listenerPid(zkPort);
    expect(zkPid, `a process listening on ZooKeeper's port ${zkPort}`).toBeDefined();
    expect(commandOf(zkPid as number)).toContain("org.apache.zookeeper.server.ZooKeeperServerMain");

    const tries = stdout
      .slice(stdout.indexOf("Try:"))
      .split("\n")
      .slice(1)
      .map((l) => l.replace(/\s+#.*$/, "").trim())
      .filter((l) => l !== "" && !l.startsWith("Ctrl-C"));
    const find = (re: RegExp) => {
      const line = tries.find((l) => re.test(l));
      expect(line, `a printed command matching ${re}`).toBeDefined();
      return line as string;
    };
    // The ports we asked for, not the defaults.
    for (const l of tries.filter((t) => t.startsWith("dig "))) expect(l).toContain(`-p ${dnsPort}`);
    for (const l of tries.filter((t) => t.startsWith("curl ")))
      expect(l).toContain(`:${httpPort}/`);

    const readyz = find(/^curl \S+\/readyz$/);
    const ready = await waitUntil("readyz via the printed curl", async () => {
      const body = JSON.parse(await shell(`${readyz} -s`)) as { status: string };
      return body.status === "ready" ? body : undefined;
    });
    expect(ready.status).toBe("ready");
    const status = await shell(`${readyz} -s -o /dev/null -w '%{http_code}'`);
    expect(status).toBe("200");

    const webA = answerSection(await shell(find(/^dig .* web\.shop\.\S+ A /)));
    expect(webA.filter((r) => r[3] === "A")).toHaveLength(3);
    expect(webA.map((r) => r[4]).sort()).toEqual(["10.1.0.1", "10.1.0.2", "10.1.0.3"]);

    const billing = answerSection(await shell(find(/^dig .* billing\.legacy\.\S+ A /)));
    expect(billing.map((r) => `${r[3]} ${r[4]}`)).toEqual(["A 192.168.50.10"]);

    const srv = answerSection(await shell(find(/^dig .* web\.shop\.\S+ SRV /)));
    expect(srv.filter((r) => r[3] === "SRV")).toHaveLength(3);

    const nx = await shell(find(/^dig .* nothing\.\S+ A /));
    expect(nx).toMatch(/status: NXDOMAIN/);

    const registrations = JSON.parse(await shell(`${find(/^curl \S+\/registrations$/)} -s`)) as {
      instances: Array<{ service: string }>;
    };
    const services = new Set(registrations.instances.map((i) => i.service));
    for (const s of ["web.shop", "api.payments", "cache.infra", "billing.legacy"]) {
      expect(services.has(s), s).toBe(true);
    }
    expect(await shell(find(/^curl -s \S+\/metrics \| grep \^kzb_$/))).toMatch(/^kzb_leader 1$/m);
    const ls = await shell(find(/^node dist\/cmd\/kube-zk-bridge\.js ls /));
    expect(ls).toContain("web.shop");
    expect(ls).toContain("billing.legacy");

    // Ctrl-C.
    const pid = zkPid as number;
    const started = performance.now();
    proc.kill("SIGINT");
    const code = await exited;
    console.info(`SIGINT → demo exit ${code} in ${Math.round(performance.now() - started)} ms`);
    expect(code).toBe(0);
    expect(stdout).toContain("stopping the demo");
    expect(alive(pid) && commandOf(pid).includes("java")).toBe(false);
    expect(await listenerPid(zkPort)).toBeUndefined();
    expect(await listenerPid(dnsPort)).toBeUndefined();
    expect(await listenerPid(httpPort)).toBeUndefined();
  });
});
