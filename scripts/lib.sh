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
