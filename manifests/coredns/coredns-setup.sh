#!/usr/bin/env bash
# Installs the zk.internal server block (zk-internal.server) into the cluster's CoreDNS.
#
#   coredns-setup.sh [--namespace NS] [--service NAME] [--zone ZONE] [--custom] [--dry-run]
#     Reads the bridge Service's ClusterIP, then either
#       (default)  replaces or appends the block in the `Corefile` key of kube-system/coredns
#                  (kubeadm, EKS, most clusters), between BEGIN/END markers, so running it
#                  again updates the block instead of adding a second one;
#       --custom   writes it as key `kube-zk-bridge.server` of kube-system/coredns-custom,
#                  for distributions whose Corefile imports that ConfigMap (k3s, AKS).
#     --zone: the bridge's --zone (KZB_ZONE), default zk.internal.
#     --dry-run prints the merge patch instead of applying it.
#
#   coredns-setup.sh --render COREFILE BRIDGE_IP [ZONE]
#     Offline: prints COREFILE with the block installed (what the default mode applies).
#
# CoreDNS's `reload` plugin picks the change up within about 30 s.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
snippet="$here/zk-internal.server"
begin="# BEGIN kube-zk-bridge"
end="# END kube-zk-bridge"

die() { echo "coredns-setup: $*" >&2; exit 1; }

# The server block for IP $1 and zone $2, without the snippet's header comment.
block() {
  [[ "$1" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ || "$1" =~ ^[0-9a-fA-F:]*:[0-9a-fA-F:]*$ ]] ||
    die "not an IP address: $1"
  local ip="$1"
  [[ "$ip" == *:* ]] && ip="[$ip]"
  local zone="${2%.}"
  [[ "$zone" =~ ^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$ ]] || die "not a zone name: $2"
  awk -v ip="$ip" -v zone="$zone" '
    body || !/^#/ {
      body = 1
      if ($0 == "zk.internal:53 {") $0 = zone ":53 {"
      gsub(/BRIDGE_IP/, ip)
      print
    }' "$snippet"
}

# Corefile on stdin → Corefile with our block for IP $1, zone $2 (between markers) replaced
# or appended.
render() {
  local blk
  blk="$(block "$1" "$2")"
  BLOCK="$blk" awk -v begin="$begin" -v end="$end" '
    $0 == begin { skipping = 1; next }
    skipping && $0 == end { skipping = 0; next }
    skipping { next }
    { lines[++n] = $0 }
    END {
      if (skipping) { print "coredns-setup: " begin " without " end " in the Corefile" > "/dev/stderr"; exit 1 }
      while (n > 0 && lines[n] == "") n--   # one blank line before our block, however often we run
      for (i = 1; i <= n; i++) print lines[i]
      if (n > 0) print ""
      print begin
      print ENVIRON["BLOCK"]
      print end
    }'
}

# A YAML merge patch setting data.<key> to stdin, as a literal block (with an explicit
# indentation indicator: a Corefile may start with an indented line).
patch_yaml() {
  printf 'data:\n  %s: |2\n' "$1"
  sed 's/^/    /'
}

if [[ "${1:-}" == "--render" ]]; then
  [[ $# -eq 3 || $# -eq 4 ]] || die "usage: coredns-setup.sh --render COREFILE BRIDGE_IP [ZONE]"
  render "$3" "${4:-zk.internal}" < "$2"
  exit 0
fi

namespace=kube-zk-bridge service=kube-zk-bridge zone=zk.internal custom=false dry_run=false
while (($#)); do
  case "$1" in
    --namespace) namespace="${2:?}"; shift 2 ;;
    --service) service="${2:?}"; shift 2 ;;
    --zone) zone="${2:?}"; shift 2 ;;
    --custom) custom=true; shift ;;
    --dry-run) dry_run=true; shift ;;
    *) die "unknown argument $1 (see the header of $0)" ;;
  esac
done

ip="$(kubectl -n "$namespace" get service "$service" -o jsonpath='{.spec.clusterIP}')" ||
  die "cannot read service $namespace/$service (is the bridge deployed?)"
[[ -n "$ip" && "$ip" != None ]] || die "service $namespace/$service has no ClusterIP"

if $custom; then
  target=coredns-custom
  patch="$(block "$ip" "$zone" | patch_yaml kube-zk-bridge.server)"
  kubectl -n kube-system get configmap coredns-custom >/dev/null 2>&1 ||
    $dry_run || kubectl -n kube-system create configmap coredns-custom >/dev/null
else
  target=coredns
  current="$(kubectl -n kube-system get configmap coredns -o jsonpath='{.data.Corefile}')" ||
    die "cannot read kube-system/coredns (use --custom on k3s/AKS, docs/coredns.md otherwise)"
  [[ -n "$current" ]] || die "kube-system/coredns has no Corefile key"
  patch="$(render "$ip" "$zone" <<<"$current" | patch_yaml Corefile)"
fi

if $dry_run; then
  printf '# kubectl -n kube-system patch configmap %s --type merge --patch-file <this>\n%s\n' "$target" "$patch"
else
  kubectl -n kube-system patch configmap "$target" --type merge --patch "$patch"
  echo "coredns-setup: $zone → $ip:53 installed in kube-system/$target; CoreDNS reloads it within ~30 s"
fi
