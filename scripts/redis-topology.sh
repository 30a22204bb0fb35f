#!/usr/bin/env bash
# Starts the Redis topologies the Redis store's tests use, all on 127.0.0.1, keeping nothing on disk:
#
#   7001-7006  a Redis Cluster: three masters, each with one replica
#   6390/6391  a master (6390) and its replica (6391), for the replica-acknowledgement tests
#   6392       a lone server whose eviction policy the eviction-check tests change and restore
#
# Idempotent: a healthy topology is left as it is; one that is not (a node down, a slot not served, a replica
# not linked, a leftover slot migration) is recreated from scratch: the processes on its ports that this
# script started are stopped, their state wiped, the servers started again, the cluster created.
#
# Usage: scripts/redis-topology.sh [start|status|stop]     (default: start)
#
# State (configuration files, logs, nodes.conf, pid files) lives under $IDEMPOTENCY_REDIS_TOPOLOGY_DIR, by
# default ${TMPDIR:-/tmp}/idempotency-redis-topology. Needs redis-server and redis-cli 7 or later.
set -euo pipefail

STATE="${IDEMPOTENCY_REDIS_TOPOLOGY_DIR:-${TMPDIR:-/tmp}/idempotency-redis-topology}"
HOST=127.0.0.1
CLUSTER_PORTS=(7001 7002 7003 7004 7005 7006)
PAIR_MASTER=6390
PAIR_REPLICA=6391
LONE=6392

cli() { # port, command...
  local port=$1
  shift
  redis-cli -h "$HOST" -p "$port" --no-auth-warning "$@" 2>/dev/null
}

answers() { # port
  [ "$(cli "$1" ping || true)" = "PONG" ]
}

field() { # port, section, name: one field of INFO
  cli "$1" info "$2" | tr -d '\r' | sed -n "s/^$3://p"
}

wait_until() { # what, seconds, command...
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "redis-topology: $what not reached within ${seconds} s (logs under $STATE)" >&2
      return 1
    fi
    sleep 0.2
  done
}

stop_node() { # port: stops the server this script started on the port, then anything else still there
  local port=$1 dir="$STATE/$1"
  if answers "$port"; then
    cli "$port" shutdown nosave now >/dev/null || true
  fi
  if [ -f "$dir/redis.pid" ]; then
    local pid
    pid=$(cat "$dir/redis.pid")
    if kill -0 "$pid" 2>/dev/null && grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
    fi
  fi
  wait_until "port $port free" 10 port_free "$port"
}

port_free() { # port
  ! answers "$1" && ! ss -Hltn "sport = :$1" | grep -q .
}

start_node() { # port, extra configuration lines...
  local port=$1 dir="$STATE/$1"
  shift
  rm -rf "$dir"
  mkdir -p "$dir"
  {
    echo "port $port"
    echo "bind $HOST"
    echo "daemonize yes"
    echo "save \"\""
    echo "appendonly no"
    echo "dir $dir"
    echo "pidfile $dir/redis.pid"
    echo "logfile $dir/redis.log"
    # a replica (re)joining gets its full copy at once, not after the default five seconds' wait for others
    echo "repl-diskless-sync-delay 0"
    for line in "$@"; do echo "$line"; done
  } >"$dir/redis.conf"
  redis-server "$dir/redis.conf"
  wait_until "Redis on port $port answering" 15 answers "$port"
}

# ---------------------------------------------------------------------------------------------- cluster

cluster_healthy() {
  local port nodes
  for port in "${CLUSTER_PORTS[@]}"; do
    answers "$port" || return 1
    [ "$(field "$port" cluster cluster_enabled)" = "1" ] || return 1
    cli "$port" cluster info | tr -d '\r' | grep -qx "cluster_state:ok" || return 1
  done
  nodes=$(cli "${CLUSTER_PORTS[0]}" cluster nodes | tr -d '\r')
  # six nodes, none failing or handshaking, three masters and three replicas, no slot half migrated
  [ "$(grep -c . <<<"$nodes")" -eq 6 ] || return 1
  grep -Eq 'fail|handshake|noaddr' <<<"$nodes" && return 1
  [ "$(awk '$3 ~ /master/' <<<"$nodes" | grep -c .)" -eq 3 ] || return 1
  [ "$(awk '$3 ~ /slave/' <<<"$nodes" | grep -c .)" -eq 3 ] || return 1
  grep -q '\[' <<<"$nodes" && return 1
  cli "${CLUSTER_PORTS[0]}" cluster info | tr -d '\r' | grep -qx "cluster_slots_ok:16384" || return 1
  for port in "${CLUSTER_PORTS[@]}"; do
    if [ "$(field "$port" replication role)" = "slave" ]; then
      [ "$(field "$port" replication master_link_status)" = "up" ] || return 1
    fi
  done
}

