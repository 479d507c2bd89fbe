#!/usr/bin/env bash
# Provides a nats-server >= 2.11 for jetsched and prints its path on the last line.
#
# Order of preference:
#   1. $NATS_SERVER_BIN, if set and new enough;
#   2. a nats-server on PATH, if new enough;
#   3. the project-local copy in .tools/nats-server/bin (git-ignored);
#   4. otherwise Debian's newer package (testing/unstable) is downloaded with a private,
#      throw-away apt configuration and unpacked into .tools/ — the system's apt
#      sources, lists and installed packages are not touched.
set -euo pipefail

TOOL=nats-server
MIN_MAJOR=2
MIN_MINOR=11
VERSION_SED='s/.*v\([0-9][0-9.]*\).*/\1/p'
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools/nats-server"
local_bin="$tools/bin/nats-server"
# shellcheck source=infra/install-lib.sh
. "$root/infra/install-lib.sh"

find_installed "${NATS_SERVER_BIN:-}" "$local_bin" && exit 0
require_apt NATS_SERVER_BIN
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
debian_unpack "$work/root" "forky sid" nats-server
mkdir -p "$tools/bin"
install -m 0755 "$work/root/usr/sbin/nats-server" "$local_bin"
new_enough "$local_bin" || { log "the unpacked server is not usable"; exit 1; }
echo "$local_bin"
