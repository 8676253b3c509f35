#!/bin/bash
# ZooKeeper probes by four-letter word, with bash's /dev/tcp (no nc needed), 2 s at most.
#   probe.sh live   alive: the server answers `ruok` with `imok` (even without a quorum)
#   probe.sh ready  serving: `srvr` reports a Mode (leader, follower, standalone); a member
#                   without a quorum answers "not currently serving requests" instead
# Port: $ZK_CLIENT_PORT, default 2181. Exit 0 = pass. Tested by test/deploy/zookeeper.test.ts.
set -u
port="${ZK_CLIENT_PORT:-2181}"
case "${1:-}" in
  live) word=ruok ;;
  ready) word=srvr ;;
  *) echo "usage: probe.sh live|ready" >&2; exit 2 ;;
esac
# shellcheck disable=SC2016 # $1 and $2 are the inner bash's arguments
reply=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf %s "$2" >&3 && cat <&3' _ "$port" "$word" 2>/dev/null) || true
case "$word" in
  ruok) [[ "$reply" == imok ]] && exit 0 ;;
  srvr) [[ "$reply" =~ Mode:\ (leader|follower|standalone) ]] && exit 0 ;;
esac
echo "zookeeper $word on 127.0.0.1:$port: ${reply:-no reply}" >&2
exit 1
