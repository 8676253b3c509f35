#!/usr/bin/env bash
# The one build of kube-zk-bridge: TypeScript → dist/ (entry point dist/cmd/kube-zk-bridge.js).
# `npm run build` (so `npm test`'s pretest) and the Dockerfile's build stage both run this
# script, so the image ships exactly what the tests ran. Needs the npm dev dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

node_modules/.bin/tsc -p tsconfig.build.json

# The entry point loads and runs: a broken build fails here, not in a cluster.
node dist/cmd/kube-zk-bridge.js --version >/dev/null
