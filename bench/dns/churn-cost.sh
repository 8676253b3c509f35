#!/bin/sh
# What following churn alone costs the built `dns` binary (npm run build first). Args: see
# bench/dns/churn-cost.ts. `flock /tmp/kzb-bench.lock bench/dns/churn-cost.sh [--alloc]`.
set -eu
cd "$(dirname "$0")/../.."
exec node --experimental-websocket --no-warnings=ExperimentalWarning --import tsx bench/dns/churn-cost.ts "$@"
