# shellcheck shell=bash
# Sourced by infra/install-*.sh, which set before sourcing it:
#   TOOL         the program's name (nats-server, redis-server)
#   MIN_MAJOR, MIN_MINOR   the oldest version accepted
#   VERSION_SED  a sed expression printing the version number out of `$TOOL --version`

log() { printf '[install-%s] %s\n' "$TOOL" "$*" >&2; }

# True when <bin> is executable and reports a version >= MIN_MAJOR.MIN_MINOR; says which either way.
new_enough() {
  local bin="$1" ver major minor
  [ -x "$bin" ] || return 1
  ver="$("$bin" --version 2>/dev/null | sed -n "$VERSION_SED")"
  [ -n "$ver" ] || return 1
  major="${ver%%.*}"; minor="${ver#*.}"; minor="${minor%%.*}"
  if [ "$major" -gt "$MIN_MAJOR" ] || { [ "$major" -eq "$MIN_MAJOR" ] && [ "$minor" -ge "$MIN_MINOR" ]; }; then
    log "using $bin (v$ver)"
    return 0
  fi
  log "$bin is v$ver, older than $MIN_MAJOR.$MIN_MINOR"
  return 1
}

#   find_installed <override> <local-bin>
# Prints the first new enough of: <override> (an environment variable's value, may be empty),
# $TOOL on PATH, <local-bin> (the project-local copy). Fails when none is.
find_installed() {
  local override="$1" local_bin="$2" on_path
  if [ -n "$override" ] && new_enough "$override"; then echo "$override"; return 0; fi
  if on_path="$(command -v "$TOOL" 2>/dev/null)" && new_enough "$on_path"; then echo "$on_path"; return 0; fi
  if new_enough "$local_bin"; then echo "$local_bin"; return 0; fi
  return 1
}

#   require_apt <override-variable-name>
# Exits, saying what to do instead, when Debian's packages cannot be fetched (no apt-get).
require_apt() {
  command -v apt-get >/dev/null 2>&1 && return 0
  log "no $TOOL >= $MIN_MAJOR.$MIN_MINOR found, and apt-get is missing so Debian's package cannot be unpacked."
  log "Install $TOOL >= $MIN_MAJOR.$MIN_MINOR yourself and put it on PATH, or set $1."
  exit 1
}

#   debian_unpack <root> "<suite> [<suite> ...]" <package> [<package> ...]
# Downloads Debian packages with a private, throw-away apt configuration and unpacks them into
# <root>: for each package, the newest version any of the suites offers (dpkg-deb -x). The
# system's apt sources, lists and installed packages are not touched. Dependencies are not
# followed: name every package you need. DEBIAN_MIRROR overrides the mirror
# (default http://deb.debian.org/debian).
debian_unpack() (
  # A subshell: its EXIT trap removes the work folder however it ends.
  set -euo pipefail
  local root="$1" suites="$2"
  shift 2
  local tool
  for tool in apt-get apt-cache dpkg-deb dpkg; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      log "$tool is missing, so Debian packages cannot be unpacked"
      return 1
    fi
  done
  local work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  local mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
  local suite
  : >"$work/sources.list"
  for suite in $suites; do
    echo "deb [signed-by=$keyring] $mirror $suite main" >>"$work/sources.list"
  done
  local apt_opts=(
    -o "Dir::Etc::SourceList=$work/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$work/lists"
    -o "Dir::Cache=$work/cache"
    -o "APT::Architecture=$(dpkg --print-architecture)"
    -o "APT::Sandbox::User=root"
    -o "Debug::NoLocking=1"
  )
  log "fetching Debian's package index for $suites (private apt configuration in $work)"
  apt-get "${apt_opts[@]}" -qq update >&2
  local pkg version
  for pkg in "$@"; do
    version="$(apt-cache "${apt_opts[@]}" madison "$pkg" | awk -F'|' '{gsub(/ /,"",$2); print $2}' | sort -V -r | head -n1)"
    if [ -z "$version" ]; then
      log "Debian's archive ($suites) offers no $pkg package"
      return 1
    fi
    log "downloading $pkg $version"
    (cd "$work" && apt-get "${apt_opts[@]}" -qq download "$pkg=$version" >&2)
  done
  mkdir -p "$root"
  local deb
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$root"; done
)
