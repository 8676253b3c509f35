/**
 * The Deployment's command line is checked by the CLI's own definitions (lib/config.ts FLAGS,
 * envName, parseCommandLine): a renamed flag or a bad value breaks this test, not a cluster.
 */
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IContainer } from "kubernetes-models/v1/Container";
import { describe, expect, it } from "vitest";
import { envName, FLAGS, parseCommandLine } from "../../lib/config.js";
import { BRIDGE, bridgeCommandLine, one, render, VARIANTS } from "./manifests.js";

const FLAG_NAMES = new Set(FLAGS.map((f) => f.name));
const ENV_NAMES = new Set(FLAGS.map((f) => envName(f.name)));

describe.each(Object.entries(VARIANTS))("%s (%s)", (_variant, dir) => {
  const objects = render(dir);
  const line = bridgeCommandLine(objects);
  const container = one<IDeployment>(
    objects,
    "Deployment",
    BRIDGE,
  ).spec?.template.spec?.containers.find((c) => c.name === BRIDGE) as IContainer;

  it("passes only flags the CLI defines", () => {
    const flags = line.args
      .filter((a) => a.startsWith("--"))
      .map((a) => a.slice(2).split("=")[0] as string);
    expect(flags.length).toBeGreaterThan(0);
    expect(flags.filter((f) => !FLAG_NAMES.has(f))).toEqual([]);
  });

  it("sets only KZB_* variables the CLI reads", () => {
    expect(line.envNames.length).toBeGreaterThan(0);
    expect(line.envNames.filter((n) => !ENV_NAMES.has(n))).toEqual([]);
  });

  it("is a command line the CLI accepts: `run`, every value valid", () => {
    const parsed = parseCommandLine(line.args, line.env);
    expect(parsed.command).toBe("run");
  });

  it("listens on the container's DNS (UDP and TCP) and HTTP ports", () => {
    const { config } = parseCommandLine(line.args, line.env);
    const port = (name: string, protocol: string) =>
      container.ports?.find((p) => p.name === name && (p.protocol ?? "TCP") === protocol)
        ?.containerPort;
    expect(port("dns", "UDP")).toBe(config.dnsListen.port);
    expect(port("dns-tcp", "TCP")).toBe(config.dnsListen.port);
    expect(port("http", "TCP")).toBe(config.httpListen.port);
    // Reachable through the Service, so not loopback-only.
    expect(["0.0.0.0", "::"]).toContain(config.dnsListen.host);
    expect(["0.0.0.0", "::"]).toContain(config.httpListen.host);
  });
});

it("the legacy-endpoints component switches the CLI to core/v1 Endpoints", () => {
  const line = bridgeCommandLine(render(VARIANTS.legacyEndpoints));
  expect(parseCommandLine(line.args, line.env).config.endpointsApi).toBe("endpoints");
  const base = bridgeCommandLine(render(VARIANTS.base));
  expect(parseCommandLine(base.args, base.env).config.endpointsApi).toBe("endpointslices");
});

it("a flag the CLI does not define is caught (the check is not vacuous)", () => {
  const line = bridgeCommandLine(render(VARIANTS.base));
  expect(() =>
    parseCommandLine([...line.args, "--dns-listen-address=0.0.0.0:53"], line.env),
  ).toThrow(/unknown flag --dns-listen-address/);
  expect(ENV_NAMES.has("KZB_DNS_LISTEN_ADDRESS")).toBe(false);
});
