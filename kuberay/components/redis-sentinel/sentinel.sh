#!/bin/sh
# The Sentinel of a pod of StatefulSet `redis` (`sentinel.sh`), and how either container finds
# the current master (`sentinel.sh master`: the name another Sentinel gives, or nothing).
# Sentinels name servers by their stable DNS names (redis-N.redis-nodes), not pod addresses,
# which change when a pod is recreated. The Sentinel's config is written to an emptyDir: a
# Sentinel rewrites its file as it learns replicas, other Sentinels and new masters.
set -eu
password="$(cat /run/secrets/redis/password)"
export REDISCLI_AUTH="$password"

current_master() {
  for i in 0 1 2; do
    [ "redis-$i" = "$HOSTNAME" ] && continue
    answer="$(timeout 3 redis-cli -h "redis-$i.redis-nodes" -p 26379 --no-auth-warning \
      sentinel get-master-addr-by-name medinv 2>/dev/null | head -n 1)" || answer=""
    if [ -n "$answer" ]; then
      echo "$answer"
      return
    fi
  done
}

if [ "${1:-}" = master ]; then
  current_master
  exit 0
fi

master="$(current_master)"
if [ -z "$master" ]; then
  master="redis-0.redis-nodes"
fi
# A fixed ID per pod (from its name): a recreated pod's Sentinel is the one the others knew,
# not a fourth one that would raise the majority a failover needs.
myid="$(printf '%s' "$HOSTNAME" | sha1sum | cut -c 1-40)"
umask 077
cat > /sentinel/sentinel.conf <<CONF
port 26379
dir /sentinel
sentinel myid $myid
requirepass "$password"
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip ${HOSTNAME}.redis-nodes
sentinel monitor medinv $master 6379 2
sentinel auth-pass medinv "$password"
sentinel down-after-milliseconds medinv 5000
sentinel failover-timeout medinv 60000
sentinel parallel-syncs medinv 1
CONF
exec redis-server /sentinel/sentinel.conf --sentinel
