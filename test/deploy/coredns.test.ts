/**
 * CoreDNS integration: the server block (manifests/coredns/zk-internal.server) forwards the
 * bridge's zone to the bridge Service's DNS port, and coredns-setup.sh installs it into a
 * Corefile without touching the rest, idempotently, as a merge patch kubectl can apply.
 * kubectl is replaced by a recording stand-in here: what is tested is the script's Corefile
 * and patch text, not a cluster.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { IService } from "kubernetes-models/v1/Service";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseCommandLine } from "../../lib/config.js";
import { BRIDGE, bridgeCommandLine, one, REPO, render, VARIANTS } from "./manifests.js";

const SCRIPT = path.join(REPO, "manifests/coredns/coredns-setup.sh");
const SNIPPET = readFileSync(path.join(REPO, "manifests/coredns/zk-internal.server"), "utf8");

/** kubeadm's default Corefile (what most clusters run). */
const KUBEADM = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;

const work = mkdtempSync(path.join(tmpdir(), "kzb-coredns-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync("bash", [SCRIPT, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 20_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function renderCorefile(corefile: string, ip: string, zone?: string) {
  const file = path.join(work, `Corefile-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, corefile);
  return run(["--render", file, ip, ...(zone ? [zone] : [])]);
}

/** Server blocks of a Corefile: `key → body lines` (enough of Caddyfile syntax for these files). */
function serverBlocks(corefile: string): Map<string, string[]> {
  const blocks = new Map<string, string[]>();
  let depth = 0;
  let current: string[] | undefined;
  for (const raw of corefile.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    if (depth === 0) {
      const m = /^(\S+)\s*\{$/.exec(line);
      if (!m) throw new Error(`not a server block: ${line}`);
      current = [];
      blocks.set(m[1] as string, current);
      depth = 1;
      continue;
    }
    depth += (line.match(/\{/g)?.length ?? 0) - (line.match(/\}/g)?.length ?? 0);
    if (depth < 0) throw new Error("unbalanced }");
    if (depth > 0) current?.push(line);
  }
  if (depth !== 0) throw new Error("unbalanced {");
  return blocks;
}

describe("the CoreDNS server block", () => {
  const objects = render(VARIANTS.base);
  const line = bridgeCommandLine(objects);
  const { config } = parseCommandLine(line.args, line.env);
  const svc = one<IService>(objects, "Service", BRIDGE);
  const dnsPorts = (svc.spec?.ports ?? []).filter(
    (p) => p.targetPort === "dns" || p.targetPort === "dns-tcp",
  );
  const blocks = serverBlocks(SNIPPET);
  const zoneKey = `${config.zone.replace(/\.$/, "")}:53`;

  it("serves the bridge's zone and forwards it to the Service's DNS port, UDP and TCP", () => {
    expect([...blocks.keys()]).toEqual([zoneKey]);
    expect(new Set(dnsPorts.map((p) => p.port))).toEqual(new Set([53]));
    expect(dnsPorts.map((p) => p.protocol).sort()).toEqual(["TCP", "UDP"]);
    expect(blocks.get(zoneKey)).toContain("forward . BRIDGE_IP:53 {");
  });

  it("caches no longer than the bridge's TTL and keeps SERVFAIL briefly", () => {
    const body = blocks.get(zoneKey) ?? [];
    expect(body).toContain(`cache ${config.dnsTtlSeconds} {`);
    expect(body).toContain("servfail 1s");
  });
});

describe("coredns-setup.sh --render", () => {
  it("appends the block to a Corefile, leaving the rest as it was", () => {
    const r = renderCorefile(KUBEADM, "10.96.44.7");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(KUBEADM)).toBe(true);
    const blocks = serverBlocks(r.stdout);
    expect([...blocks.keys()]).toEqual([".:53", "zk.internal:53"]);
    expect(blocks.get(".:53")).toEqual([...serverBlocks(KUBEADM).values()][0]);
    expect(blocks.get("zk.internal:53")).toContain("forward . 10.96.44.7:53 {");
    expect(r.stdout.match(/# BEGIN kube-zk-bridge/g)).toHaveLength(1);
  });

  it("replaces its own block when run again (a new Service IP), never adds a second", () => {
    const once = renderCorefile(KUBEADM, "10.96.44.7").stdout;
    const twice = renderCorefile(once, "10.96.99.9").stdout;
    expect(twice).toBe(renderCorefile(KUBEADM, "10.96.99.9").stdout);
    expect(renderCorefile(twice, "10.96.99.9").stdout).toBe(twice);
  });

  it("takes an IPv6 Service address and another zone", () => {
    const r = renderCorefile(KUBEADM, "fd00:10:96::a", "corp.zk.");
    expect(r.code).toBe(0);
    expect(serverBlocks(r.stdout).get("corp.zk:53")).toContain("forward . [fd00:10:96::a]:53 {");
  });

  it("refuses a value that is not an IP address, printing nothing", () => {
    const r = renderCorefile(KUBEADM, "kube-zk-bridge.svc");
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/not an IP address: kube-zk-bridge\.svc/);
  });

  it("refuses a Corefile whose block was cut in half", () => {
    const once = renderCorefile(KUBEADM, "10.96.44.7").stdout;
    const r = renderCorefile(once.replace("# END kube-zk-bridge\n", ""), "10.96.44.7");
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
  });
});

describe("coredns-setup.sh against a cluster (kubectl recorded)", () => {
  /** A kubectl that answers the reads the script makes and records every call (args NUL-separated, calls by RS). */
  function fakeKubectl(corefile: string) {
    const dir = mkdtempSync(path.join(work, "bin-"));
    const log = path.join(dir, "calls");
    writeFileSync(path.join(dir, "Corefile"), corefile);
    writeFileSync(
      path.join(dir, "kubectl"),
      `#!/usr/bin/env bash
printf '%s\\0' "$@" >> "${log}"; printf '\\036' >> "${log}"
case "$*" in
  *"get service kube-zk-bridge -o jsonpath={.spec.clusterIP}") printf 10.96.44.7 ;;
  *"get configmap coredns -o jsonpath={.data.Corefile}") cat "${dir}/Corefile" ;;
  *"get configmap coredns-custom"*) exit 1 ;;
  *) ;;
