#!/bin/sh
# The Redis server of a pod of StatefulSet `redis`: the master the Sentinels name, or a replica
# of it. On the very first start no Sentinel names one yet and redis-0 is the master. The
# password goes to redis-server on standard input, never in its arguments or environment.
set -eu
password="$(cat /run/secrets/redis/password)"
me="${HOSTNAME}.redis-nodes"
master="$(/scripts/sentinel.sh master)"
if [ -z "$master" ]; then
  master="redis-0.redis-nodes"
fi
if [ "$master" = "$me" ]; then
  replicaof=""
else
  replicaof="replicaof $master 6379"
fi
echo "starting as $([ -z "$replicaof" ] && echo master || echo "a replica of $master")"
# min-replicas-*: a master that lost both replicas (or was cut off from them, as an old master
# on the wrong side of a network partition) refuses writes after 10 s instead of taking writes
# that the promoted replica will never have.
exec redis-server - <<CONF
requirepass "$password"
masterauth "$password"
dir /data
appendonly yes
appendfsync always
replica-announce-ip $me
min-replicas-to-write 1
min-replicas-max-lag 10
$replicaof
CONF