cluster_ok_everywhere() {
  local port
  for port in "${CLUSTER_PORTS[@]}"; do
    cli "$port" cluster info | tr -d '\r' | grep -qx "cluster_state:ok" || return 1
  done
}

start_cluster() {
  local port addresses=()
  for port in "${CLUSTER_PORTS[@]}"; do
    stop_node "$port"
  done
  for port in "${CLUSTER_PORTS[@]}"; do
    # a short node timeout, so that a killed master's replica takes over within seconds
    start_node "$port" "cluster-enabled yes" "cluster-config-file nodes.conf" "cluster-node-timeout 2000"
    addresses+=("$HOST:$port")
  done
  redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes >"$STATE/cluster-create.log" 2>&1 \
    || { cat "$STATE/cluster-create.log" >&2; return 1; }
  wait_until "a healthy Redis Cluster on ports ${CLUSTER_PORTS[*]}" 60 cluster_healthy
}

# ------------------------------------------------------------------------------------ master and replica

pair_healthy() {
  answers "$PAIR_MASTER" && answers "$PAIR_REPLICA" || return 1
  [ "$(field "$PAIR_MASTER" replication role)" = "master" ] || return 1
  [ "$(field "$PAIR_MASTER" replication connected_slaves)" = "1" ] || return 1
  [ "$(field "$PAIR_REPLICA" replication role)" = "slave" ] || return 1
  [ "$(field "$PAIR_REPLICA" replication master_port)" = "$PAIR_MASTER" ] || return 1
  [ "$(field "$PAIR_REPLICA" replication master_link_status)" = "up" ] || return 1
}

start_pair() {
  stop_node "$PAIR_REPLICA"
  stop_node "$PAIR_MASTER"
  start_node "$PAIR_MASTER"
  start_node "$PAIR_REPLICA" "replicaof $HOST $PAIR_MASTER"
  wait_until "replica $PAIR_REPLICA linked to master $PAIR_MASTER" 30 pair_healthy
}

# -------------------------------------------------------------------------------------------- lone server

lone_healthy() {
  answers "$LONE" || return 1
  [ "$(cli "$LONE" config get maxmemory-policy | tr -d '\r' | sed -n 2p)" = "noeviction" ]
}

start_lone() {
  stop_node "$LONE"
  start_node "$LONE" "maxmemory-policy noeviction"
}

# ------------------------------------------------------------------------------------------------- main

require_tools() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null || {
    echo "redis-topology: redis-server and redis-cli (Redis 7+) must be on the PATH" >&2
    exit 1
  }
}

status() {
  local healthy=0
  if cluster_healthy; then echo "cluster ${CLUSTER_PORTS[*]}: healthy"; else echo "cluster ${CLUSTER_PORTS[*]}: not healthy"; healthy=1; fi
  if pair_healthy; then echo "master/replica $PAIR_MASTER/$PAIR_REPLICA: healthy"; else echo "master/replica $PAIR_MASTER/$PAIR_REPLICA: not healthy"; healthy=1; fi
  if lone_healthy; then echo "lone server $LONE: healthy"; else echo "lone server $LONE: not healthy"; healthy=1; fi
  return $healthy
}

require_tools
case "${1:-start}" in
  start)
    mkdir -p "$STATE"
    if cluster_healthy; then
      echo "Redis Cluster on ports ${CLUSTER_PORTS[*]}: already healthy"
    else
      echo "Redis Cluster on ports ${CLUSTER_PORTS[*]}: (re)creating"
      start_cluster
      wait_until "cluster_state:ok on every node" 30 cluster_ok_everywhere
    fi
    if pair_healthy; then
      echo "Redis master/replica on ports $PAIR_MASTER/$PAIR_REPLICA: already healthy"
    else
      echo "Redis master/replica on ports $PAIR_MASTER/$PAIR_REPLICA: (re)creating"
      start_pair
    fi
    if lone_healthy; then
      echo "Redis on port $LONE: already healthy"
    else
      echo "Redis on port $LONE: (re)creating"
      start_lone
    fi
    ;;
  status)
    status
    ;;
  stop)
    for port in "${CLUSTER_PORTS[@]}" "$PAIR_REPLICA" "$PAIR_MASTER" "$LONE"; do
      stop_node "$port"
    done
    rm -rf "$STATE"
    echo "Redis topologies stopped"
    ;;
  *)
    echo "usage: $0 [start|status|stop]" >&2
    exit 2
    ;;
esac
