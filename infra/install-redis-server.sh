#!/usr/bin/env bash
# Provides a redis-server >= 6.2 for the benchmarks' BullMQ baseline (bench/, never the tests)
# and prints its path on the last line. jetsched itself does not use Redis.
#
# Order of preference:
#   1. $REDIS_SERVER_BIN, if set and new enough;
#   2. a redis-server on PATH, if new enough;
#   3. the project-local copy in .tools/redis/bin (git-ignored);
#   4. otherwise Debian's redis-tools package (whose redis-check-rdb binary is the server: Debian's
#      redis-server package only links it) with the two libraries it needs beyond a base system
#      (libjemalloc2, liblzf1), from this machine's own Debian release, unpacked into .tools/ with a
#      private apt configuration (infra/install-lib.sh); .tools/redis/bin/redis-server runs it
#      with those libraries.
set -euo pipefail

TOOL=redis-server
MIN_MAJOR=6
MIN_MINOR=2
VERSION_SED='s/.* v=\([0-9][0-9.]*\).*/\1/p'
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools/redis"
local_bin="$tools/bin/redis-server"
# shellcheck source=infra/install-lib.sh
. "$root/infra/install-lib.sh"

find_installed "${REDIS_SERVER_BIN:-}" "$local_bin" && exit 0
require_apt REDIS_SERVER_BIN

# The package is built against this machine's C library: take it from the same release.
suite="${DEBIAN_SUITE:-}"
if [ -z "$suite" ] && [ -r /etc/os-release ]; then
  suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
fi
suite="${suite:-stable}"

rm -rf "$tools"
debian_unpack "$tools/root" "$suite" redis-tools libjemalloc2 liblzf1
mkdir -p "$tools/bin" "$tools/lib"
libdir="$(dirname "$(find "$tools/root" -name 'libjemalloc.so.2' | head -n1)")"
cp -a "$libdir"/. "$tools/lib/"
# Redis picks its role from the name it is started by: as redis-server, it is the server.
install -m 0755 "$tools/root/usr/bin/redis-check-rdb" "$tools/lib/redis-server"
cat >"$local_bin" <<'WRAPPER'
#!/bin/sh
here="$(cd "$(dirname "$0")/../lib" && pwd)"
LD_LIBRARY_PATH="$here${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$here/redis-server" "$@"
WRAPPER
chmod 0755 "$local_bin"
rm -rf "$tools/root"
new_enough "$local_bin" || { log "the unpacked server is not usable"; exit 1; }
echo "$local_bin"
