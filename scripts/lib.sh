# shellcheck shell=bash disable=SC2034  # the variables here are used by the scripts that source it
# Shared by every script under scripts/: where the project's tools live and how to say what is missing.
# Source it; it sets nothing else.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Tools are cached outside the clone, so a second clone (or CI on a warm machine) reuses them.
TOOLS="${ENVAPP_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/envapp}"
VENV="$TOOLS/venv"
export HELM_CACHE_HOME="$TOOLS/helm/cache" HELM_CONFIG_HOME="$TOOLS/helm/config" HELM_DATA_HOME="$TOOLS/helm/data"
export PATH="$TOOLS/bin:$VENV/bin:$PATH"

# The component and the dev host that serves it when Spin is not installed.
WASM="$ROOT/target/wasm32-wasip1/release/envapp.wasm"
HOST_BIN="$TOOLS/host-target/release/envapp-host"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# need CMD HINT: fail with what to install when CMD is not on PATH.
need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"
}

# The crate version from Cargo.toml: the one place the app version is set (image tag, chart appVersion).
crate_version() {
  python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["package"]["version"])' \
    "$ROOT/Cargo.toml"
}

# parse_registry_args USAGE ARGS...: the publish scripts' `[--insecure] REGISTRY`; sets
# `registry` and `insecure` (also on with REGISTRY_INSECURE=1).
parse_registry_args() {
  local usage="$1" arg
  shift
  insecure="${REGISTRY_INSECURE:-}"
  registry=""
  for arg in "$@"; do
    case "$arg" in
      --insecure) insecure=1 ;;
      -h | --help) printf '%s\n' "$usage"; exit 0 ;;
      -*) die "unknown option $arg; $usage" ;;
      *) [[ -z "$registry" ]] || die "$usage"; registry="$arg" ;;
    esac
  done
  [[ -n "$registry" ]] || die "$usage"
  [[ "$registry" != *://* && "$registry" != */ ]] \
    || die "REGISTRY is host[:port][/path], without a scheme or a trailing slash: got $registry"
}

# apt_install PKG...: installs the Debian packages that are missing (with sudo when not root), nothing when none is.
apt_install() {
  local missing=() pkg sudo=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$pkg")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "$* already installed"
    return
  fi
  need apt-get "install ${missing[*]} with your system's package manager (these are Debian package names)"
  if [[ $EUID -ne 0 ]]; then
    need sudo "run as root, or install sudo, to apt-get install ${missing[*]}"
    sudo=(sudo)
  fi
  log "apt-get install ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  # --no-install-recommends: only what the tools need.
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# pip_requirements VENV FILE...: creates VENV if needed and installs the requirement files into it, only
# when they changed since the last install (a stamp holds their contents).
pip_requirements() {
  local venv="$1" file args=()
  shift
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  if cat "$@" | cmp -s - "$venv/.requirements"; then
    log "python packages already in $venv"
    return
  fi
  for file in "$@"; do args+=(-r "$file"); done
  log "pip install ${args[*]} into $venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${args[@]}" \
    || die "pip could not install ${args[*]} (see pip's message above)"
  cat "$@" >"$venv/.requirements"
}
