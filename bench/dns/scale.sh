#!/bin/sh
# DNS at scale under ZooKeeper churn: the built binary (npm run build first) vs NSD under
# dnsperf. Args: see bench/dns/scale.ts. Full size takes minutes and both cores: run it as
# `flock /tmp/kzb-bench.lock bench/dns/scale.sh`.
set -eu
cd "$(dirname "$0")/../.."
exec node --experimental-websocket --no-warnings=ExperimentalWarning --import tsx bench/dns/scale.ts "$@"
