#!/usr/bin/env bash
# The one build of kube-zk-bridge: an esbuild bundle in dist/, entry point
# dist/cmd/kube-zk-bridge.js, every dependency inside (no node_modules needed at run time).
# `npm run build` (so `npm test`'s pretest) and the Dockerfile's build stage both run this
# script, so the image ships exactly what the tests ran. Needs the npm dev dependencies.
#
# Why a bundle: loading @kubernetes/client-node file by file from node_modules costs 0.6-0.8 s
# of every start; bundled, ~0.1 s. Type checking is `npm run typecheck` (tsc), not this script.
#
# --splitting keeps the dynamic imports lazy (chunks in dist/chunks/): `dns` never loads the
# chunk holding the Kubernetes client (~70 MiB of RSS). The banner gives the bundled CommonJS
# packages a `require` for Node's built-in modules. Source maps (no sources inlined) serve
# `node --enable-source-maps` and the benches' profile attribution (bench/support/call-frame.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

rm -rf dist
node_modules/.bin/esbuild cmd/kube-zk-bridge.ts \
  --bundle --platform=node --target=node20 --format=esm \
  --splitting --outbase=. --outdir=dist --chunk-names='chunks/[name]-[hash]' \
  --sourcemap --sources-content=false \
  --banner:js="import { createRequire as __kzbCreateRequire } from 'node:module'; const require = __kzbCreateRequire(import.meta.url);" \
  --log-level=warning

# The entry point loads and runs: a broken build fails here, not in a cluster.
node dist/cmd/kube-zk-bridge.js --version >/dev/null
