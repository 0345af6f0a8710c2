#!/usr/bin/env bash
# What publishing and its tests need:
#   skopeo    copies the image layout to a registry (scripts/push.sh) and reads it back (tests): the machine's
#             when 1.9+, else Debian's package (apt-get, system-wide; it ships no service).
#   registry  a real OCI registry (CNCF distribution) that only the tests start, on 127.0.0.1: the machine's
#             `registry` or `docker-registry` binary when 2.8+, else the binary of Debian's docker-registry
#             package unpacked into $TOOLS/registry (apt-get download + dpkg -x). The package itself is never
#             installed: its scripts enable and start a system service listening on :5000 on every interface.
# helm comes from scripts/setup-k8s-tools.sh. --check says what would be used or installed and changes nothing;
# it fails, saying per platform what to install, where set-up cannot provide a tool. Idempotent: fast when done.
usage="usage: scripts/setup-registry-tools.sh [--check] [skopeo] [registry]   (default: both)"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_setup_args "$usage" "skopeo registry" "$@"

REGISTRY_DIR="$TOOLS/registry"
install_skopeo=""
unpack_registry=""
problems=""

if [[ "$wanted" == *skopeo* ]]; then
  resolve_tool - skopeo
  if [[ "$tool_action" == use ]]; then
    log "$tool_note"
  elif can_apt; then
    log "$tool_note: will apt-get install skopeo (system-wide, no service)"
    install_skopeo=1
  else
    problems="$problems$tool_note; set-up installs it only with apt-get as root (or sudo). Install it yourself:"$'\n'"$(install_hint skopeo)"$'\n'
  fi
fi

if [[ "$wanted" == *registry* ]]; then
  # Ours is a symlink named docker-registry in $TOOLS/bin; upstream builds name the binary `registry`.
  resolve_tool - docker-registry registry
  if [[ "$tool_action" == use ]]; then
    log "$tool_note"
  elif command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then
    log "$tool_note: will unpack Debian's docker-registry binary into $REGISTRY_DIR (no service, nothing installed)"
    unpack_registry=1
  else
    problems="$problems$tool_note; set-up unpacks Debian's package, and this machine has no apt-get. Install it yourself:"$'\n'"$(install_hint registry)"$'\n'
  fi
fi

[[ -z "$problems" ]] || die "cannot set up the registry tools here; nothing was changed:"$'\n'"$problems"
[[ -z "$check" ]] || exit 0

[[ -z "$install_skopeo" ]] || apt_install skopeo

if [[ -n "$unpack_registry" ]]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  # apt-get download needs no root, but it needs the package lists: refresh them once if they lack the package.
  if ! (cd "$work" && apt-get download docker-registry >&2 2>/dev/null); then
    can_apt || die "apt-get download docker-registry failed and refreshing the package lists needs root: \
run 'sudo apt-get update' and try again"
    as_root apt-get update -qq
    (cd "$work" && apt-get download docker-registry >&2) || die "apt-get download docker-registry failed"
  fi
  rm -rf "$REGISTRY_DIR"
  mkdir -p "$TOOLS"
  dpkg -x "$work"/docker-registry_*.deb "$REGISTRY_DIR"
  mkdir -p "$TOOLS/bin"
  ln -sfn "$REGISTRY_DIR/usr/bin/docker-registry" "$TOOLS/bin/docker-registry"
  log "registry $(tool_version "$TOOLS/bin/docker-registry"): unpacked into $REGISTRY_DIR (only tests start it)"
fi
