#!/usr/bin/env node
/**
 * CLI: parse and validate, then hand over to the command. Bad flags: one line, exit 2,
 * nothing started.
 */
import { readFileSync } from "node:fs";
import { ConfigError, envName, FLAGS, parseCommandLine } from "../lib/config.js";

const USAGE = `kube-zk-bridge <command> [flags]

Commands:
  run    sync + dns + http in one process (the default Deployment)
  sync   sync Kubernetes EndpointSlices to ZooKeeper, + http
  dns    authoritative DNS over any ZooKeeper registry, + http (no Kubernetes access needed)
  ls     print the registry under the base paths as a table (--json for JSON) and exit
  demo   local ZooKeeper + simulated cluster + the bridge, with commands to try

Flags (each also read from env KZB_<FLAG>, e.g. --zk-connect ⇔ KZB_ZK_CONNECT; a flag beats env):
${FLAGS.map((f) => `  --${f.name.padEnd(24)}${f.accepts}${f.default !== undefined ? ` (default ${f.default})` : ""}  [${envName(f.name)}]`).join("\n")}
`;

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kube-zk-bridge: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const { command, config } = parsed;
  switch (command) {
    case "help":
      process.stdout.write(USAGE);
      return 0;
    case "version": {
      const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
      process.stdout.write(`kube-zk-bridge ${pkg.version}\n`);
      return 0;
    }
    case "ls": {
      const { listRegistry } = await import("../lib/ls.js");
      return listRegistry(config, process.stdout);
    }
    case "demo": {
      const { runDemo } = await import("../lib/demo.js");
      return runDemo(config);
    }
    default: {
      const { runBridge } = await import("../lib/app.js");
      return runBridge(command, config);
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`kube-zk-bridge: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
