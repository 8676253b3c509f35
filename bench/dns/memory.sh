#!/bin/sh
# Memory of the built `dns` binary (npm run build first) by registry size. Args: see
# bench/dns/memory.ts. Full size: `flock /tmp/kzb-bench.lock bench/dns/memory.sh`.
set -eu
cd "$(dirname "$0")/../.."
exec node --experimental-websocket --no-warnings=ExperimentalWarning --import tsx bench/dns/memory.ts "$@"
