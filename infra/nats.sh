#!/usr/bin/env bash
# Local NATS for jetsched development, on loopback only.
#
#   infra/nats.sh single    one JetStream server          → nats://127.0.0.1:4222
#   infra/nats.sh cluster   3-node cluster (n1..n3)        → nats://127.0.0.1:4222,…:4223,…:4224
#   infra/nats.sh stop      stops the servers this script started (by pid file)
#   infra/nats.sh status
#
# The last stdout line is `export NATS_URL=…`, so `eval "$(infra/nats.sh single)"` sets it.
# Data, logs and pid files live in .data/nats/ (git-ignored); `rm -rf .data/nats` resets them.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" # the configs' store_dir paths are relative to the project root
run=.data/nats
mkdir -p "$run"

log() { printf '[nats.sh] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# Pid from a pid file, if that process still runs and is a nats-server (guards against reused pids).
live_pid() {
  local file="$1" pid
  [ -f "$file" ] || return 1
  pid="$(cat "$file")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -qa nats-server "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

running_nodes() {
  local f
  for f in "$run"/*.pid; do [ -e "$f" ] && live_pid "$f" >/dev/null && basename "$f" .pid; done
  return 0
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

healthy() {
  local port="$1"
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 2 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1
  else
    port_open "$port"
  fi
}

start_node() {
  local name="$1" conf="$2"
  nohup "$bin" -c "$conf" -l "$run/$name.log" >/dev/null 2>&1 &
  echo $! >"$run/$name.pid"
  log "started $name (pid $!, log $run/$name.log)"
}

show_logs() {
  local f
  for f in "$run"/*.log; do [ -e "$f" ] && { log "--- $f"; tail -n 15 "$f" >&2; }; done
  return 0
}

# Waits until every monitor port answers /healthz ok (for a cluster: meta leader elected),
# giving up when a started server exits or after 30 s.
wait_healthy() {
  local deadline=$((SECONDS + 30)) port f
  for port in "$@"; do
    until healthy "$port"; do
      for f in "$run"/*.pid; do
        live_pid "$f" >/dev/null || { show_logs; stop; die "$(basename "$f" .pid) exited while starting"; }
      done
      [ "$SECONDS" -lt "$deadline" ] || { show_logs; stop; die "NATS did not become healthy within 30 s"; }
      sleep 0.2
    done
  done
}

# Refuses to start when a port is taken (another server would answer our health checks).
check_ports_free() {
  local port
  for port in "$@"; do
    ! port_open "$port" || die "127.0.0.1:$port is already in use"
  done
}

start() {
  local existing
  existing="$(running_nodes)"
  [ -z "$existing" ] || die "already running: $(echo $existing); run 'infra/nats.sh stop' first"
  bin="$(bash infra/install-nats-server.sh | tail -n 1)"
  [ -x "$bin" ] || die "no nats-server binary; run 'npm run setup:nats'"
  case "$1" in
    single)
      check_ports_free 4222 8222
      start_node single infra/nats-single.conf
      wait_healthy 8222
      echo "export NATS_URL=nats://127.0.0.1:4222"
      ;;
    cluster)
      check_ports_free 4222 4223 4224 6222 6223 6224 8222 8223 8224
      for n in 1 2 3; do start_node "n$n" "infra/nats-cluster/n$n.conf"; done
      wait_healthy 8222 8223 8224
      echo "export NATS_URL=nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224"
      ;;
  esac
}

stop() {
  local f pid name i
  for f in "$run"/*.pid; do
    [ -e "$f" ] || continue
    name="$(basename "$f" .pid)"
    if pid="$(live_pid "$f")"; then
      kill -TERM "$pid"
      for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then
        log "$name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
        kill -KILL "$pid"
      fi
      log "stopped $name (pid $pid)"
    fi
    rm -f "$f"
  done
}

case "${1:-}" in
  single | cluster) start "$1" ;;
  stop) stop ;;
  status)
    nodes="$(running_nodes)"
    if [ -n "$nodes" ]; then echo "running: $(echo $nodes)"; else echo "not running"; fi
    ;;
  *) die "usage: infra/nats.sh single|cluster|stop|status" ;;
esac
