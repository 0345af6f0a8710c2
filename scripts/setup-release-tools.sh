#!/usr/bin/env bash
# What signing a release and its tests need (make sbom, make sign, make verify; docs/publish.md):
#   cosign           signs and verifies: the machine's when 3.0+, else the binary of Debian sid's cosign package,
#                    downloaded with apt through a sources list of our own and unpacked with `dpkg -x` into
#                    $TOOLS/cosign (never installed; the machine's apt sources and lists stay untouched)
#   cargo-cyclonedx  writes the component's CycloneDX SBOM: the machine's when 0.5+, else `cargo install --locked`
#                    of the pin into $TOOLS/cargo-cyclonedx (a few minutes, once)
# --check says what would be used or installed and changes nothing; it fails, saying per platform what to
# install, where set-up cannot provide a tool. Idempotent: fast when done.
usage="usage: scripts/setup-release-tools.sh [--check] [cosign] [cargo-cyclonedx]   (default: both)"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Pins. Debian sid keeps one cosign at a time, so that one is not pinned: any 3.x does (tool_min in lib.sh).
COSIGN_SUITE="sid"
CARGO_CYCLONEDX_VERSION="0.5.9"

COSIGN_DIR="$TOOLS/cosign"
CYCLONEDX_DIR="$TOOLS/cargo-cyclonedx"

parse_setup_args "$usage" "cosign cargo-cyclonedx" "$@"

unpack_cosign=""
install_cyclonedx=""
stale=""  # copies of ours that are not in range (or not the pin): removed, so they cannot shadow the machine's
problems=""

if [[ "$wanted" == *cosign* ]]; then
  resolve_tool - cosign
  [[ ! -e "$TOOLS/bin/cosign" || "$tool_path" == "$TOOLS/bin/cosign" ]] || stale="$stale cosign"
  if [[ "$tool_action" == use ]]; then
    log "$tool_note"
  elif [[ "$(uname -s)" == Linux ]] && command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then
    log "$tool_note: will unpack Debian $COSIGN_SUITE's cosign into $COSIGN_DIR (nothing installed)"
    unpack_cosign=1
  else
    problems="$problems$tool_note; set-up unpacks Debian's package, and this machine has no apt-get. Install it yourself:"$'\n'"$(install_hint cosign)"$'\n'
  fi
fi

if [[ "$wanted" == *cargo-cyclonedx* ]]; then
  resolve_tool "$CARGO_CYCLONEDX_VERSION" cargo-cyclonedx
  [[ ! -e "$TOOLS/bin/cargo-cyclonedx" || "$tool_path" == "$TOOLS/bin/cargo-cyclonedx" ]] || stale="$stale cargo-cyclonedx"
  if [[ "$tool_action" == use ]]; then
    log "$tool_note"
  elif command -v cargo >/dev/null 2>&1; then
    log "$tool_note: will cargo install --locked cargo-cyclonedx $CARGO_CYCLONEDX_VERSION into $CYCLONEDX_DIR (a few minutes)"
    install_cyclonedx=1
  else
    problems="$problems$tool_note; installing it needs cargo: install Rust with rustup (https://rustup.rs)"$'\n'
  fi
fi

[[ -z "$problems" ]] || die "cannot set up the release tools here; nothing was changed:"$'\n'"$problems"
[[ -z "$check" ]] || exit 0

for tool in $stale; do
  log "removing $TOOLS/bin/$tool (not the pin, or not runnable here)"
  rm -f "$TOOLS/bin/$tool"
done

if [[ -n "$unpack_cosign" ]]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  log "downloading cosign from Debian $COSIGN_SUITE (~18 MB, and $COSIGN_SUITE's package lists)"
  debian_download "$COSIGN_SUITE" cosign "$work"
  rm -rf "$COSIGN_DIR"
  dpkg -x "$work"/cosign_*.deb "$COSIGN_DIR"
  mkdir -p "$TOOLS/bin"
  ln -sfn "$COSIGN_DIR/usr/bin/cosign" "$TOOLS/bin/cosign"
  version="$(tool_version "$TOOLS/bin/cosign")"
  # The package may need a newer C library than this machine has (sid's cosign: libc6 2.34+; bookworm has 2.36).
  if [[ -z "$version" ]] || ! version_ge "$version" "$(tool_min cosign)"; then
    rm -f "$TOOLS/bin/cosign"
    die "Debian $COSIGN_SUITE's cosign ${version:-does not run on this machine ($(platform))}; install cosign $(tool_min cosign) or newer yourself:"$'\n'"$(install_hint cosign)"
  fi
  log "cosign $version: unpacked into $COSIGN_DIR"
fi

if [[ -n "$install_cyclonedx" ]]; then
  log "cargo install --locked cargo-cyclonedx@$CARGO_CYCLONEDX_VERSION into $CYCLONEDX_DIR (a few minutes, once)"
  cargo install --quiet --locked --force "cargo-cyclonedx@$CARGO_CYCLONEDX_VERSION" --root "$CYCLONEDX_DIR" >&2 \
    || die "cargo could not install cargo-cyclonedx $CARGO_CYCLONEDX_VERSION from crates.io (see its message above)"
  mkdir -p "$TOOLS/bin"
  ln -sfn "$CYCLONEDX_DIR/bin/cargo-cyclonedx" "$TOOLS/bin/cargo-cyclonedx"
  log "cargo-cyclonedx $(tool_version "$TOOLS/bin/cargo-cyclonedx"): installed in $CYCLONEDX_DIR"
fi
