#!/usr/bin/env bash
# Installs what publishing and its tests need, from Debian (bookworm) apt:
#   skopeo           copies the image layout to a registry (scripts/push.sh) and reads it back (tests)
#   docker-registry  a real OCI registry (CNCF distribution) the tests start on 127.0.0.1
# helm comes from scripts/setup-k8s-tools.sh. Idempotent and fast when done: apt runs only for what is missing.
usage="usage: scripts/setup-registry-tools.sh   (no arguments; installs Debian packages, needs root or sudo)"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 0 ]] || die "$usage"

PACKAGES=(skopeo docker-registry)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  log "${PACKAGES[*]} already installed"
  exit 0
fi

need apt-get "install ${missing[*]} with your system's package manager (these are Debian package names)"
sudo=()
if [[ $EUID -ne 0 ]]; then
  need sudo "run as root, or install sudo, to apt-get install ${missing[*]}"
  sudo=(sudo)
fi
log "installing ${missing[*]} from apt"
"${sudo[@]}" apt-get update -qq
# --no-install-recommends: only what the two tools need.
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
