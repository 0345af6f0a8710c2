# shellcheck shell=bash disable=SC2034  # the variables here are used by the scripts that source it
# Shared by every script under scripts/: where the project's tools live, how a tool is looked up, how the
# component is built for wasm32-wasip1, and how to say what is missing. Source it; it runs nothing itself.
# Bash 3.2 clean (macOS): no namerefs, mapfile, negative indexes, case-changing expansions or associative
# arrays, and no "${a[@]}" of an array that may be empty (bash < 4.4 calls that unbound under `set -u`).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Tools are cached outside the clone, so a second clone (or CI on a warm machine) reuses them.
TOOLS="${ENVAPP_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/envapp}"
VENV="$TOOLS/venv"
# $TOOLS/bin holds only the pinned copies set-up installed because the machine had none in the supported range,
# so it goes first. Nothing else of the user's environment is changed: helm, skopeo and spin keep their own
# config and registry logins (HELM_CONFIG_HOME, containers-auth.json, spin's registry-auth.json).
export PATH="$TOOLS/bin:$PATH"

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
  [[ -z "$insecure" || "$insecure" == 0 ]] && insecure="" || insecure=1
}

# cosign_ref REF: a pushed reference as cosign takes it: without oci:// and without a tag before the digest
# (helm prints repository:tag@digest; the digest alone names the content).
cosign_ref() {
  local ref="${1#oci://}" repo
  if [[ "$ref" == *@* ]]; then
    repo="${ref%@*}"
    [[ "${repo##*/}" != *:* ]] || repo="${repo%:*}"
    ref="$repo@${ref##*@}"
  fi
  printf '%s\n' "$ref"
}

# --- The wasm32-wasip1 build route ------------------------------------------------------------------------
# One place decides how wasm32-wasip1 is built, for every crate (the component, bench/floor):
#   toolchain  the Rust on PATH has the target (rustup's `rustup target add wasm32-wasip1`, or a distribution's
#              wasm32-wasip1 std): plain `cargo build --target wasm32-wasip1 --release`, what spin.toml runs;
#   fallback   scripts/wasm-fallback.sh (Debian's Rust, std built from source) once `setup` has prepared it;
#   none       neither: `make setup` (or `rustup target add wasm32-wasip1`) provides one.
# ENVAPP_WASM_ROUTE=fallback forces the fallback (to test it where rustup has the target).

# wasm_target_installed: the Rust on PATH has a wasm32-wasip1 standard library.
wasm_target_installed() {
  local libdir
  libdir="$(rustc --print target-libdir --target wasm32-wasip1 2>/dev/null)" || return 1
  ls "$libdir"/libstd-*.rlib >/dev/null 2>&1
}

wasm_route() {
  if [[ "${ENVAPP_WASM_ROUTE:-}" != fallback ]] && wasm_target_installed; then
    echo toolchain
  elif [[ -f "$TOOLS/wasm-fallback/env.sh" ]]; then
    echo fallback
  else
    echo none
  fi
}

# wasm_build MANIFEST_PATH [CARGO_ARGS...]: a release build of that crate for wasm32-wasip1, by the route above.
# The output lands where cargo always puts it: <target dir>/wasm32-wasip1/release/.
wasm_build() {
  local manifest="$1"
  shift
  case "$(wasm_route)" in
    toolchain) cargo build --release --target wasm32-wasip1 --manifest-path "$manifest" "$@" ;;
    fallback) "$ROOT/scripts/wasm-fallback.sh" build "$manifest" "$@" ;;
    *) die "no wasm32-wasip1 toolchain: run 'rustup target add wasm32-wasip1' (or 'make setup', which falls back to \
Debian's Rust when rustup cannot download it)" ;;
  esac
}

# --- Tool lookup ------------------------------------------------------------------------------------------
# Each tool the project runs is taken from the machine when its version is in the supported range; set-up
# installs a pinned copy into $TOOLS/bin only when it is missing or too old (docs/setup.md).