esac
`,
    );
    chmodSync(path.join(dir, "kubectl"), 0o755);
    return {
      env: { PATH: `${dir}:${process.env.PATH}` },
      calls: () =>
        readFileSync(log, "utf8")
          .split("\x1e")
          .filter(Boolean)
          .map((l) => l.split("\0").filter(Boolean)),
    };
  }

  it("patches the coredns ConfigMap's Corefile with exactly what --render prints", () => {
    const kubectl = fakeKubectl(KUBEADM);
    const r = run([], kubectl.env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const patch = kubectl.calls().find((c) => c.includes("patch"));
    expect(patch?.slice(0, 6)).toEqual([
      "-n",
      "kube-system",
      "patch",
      "configmap",
      "coredns",
      "--type",
    ]);
    const body = parse(patch?.at(-1) ?? "") as { data: { Corefile: string } };
    expect(body.data.Corefile).toBe(renderCorefile(KUBEADM, "10.96.44.7").stdout);
  });

  it("keeps a Corefile that starts with an indented line intact through the YAML patch", () => {
    const odd = `  # managed by the platform team\n${KUBEADM}`;
    const kubectl = fakeKubectl(odd);
    expect(run([], kubectl.env).code).toBe(0);
    const patch = kubectl.calls().find((c) => c.includes("patch"));
    const body = parse(patch?.at(-1) ?? "") as { data: { Corefile: string } };
    expect(body.data.Corefile.startsWith(odd)).toBe(true);
  });

  it("--custom writes the block as coredns-custom's kube-zk-bridge.server key (k3s, AKS)", () => {
    const kubectl = fakeKubectl(KUBEADM);
    expect(run(["--custom"], kubectl.env).code).toBe(0);
    const calls = kubectl.calls();
    expect(
      calls.some((c) => c.join(" ") === "-n kube-system create configmap coredns-custom"),
    ).toBe(true);
    const patch = calls.find((c) => c.includes("patch"));
    expect(patch?.slice(0, 5)).toEqual([
      "-n",
      "kube-system",
      "patch",
      "configmap",
      "coredns-custom",
    ]);
    const body = parse(patch?.at(-1) ?? "") as { data: Record<string, string> };
    expect(Object.keys(body.data)).toEqual(["kube-zk-bridge.server"]);
    expect(serverBlocks(body.data["kube-zk-bridge.server"] ?? "").get("zk.internal:53")).toContain(
      "forward . 10.96.44.7:53 {",
    );
  });

  it("--dry-run changes nothing", () => {
    const kubectl = fakeKubectl(KUBEADM);
    const r = run(["--dry-run"], kubectl.env);
    expect(r.code).toBe(0);
    expect(kubectl.calls().filter((c) => c.includes("patch") || c.includes("create"))).toEqual([]);
    expect(r.stdout).toContain("forward . 10.96.44.7:53 {");
  });
});
