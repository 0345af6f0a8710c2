#!/usr/bin/env bash
# The component's SBOM: CycloneDX 1.5 JSON of its Rust dependency tree for wasm32-wasip1 (what the .wasm is built
# from: spin-sdk and the rest of Cargo.lock that this target uses), written by cargo-cyclonedx into
# target/sbom/envapp.cdx.json (build output, never a committed file). Its timestamp is the last commit's
# (SOURCE_DATE_EPOCH), so the same commit gives the same SBOM. The last stdout line is the file's path.
usage="usage: scripts/sbom.sh   (no arguments; writes target/sbom/envapp.cdx.json)"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in -h | --help) echo "$usage"; exit 0 ;; esac
[[ $# -eq 0 ]] || die "$usage"

need_tool cargo-cyclonedx "scripts/setup-release-tools.sh cargo-cyclonedx"
need cargo "install Rust with rustup (https://rustup.rs)"

out="$ROOT/target/sbom"
mkdir -p "$out"
# cargo-cyclonedx writes beside Cargo.toml: a name of our own, moved out at once, keeps the clone clean.
name="envapp-sbom-$$"
epoch="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || true)}"
log "cargo cyclonedx: the dependency tree of $(basename "$WASM") (wasm32-wasip1)"
if ! (cd "$ROOT" && env ${epoch:+SOURCE_DATE_EPOCH="$epoch"} cargo cyclonedx --quiet --format json \
  --spec-version 1.5 --target wasm32-wasip1 --override-filename "$name"); then
  rm -f "$ROOT/$name.json"
  die "cargo cyclonedx failed (see its message above)"
fi
mv -f "$ROOT/$name.json" "$out/envapp.cdx.json"
log "SBOM: $out/envapp.cdx.json"
printf '%s\n' "$out/envapp.cdx.json"