# tool_min NAME: the oldest supported version, and why.
tool_min() {
  case "$1" in
    helm) echo 3.13.0 ;;     # --plain-http on push/pull (helm#12128, v3.13.0)
    kubectl) echo 1.30.0 ;;  # kustomize v5 built in; one minor of skew either way is supported for kind's v1.35
    skopeo) echo 1.9.0 ;;    # copy --preserve-digests and --digestfile; Debian bookworm has 1.9.3
    docker-registry | registry) echo 2.8.0 ;;  # CNCF distribution with htpasswd and maintenance.readonly
    wrk) echo 4.0.0 ;;
    shellcheck) echo 0.8.0 ;;
    cosign) echo 3.0.0 ;;    # signatures as Sigstore bundles (OCI referrers) and signing configs, as the release signs
    cargo-cyclonedx) echo 0.5.0 ;;  # --target and --spec-version 1.5
    *) echo 0 ;;
  esac
}

# tool_version PATH: the first x.y[.z] the tool prints about itself (every tool says it differently).
tool_version() {
  local out bin
  case "$(basename "$1")" in
    helm) out="$("$1" version --short 2>/dev/null)" ;;
    kubectl) out="$("$1" version --client 2>/dev/null)" ;;
    wrk) out="$("$1" --version 2>&1)" ;;  # prints its version and exits 1
    cargo-cyclonedx) out="$("$1" cyclonedx --version 2>/dev/null)" ;;  # a cargo subcommand: `cargo cyclonedx`
    cosign)
      out="$("$1" version 2>/dev/null | sed -n 's/^GitVersion: *//p')"
      # Debian builds cosign without its version (GitVersion: devel): the package's changelog, which lies beside
      # it (usr/bin -> usr/share/doc), names it, also in our copy unpacked with dpkg -x.
      if [[ "$out" == devel ]]; then
        bin="$1"
        [[ ! -L "$bin" ]] || bin="$(readlink "$bin")"
        out="$(gzip -dc "$(dirname "$bin")/../share/doc/cosign/changelog.Debian.gz" 2>/dev/null | sed -n '1s/^cosign (\([^)]*\)).*/\1/p')"
      fi ;;
    *) out="$("$1" --version 2>/dev/null)" ;;
  esac
  printf '%s\n' "$out" | grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -n1
}

# version_ge A B: A >= B, comparing dotted numbers field by field.
version_ge() {
  local a="$1" b="$2" x y
  while [[ -n "$a" || -n "$b" ]]; do
    x="${a%%.*}"
    y="${b%%.*}"
    [[ "$x" =~ ^[0-9]+$ ]] || x=0
    [[ "$y" =~ ^[0-9]+$ ]] || y=0
    if ((10#$x > 10#$y)); then return 0; fi
    if ((10#$x < 10#$y)); then return 1; fi
    if [[ "$a" == *.* ]]; then a="${a#*.}"; else a=""; fi
    if [[ "$b" == *.* ]]; then b="${b#*.}"; else b=""; fi
  done
  return 0
}

# find_tool NAME...: the first NAME on PATH whose version is supported; prints "PATH VERSION". Fails (status 1)
# printing "old PATH VERSION" for the first one found too old (VERSION "?": it does not run here), or nothing
# when none is there.
find_tool() {
  local name path version old=""
  for name in "$@"; do
    path="$(command -v "$name" 2>/dev/null)" || continue
    version="$(tool_version "$path")"
    if [[ -n "$version" ]] && version_ge "$version" "$(tool_min "$name")"; then
      echo "$path $version"
      return 0
    fi
    [[ -n "$old" ]] || old="old $path ${version:-?}"
  done
  [[ -z "$old" ]] || echo "$old"
  return 1
}

# resolve_tool PIN NAME [ALIAS...]: which copy of a tool set-up would use; sets `tool_path`, `tool_note` (what
# was found, for the log) and `tool_action`: "use" (the machine's in range, or our pinned copy) or "install".
# Our copy in $TOOLS/bin counts only when it is exactly the pin (PIN "-": any supported version, for copies
# unpacked from the distribution's current package); the machine's when its version is in range.
# ENVAPP_USE_PINNED=1 ignores the machine's copies (reproducible CI, and how the download path is tested).
resolve_tool() {
  local pin="${1#v}" name="$2" ours="$TOOLS/bin/$2" found version
  shift
  tool_path=""
  tool_note="$name: "
  tool_action=install
  if [[ -x "$ours" ]]; then
    version="$(tool_version "$ours")"
    if [[ -n "$version" ]] && { [[ "$version" == "$pin" ]] || { [[ "$pin" == - ]] && version_ge "$version" "$(tool_min "$name")"; }; }; then
      tool_path="$ours"
      tool_action=use
      tool_note="$name $version: our copy in $TOOLS/bin"
      return
    fi
    tool_note="${tool_note}the copy in $TOOLS/bin is ${version:-not runnable here}, not the pinned ${pin/#-/supported version}; "
  fi
  if [[ -z "${ENVAPP_USE_PINNED:-}" ]]; then
    if found="$(PATH="$(path_without "$TOOLS/bin")" find_tool "$@")"; then
      tool_path="${found% *}"
      tool_action=use
      tool_note="$name ${found##* }: $tool_path (supported: $(tool_min "$name") or newer)"
      return
    fi
    case "$found" in
      old\ *\ \?) found="${found#old }"; tool_note="$tool_note${found% *} does not run on this machine ($(platform))" ;;
      old\ *) found="${found#old }"; tool_note="$tool_note${found% *} is ${found##* }, older than the supported $(tool_min "$name")" ;;
      *) tool_note="${tool_note}none on PATH" ;;
    esac
  else
    tool_note="${tool_note}ENVAPP_USE_PINNED is set"
  fi
}

# path_without DIR: $PATH with DIR left out.
path_without() {
  local out="" dir rest="$PATH:"
  while [[ -n "$rest" ]]; do
    dir="${rest%%:*}"
    rest="${rest#*:}"
    [[ "$dir" == "$1" || -z "$dir" ]] || out="$out${out:+:}$dir"
  done
  echo "$out"
}

# need_tool NAME SETUP: fail unless NAME is on PATH in its supported range, saying what to install per platform
# (SETUP: the project's script that can install it here).
need_tool() {
  local found
  found="$(find_tool "$1")" && return 0
  case "$found" in
    old\ *\ \?) found="${found#old }"; found="${found% *} does not run on this machine ($(platform))" ;;
    old\ *) found="${found#old }"; found="${found% *} is ${found##* }, older than the supported $(tool_min "$1")" ;;
    *) found="not found" ;;
  esac
  die "$1 $found: install $1 $(tool_min "$1") or newer ($2 can, on Linux x86-64):"$'\n'"$(install_hint "$1")"
}

