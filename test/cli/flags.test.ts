import { describe, expect, it } from "vitest";
import { FLAGS, parseCommandLine } from "../../lib/config.js";
import { runCli } from "../support/cli.js";

describe("command line", () => {
  it.each([
    [["sync", "--zk-session-timeout", "10"], "--zk-session-timeout"],
    [["sync", "--format", "etcd"], "--format"],
    [["dns", "--zone", "svc.local"], "--zone"],
    [["dns", "--dns-listen", "1053"], "--dns-listen"],
    [["dns", "--dns-listen", "localhost:1053"], "--dns-listen"],
    [["sync", "--base-path", "services"], "--base-path"],
    [["sync", "--serverset-base-path", "/services/ss"], "--serverset-base-path"],
    [["sync", "--zk-connect", "[::1]:2181"], "--zk-connect"],
    [["sync", "--curator-payload", "jackson"], "--curator-payload"],
    [["sync", "--endpoints-api", "pods"], "--endpoints-api"],
    [["sync", "--zk-auth", "digest:nopassword"], "--zk-auth"],
    [["sync", "--namespaces", "Bad_NS"], "--namespaces"],
    [["sync", "--service-name-template", "{namespace}"], "--service-name-template"],
    [["sync", "--log-level", "loud"], "--log-level"],
    [["sync", "--dns-ttl", "1500ms"], "--dns-ttl"],
    [["sync", "--no-such-flag"], "--no-such-flag"],
    [["sync", "--zone"], "--zone"],
  ])("%j: one line naming %s, exit 2", (args, flag) => {
    const r = runCli(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(flag);
  });

  it("a bad env value names the variable and the flag", () => {
    const r = runCli(["dns"], { KZB_DNS_SERVE_STALE: "forever" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/KZB_DNS_SERVE_STALE \(--dns-serve-stale\)/);
  });

  it("unknown or missing command: exit 2", () => {
    expect(runCli(["serve"]).code).toBe(2);
    expect(runCli([]).code).toBe(2);
  });

  it("--help lists every flag with its env name", () => {
    const r = runCli(["--help"]);
    expect(r.code).toBe(0);
    for (const f of FLAGS) expect(r.stdout).toContain(`--${f.name}`);
    expect(r.stdout).toContain("KZB_ZK_CONNECT");
  });

  it("the zk-auth secret is never echoed", () => {
    const r = runCli(["sync", "--zk-auth", "digest:user"]);
    expect(r.stderr).not.toContain("digest:user");
  });
});

describe("parseCommandLine", () => {
  it("contract defaults", () => {
    const { command, config } = parseCommandLine(["run"], {});
    expect(command).toBe("run");
    expect(config).toMatchObject({
      zkConnect: "127.0.0.1:2181",
      zkSessionTimeoutMs: 10_000,
      basePath: "/services",
      serversetBasePath: "/serversets",
      formats: ["curator"],
      curatorPayload: "spring",
      endpointsApi: "endpointslices",
      zkAuth: undefined,
      namespaces: "all",
      clusterName: "default",
      serviceNameTemplate: "{service}.{namespace}",
      zone: "zk.internal.",
      dnsListen: { host: "0.0.0.0", port: 1053 },
      dnsTtlSeconds: 5,
      dnsServeStaleMs: 300_000,
      httpListen: { host: "0.0.0.0", port: 8080 },
      dryRun: false,
      logLevel: "info",
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("a flag beats env; env beats the default; both forms of flags", () => {
    const env = { KZB_ZK_CONNECT: "zk-env:2181", KZB_ZONE: "Env.Example", KZB_DRY_RUN: "true" };
    const { config } = parseCommandLine(
      ["sync", "--zk-connect=zk-flag:2181/chroot", "--namespaces", "a,b"],
      env,
    );
    expect(config.zkConnect).toBe("zk-flag:2181/chroot");
    expect(config.zone).toBe("env.example.");
    expect(config.dryRun).toBe(true);
    expect(config.namespaces).toEqual(["a", "b"]);
    expect(parseCommandLine(["sync", "--dry-run=false"], env).config.dryRun).toBe(false);
  });

  it("durations, listen addresses, auth", () => {
    const { config } = parseCommandLine(
      [
        "dns",
        "--zk-session-timeout",
        "2m",
        "--dns-serve-stale",
        "500ms",
        "--dns-listen",
        "[::]:53",
        "--zk-auth",
        "digest:bridge:pa:ss",
        "--format",
        "curator,serverset",
      ],
      {},
    );
    expect(config.zkSessionTimeoutMs).toBe(120_000);
    expect(config.dnsServeStaleMs).toBe(500);
    expect(config.dnsListen).toEqual({ host: "::", port: 53 });
    expect(config.zkAuth).toEqual({ user: "bridge", password: "pa:ss" });
    expect(config.formats).toEqual(["curator", "serverset"]);
  });
});
