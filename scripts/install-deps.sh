#!/usr/bin/env bash
# Installs what the tests, benchmarks and `demo` need on a fresh Debian 12 machine:
# ZooKeeper 3.8, DNS clients/servers used as references, Curator 5 and kazoo as real readers,
# then the npm dependencies. Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  zookeeper               # real ZooKeeper 3.8 for tests and demo
  bind9-dnsutils          # dig
  unbound                 # a forwarding resolver standing in for CoreDNS `forward`
  nsd                     # reference authoritative server for benchmarks
  dnsperf                 # DNS load generator
  openjdk-17-jdk-headless    # javac for the Curator probe (the JRE alone comes with zookeeper)
  libcurator-discovery-java  # Curator 5.4 service discovery: the real legacy reader/writer
  python3-kazoo           # kazoo, the Python ZooKeeper client (Finagle-style reader)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Services these packages ship must not grab ports on a CI machine.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi
command -v kubectl >/dev/null || { echo "install-deps: kubectl >= 1.27 is required (kubectl kustomize renders manifests/ in tests)" >&2; exit 1; }
command -v javac >/dev/null || { echo "install-deps: javac (JDK 17) is required" >&2; exit 1; }

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
