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

apt_install skopeo docker-registry
