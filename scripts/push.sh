#!/usr/bin/env bash
# Publishes the component as a wasm OCI image, without Docker or Spin: scripts/oci_image.py writes a reproducible
# OCI layout (os wasip1, arch wasm; the .wasm as a wasm layer containerd-shim-spin precompiles once per node, and
# /spin.json, the locked app, in a tar layer), skopeo copies it to REGISTRY/envapp:<crate version> unchanged
# (--preserve-digests).
# Same build, same digest. The last stdout line is the pushed reference: REGISTRY/envapp@sha256:<hex>
usage="usage: scripts/push.sh [--insecure] REGISTRY   (e.g. localhost:5001 or ghcr.io/org; --insecure, or
       REGISTRY_INSECURE=1, for a plain-HTTP registry such as one on loopback)"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_registry_args "$usage" "$@"

need_tool skopeo "scripts/setup-registry-tools.sh skopeo"
need python3 "install Python 3.11 or newer (Debian: apt-get install python3)"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "python3 is older than 3.11 (scripts/oci_image.py needs tomllib): install Python 3.11 or newer"
[[ -f "$WASM" ]] || die "$WASM not found: run \`make build\` first"

version="$(crate_version)"
ref="$registry/envapp"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

log "building the image layout (os wasip1, arch wasm: /spin.json and the .wasm layer) from spin.toml and $(basename "$WASM")"
digest="$(python3 "$ROOT/scripts/oci_image.py" "$ROOT/spin.toml" "$work/layout" "$version")"

log "pushing $ref:$version"
# --preserve-digests: fail rather than let skopeo re-encode anything and change the digest we computed.
# skopeo uses the user's own login (containers-auth.json, then ~/.docker/config.json); TLS is verified unless
# --insecure, and otherwise left to the user's registries.conf.
if ! skopeo copy --quiet --preserve-digests ${insecure:+--dest-tls-verify=false} --digestfile "$work/digest" \
  "oci:$work/layout:$version" "docker://$ref:$version" >&2; then
  die "push to $ref:$version failed: is the registry at ${registry%%/*} up and writable, and are you logged in \
(skopeo login ${registry%%/*})? A plain-HTTP registry needs --insecure. Nothing was reported as pushed."
fi
pushed="$(cat "$work/digest")"
[[ "$pushed" == "$digest" ]] \
  || die "the registry stored manifest $pushed, not the built $digest: the pushed image differs from the build"

log "pushed $ref:$version"
printf '%s@%s\n' "$ref" "$digest"
