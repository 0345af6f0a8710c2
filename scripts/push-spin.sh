#!/usr/bin/env bash
# Publishes the component as Spin's own OCI artifact with `spin registry push` (needs the Spin CLI):
# one wasm layer per component plus the locked app, which containerd-shim-spin precompiles at pull time,
# so pods start faster than from the FROM-scratch image of `make push`.
# The last stdout line is the pushed reference: REGISTRY/envapp@sha256:<hex>
usage="usage: scripts/push-spin.sh [--insecure] REGISTRY   (e.g. localhost:5001 or ghcr.io/org; --insecure, or
       REGISTRY_INSECURE=1, for a plain-HTTP registry such as one on loopback: spin registry push -k)"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_registry_args "$usage" "$@"

need spin "install Spin (https://spinframework.dev/install) or use \`make push\`, which needs neither Spin nor Docker"
need python3 "install Python 3.11 or newer (Debian: apt-get install python3)"
[[ -f "$WASM" ]] || die "$WASM not found: run \`make build\` first"

version="$(crate_version)"
ref="$registry/envapp"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

log "spin registry push $ref:$version"
# -k/--insecure makes Spin's OCI client speak plain HTTP (spin src/commands/registry.rs, crates/oci client.rs).
# Spin uses the user's own login (`spin registry login`, else the docker credential store).
if ! spin registry push --from "$ROOT/spin.toml" ${insecure:+--insecure} "$ref:$version" >"$work/push.log"; then
  cat "$work/push.log" >&2
  die "spin registry push to $ref:$version failed: is the registry at ${registry%%/*} up and writable, and are you \
logged in (spin registry login ${registry%%/*})? A plain-HTTP registry needs --insecure. Nothing was reported as pushed."
fi
cat "$work/push.log" >&2
# Spin prints "Pushed with digest sha256:..." (or that the registry returned no digest).
digest="$(sed -n 's/^Pushed with digest //p' "$work/push.log")"
[[ "$digest" == sha256:* ]] \
  || die "spin pushed $ref:$version but reported no digest; look it up with: skopeo inspect docker://$ref:$version"

printf '%s@%s\n' "$ref" "$digest"
