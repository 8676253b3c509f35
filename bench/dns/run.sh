#!/bin/sh
# DNS benchmark: the bridge's DNS server vs NSD under dnsperf. Args: see bench/dns/run.ts.
set -eu
cd "$(dirname "$0")/../.."
exec node --import tsx bench/dns/run.ts "$@"
