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

MIN_MAJOR=2
MIN_MINOR=11
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools/nats-server"
local_bin="$tools/bin/nats-server"

log() { printf '[install-nats-server] %s\n' "$*" >&2; }

new_enough() {
  local bin="$1" ver major minor
  [ -x "$bin" ] || return 1
  ver="$("$bin" --version 2>/dev/null | sed -n 's/.*v\([0-9][0-9.]*\).*/\1/p')"
  [ -n "$ver" ] || return 1
  major="${ver%%.*}"; minor="${ver#*.}"; minor="${minor%%.*}"
  if [ "$major" -gt "$MIN_MAJOR" ] || { [ "$major" -eq "$MIN_MAJOR" ] && [ "$minor" -ge "$MIN_MINOR" ]; }; then
    log "using $bin (v$ver)"
    return 0
  fi
  log "$bin is v$ver, older than $MIN_MAJOR.$MIN_MINOR"
  return 1
}

if [ -n "${NATS_SERVER_BIN:-}" ] && new_enough "$NATS_SERVER_BIN"; then echo "$NATS_SERVER_BIN"; exit 0; fi
if on_path="$(command -v nats-server 2>/dev/null)" && new_enough "$on_path"; then echo "$on_path"; exit 0; fi
if new_enough "$local_bin"; then echo "$local_bin"; exit 0; fi

for tool in apt-get dpkg-deb; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    log "no nats-server >= $MIN_MAJOR.$MIN_MINOR found, and '$tool' is missing so Debian's package cannot be unpacked."
    log "Install nats-server >= $MIN_MAJOR.$MIN_MINOR yourself (https://docs.nats.io) and put it on PATH, or set NATS_SERVER_BIN."
    exit 1
  fi
done

arch="$(dpkg --print-architecture)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
: > "$work/sources.list"
for suite in forky sid; do
  echo "deb [signed-by=$keyring] $mirror $suite main" >> "$work/sources.list"
done
apt_opts=(
  -o "Dir::Etc::SourceList=$work/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache=$work/cache"
  -o "APT::Architecture=$arch"
  -o "APT::Sandbox::User=root"
  -o "Debug::NoLocking=1"
)
log "fetching Debian's package index (private apt configuration in $work)"
apt-get "${apt_opts[@]}" -qq update >&2
candidate="$(apt-cache "${apt_opts[@]}" madison nats-server | awk -F'|' '{gsub(/ /,"",$2); gsub(/ /,"",$3); print $2" "$3}' | sort -V -r | head -n1)"
[ -n "$candidate" ] || { log "Debian's archive offers no nats-server package"; exit 1; }
version="${candidate%% *}"
log "downloading nats-server $version"
(cd "$work" && apt-get "${apt_opts[@]}" -qq download "nats-server=$version" >&2)
deb="$(ls "$work"/nats-server_*.deb)"
dpkg-deb -x "$deb" "$work/root"
mkdir -p "$tools/bin"
install -m 0755 "$work/root/usr/sbin/nats-server" "$local_bin"
new_enough "$local_bin" || { log "the unpacked server is not usable"; exit 1; }
echo "$local_bin"