# install_hint NAME: what to install, per platform, when set-up cannot provide NAME itself.
install_hint() {
  local deb fedora mac
  case "$1" in
    helm)
      deb="sudo snap install helm --classic, or Helm's apt repository (https://helm.sh/docs/intro/install/)"
      fedora="sudo dnf install helm"; mac="brew install helm" ;;
    kubectl)
      deb="sudo snap install kubectl --classic, or pkgs.k8s.io (https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/)"
      fedora="sudo dnf install kubernetes-client (Fedora 41+: kubernetes1.NN-client)"; mac="brew install kubectl" ;;
    skopeo)
      deb="sudo apt-get install --no-install-recommends skopeo"; fedora="sudo dnf install skopeo"; mac="brew install skopeo" ;;
    registry)
      deb="none needed: set-up unpacks Debian's docker-registry into the tool folder (needs apt-get)"
      fedora="go install github.com/distribution/distribution/v3/cmd/registry@v3.0.0 (Go 1.23+)"; mac="$fedora" ;;
    wrk)
      deb="sudo apt-get install wrk"; fedora="build it: https://github.com/wg/wrk/blob/master/INSTALL"; mac="brew install wrk" ;;
    shellcheck)
      deb="sudo apt-get install shellcheck"; fedora="sudo dnf install ShellCheck"; mac="brew install shellcheck" ;;
    python3)
      deb="sudo apt-get install python3 python3-venv (3.11 or newer)"; fedora="sudo dnf install python3"
      mac="brew install python@3.12" ;;
    npm)
      deb="sudo apt-get install npm"; fedora="sudo dnf install npm"; mac="brew install node" ;;
    wasm32-wasip1)
      deb="rustup target add wasm32-wasip1 (rustup: https://rustup.rs)"; fedora="$deb"; mac="$deb" ;;
    cosign)
      deb="none needed: set-up unpacks Debian sid's cosign into the tool folder (needs apt-get); or a release binary \
from https://github.com/sigstore/cosign/releases"
      fedora="sudo dnf install cosign"; mac="brew install cosign" ;;
    cargo-cyclonedx)
      deb="cargo install --locked cargo-cyclonedx (set-up does it into the tool folder)"; fedora="$deb"; mac="$deb" ;;
    *) deb="$1"; fedora="$1"; mac="$1" ;;
  esac
  printf '  %s\n    Debian/Ubuntu: %s\n    Fedora:        %s\n    macOS (brew):  %s\n' "$1" "$deb" "$fedora" "$mac"
}

