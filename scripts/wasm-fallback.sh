#!/usr/bin/env bash
# The wasm32-wasip1 route for machines where rustup cannot download the target (only crates.io,
# PyPI, Debian and npm reachable). Spin users never need this: rustup's target does the same job.
#   setup  Debian's Rust 1.96 with its std source, lld, and wasi-libc built by zig (PyPI `ziglang`,
#          Debian bookworm packages no wasi-libc), copied where rustc's wasm32-wasip1 target looks.
#   build MANIFEST_PATH [CARGO_ARGS...]  cargo -Z build-std with that compiler: the same crate, the same output
#          path as `cargo build --release --target wasm32-wasip1` (scripts/lib.sh wasm_build calls it).
#   check  says whether `setup` can work here (Debian's apt-get, as root or with sudo) and changes nothing.
# RUSTC_BOOTSTRAP and -Z build-std stay in here; nothing a user runs needs them.
usage="usage: scripts/wasm-fallback.sh setup | check | build MANIFEST_PATH [CARGO_ARGS...]"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -ge 1 ]] || die "$usage"
STATE="$TOOLS/wasm-fallback"
ZIG_VERSION="0.17.1"
DEBIAN_RUST=(rustc-web cargo-web rust-web-src lld-16)

sysroot_libs() { echo "$(/usr/bin/rustc --print sysroot)/lib/rustlib/wasm32-wasip1/lib/self-contained"; }

check() {
  can_apt || die "rustup cannot add the wasm32-wasip1 target here, and the fallback route needs Debian's apt-get \
as root (or sudo); nothing was changed. Install the target with rustup:"$'\n'"$(install_hint wasm32-wasip1)"
  command -v python3 >/dev/null 2>&1 || die "the fallback route needs python3:"$'\n'"$(install_hint python3)"
}

setup() {
  check
  apt_install "${DEBIAN_RUST[@]}"
  # cargo -Z build-std looks for the library source under the sysroot.
  local src
  src="$(find /usr/src -maxdepth 1 -name 'rustc-*' -type d | sort -V | tail -n1)"
  [[ -d "$src/library" ]] || die "rust-web-src did not install the std source under /usr/src/rustc-*"
  ln -sfn "$src" "$(/usr/bin/rustc --print sysroot)/lib/rustlib/src/rust"

  local libs
  libs="$(sysroot_libs)"
  if [[ ! -f "$libs/libzigc.a" || ! -f "$libs/crt1-reactor.o" ]]; then
    mkdir -p "$STATE"
    [[ -x "$STATE/venv/bin/python" ]] || python3 -m venv "$STATE/venv"
    "$STATE/venv/bin/python" -m pip install --quiet --disable-pip-version-check "ziglang==$ZIG_VERSION"
    # zig builds wasi-libc into its cache the first time something links against it.
    export ZIG_GLOBAL_CACHE_DIR="$STATE/zig-cache"
    local work
    work="$(mktemp -d)"
    printf 'int main(void) { return 0; }\n' >"$work/main.c"
    printf 'void noop(void) {}\n' >"$work/lib.c"
    "$STATE/venv/bin/python" -m ziglang cc -target wasm32-wasi -O2 "$work/main.c" -o "$work/main.wasm"
    "$STATE/venv/bin/python" -m ziglang cc -target wasm32-wasi -O2 -mexec-model=reactor "$work/lib.c" -o "$work/lib.wasm"
    rm -rf "$work"
    mkdir -p "$libs"
    local name file
    for name in libc.a libzigc.a libcompiler_rt.a crt1-command.o crt1-reactor.o; do
      # The cache is ours alone and holds only wasm32-wasi builds.
      file="$(find "$ZIG_GLOBAL_CACHE_DIR" -name "$name" | head -n1)"
      [[ -n "$file" ]] || die "zig left no $name in $ZIG_GLOBAL_CACHE_DIR"
      # compiler-rt goes in under a name that cannot clash with Rust's own.
      if [[ "$name" == libcompiler_rt.a ]]; then cp -f "$file" "$libs/libzigrt.a"; else cp -f "$file" "$libs/$name"; fi
    done
  fi
  mkdir -p "$STATE"
  echo "# written by scripts/wasm-fallback.sh setup" >"$STATE/env.sh"
  log "fallback wasm32-wasip1 route ready ($(/usr/bin/rustc --version))"
}

build() {
  [[ -f "$STATE/env.sh" ]] || die "fallback route not set up: run 'scripts/wasm-fallback.sh setup' (make setup does)"
  [[ $# -ge 1 ]] || die "$usage"
  local manifest="$1"
  shift
  RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
    RUSTFLAGS="-C linker=/usr/bin/wasm-ld-16 -C link-arg=-lzigc -C link-arg=-lzigrt" \
    /usr/bin/cargo build --release --manifest-path "$manifest" -Zbuild-std=std,panic_abort --target wasm32-wasip1 "$@"
}

command="$1"
shift
case "$command" in
  setup) [[ $# -eq 0 ]] || die "$usage"; setup ;;
  check) [[ $# -eq 0 ]] || die "$usage"; check ;;
  build) build "$@" ;;
  *) die "$usage" ;;
esac
