#!/usr/bin/env bash
# Fetches the upstream files the offline checks read from ../shared (tests/projectenv.py shared_file) into DIR, for
# a CI runner that has only this repository: kind's node containerd config and the CRDs the GitOps manifests and
# the SpinApp are validated against. Each is pinned by commit and checked by sha256, so CI reads exactly the bytes
# the tests were written against. Point the tests at DIR with ENVAPP_SHARED=DIR.
usage="usage: .github/fetch-shared.sh DIR"
set -euo pipefail

[[ $# -eq 1 && "$1" != -* ]] || { printf '%s\n' "$usage" >&2; exit 2; }
dir="$1"
command -v curl >/dev/null 2>&1 || { echo "error: curl not found (Debian/Ubuntu: apt-get install curl)" >&2; exit 1; }
command -v sha256sum >/dev/null 2>&1 || { echo "error: sha256sum not found (coreutils)" >&2; exit 1; }

gh="https://raw.githubusercontent.com"
# path under DIR | source (repository, commit, path; as ../shared/*/README.md records them) | sha256
FILES="
kind/containerd-config.toml|$gh/kubernetes-sigs/kind/fed268827e21ca48a74c38215c316dd343364ef5/images/base/files/etc/containerd/config.toml|8dcf97aade36701dd1051198754f390361426bb03ce3547c4753eb44f51286a6
crds/argoproj.io_applicationsets.yaml|$gh/argoproj/argo-cd/37ee0097cf851bc2dd7665fc081bbce61a7e836e/manifests/crds/applicationset-crd.yaml|3dd600079b67cbb5d7b87750464914c1cc62a977cf364b8004c6875fa1fb3f0f
crds/helm.toolkit.fluxcd.io_helmreleases.yaml|$gh/fluxcd/helm-controller/0f61a8607a62be64638f2f912d9487e653960a6e/config/crd/bases/helm.toolkit.fluxcd.io_helmreleases.yaml|aa8638ac68465ceac1f93a617baf5be833c589c51fd78a7384a4a274c252becc
crds/source.toolkit.fluxcd.io_gitrepositories.yaml|$gh/fluxcd/source-controller/39b711b111fa906c3db0a424e252a5d12e48646d/config/crd/bases/source.toolkit.fluxcd.io_gitrepositories.yaml|bd0c08183287b2eea0d885751fc686bc4b2b583e919de6bd57859170b8d1727f
crds/core.spinkube.dev_spinapps.yaml|$gh/spinframework/spin-operator/96c9d1d1d69c2c04e005375c44f323fb10e31002/config/crd/bases/core.spinkube.dev_spinapps.yaml|08051de70925efe25bafca636c9b9410a4fe61e17015bd199be1efa04a5b5762
crds/core.spinkube.dev_spinappexecutors.yaml|$gh/spinframework/spin-operator/96c9d1d1d69c2c04e005375c44f323fb10e31002/config/crd/bases/core.spinkube.dev_spinappexecutors.yaml|c290585b469a6076eeab764af63be1aac11d584c903b5f72a45a1df807634107
"

while IFS='|' read -r path url sum; do
  [[ -n "$path" ]] || continue
  mkdir -p "$(dirname "$dir/$path")"
  if [[ -f "$dir/$path" ]] && printf '%s  %s\n' "$sum" "$dir/$path" | sha256sum -c --quiet - 2>/dev/null; then
    continue
  fi
  curl -fsSL --retry 3 -o "$dir/$path.part" "$url"
  printf '%s  %s\n' "$sum" "$dir/$path.part" | sha256sum -c --quiet - \
    || { echo "error: $url does not have the sha256 the tests expect ($sum)" >&2; exit 1; }
  mv -f "$dir/$path.part" "$dir/$path"
done <<<"$FILES"
echo "upstream files in $dir (ENVAPP_SHARED=$dir)"