# --- Installing (set-up scripts only) ---------------------------------------------------------------------

# parse_setup_args USAGE "ITEM..." ARGS...: the set-up scripts' `[--check] [ITEM...]`; sets `check` (1 or "")
# and `wanted` (the items named, " a b", or all of them when none is).
parse_setup_args() {
  local usage="$1" items=" $2 " arg
  shift 2
  check=""
  wanted=""
  for arg in "$@"; do
    case "$arg" in
      --check) check=1 ;;
      -h | --help) printf '%s\n' "$usage"; exit 0 ;;
      *) [[ "$items" == *" $arg "* && "$arg" != -* ]] || die "unknown argument '$arg'; $usage"; wanted="$wanted $arg" ;;
    esac
  done
  [[ -n "$wanted" ]] || wanted="${items% }"
}

# platform: "Linux-x86_64", "Linux-aarch64", "Darwin-arm64", ...
platform() { echo "$(uname -s)-$(uname -m)"; }

# can_apt: apt-get is here and we may run it (root, or sudo to become root).
can_apt() {
  command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1 \
    && { [[ $EUID -eq 0 ]] || command -v sudo >/dev/null 2>&1; }
}

# apt_missing PKG...: the Debian packages of the list that are not installed.
apt_missing() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || printf '%s\n' "$pkg"
  done
}

# as_root CMD...: CMD as root (sudo when we are not root).
as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# apt_install PKG...: installs the Debian packages that are missing (none of them ships a service).
apt_install() {
  local missing
  missing="$(apt_missing "$@" | tr '\n' ' ')"
  if [[ -z "${missing// /}" ]]; then
    log "$* already installed"
    return
  fi
  can_apt || die "cannot install $missing: apt-get and root (or sudo) are needed"
  log "apt-get install $missing(system-wide)"
  as_root apt-get update -qq
  # --no-install-recommends: only what the tools need. $missing is a list of package names: split it.
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
}

# pip_requirements VENV FILE...: creates VENV if needed and installs the requirement files into it, only
# when they changed since the last install (a stamp holds their contents). Never the user's own Python.
pip_requirements() {
  local venv="$1" file
  shift
  [[ $# -gt 0 ]] || die "pip_requirements: no requirements file given"
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv" \
    || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  if cat "$@" | cmp -s - "$venv/.requirements"; then
    log "python packages already in $venv"
    return
  fi
  cat "$@" >"$venv/.requirements.new"
  # The arguments become "-r FILE" pairs (no array: bash 3.2 and `set -u`).
  for file in "$@"; do set -- "$@" -r "$file"; shift; done
  log "pip install $* into $venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" \
    || die "pip could not install $* (see pip's message above)"
  mv -f "$venv/.requirements.new" "$venv/.requirements"
}

# debian_download SUITE PKG DIR: downloads PKG's .deb from Debian SUITE (e.g. sid) into DIR, with a sources list,
# package lists and cache of its own in DIR: the machine's apt configuration and lists stay untouched, and nothing
# is installed (the caller unpacks it with dpkg -x). Needs apt-get, dpkg and Debian's archive keyring.
debian_download() {
  local suite="$1" pkg="$2" dir="$3" keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [[ -f "$keyring" ]] || apt_install debian-archive-keyring
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/parts"
  printf 'deb [signed-by=%s] http://deb.debian.org/debian %s main\n' "$keyring" "$suite" >"$dir/sources.list"
  set -- -o "Dir::Etc::SourceList=$dir/sources.list" -o "Dir::Etc::SourceParts=$dir/parts" \
    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" \
    -o "APT::Architectures::=$(dpkg --print-architecture)" -o "APT::Sandbox::User=$(id -un)" \
    -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
  if ! apt-get "$@" -qq update >&2 || ! (cd "$dir" && apt-get "$@" -qq download "$pkg" >&2); then
    die "could not download $pkg from Debian $suite (deb.debian.org; see apt's message above)"
  fi
}
