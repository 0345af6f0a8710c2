#!/usr/bin/env bash
# Profiles the wasm path once: where does a GET /env on envapp-host spend its time?
#  1. latency split: the host's own /.well-known/spin/health (HTTP stack only, no instance) vs /env
#     (fresh instance + guest), and the native server's /env, at 1 connection;
#  2. perf record of envapp-host under 8 connections, summarised by the frames that own the time.
# Needs a built tree (scripts/bench.sh --smoke does it) and perf (Debian: linux-perf). Writes to $1.
usage="usage: bench/profile.sh OUT_DIR"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
[[ $# -eq 1 ]] || die "$usage"
need perf "apt-get install linux-perf"
need wrk "run scripts/setup-bench-tools.sh"
out="$1"; mkdir -p "$out"
native="$TOOLS/bench-target/release/envapp-native"

# start NAME CMD...: starts a server on a free port (it prints `Serving http://ADDR`); sets $pid and $url.
start() {
  local log="$out/$1.log"; shift
  env -i SPIN_VARIABLE_PROD=true "$@" --listen 127.0.0.1:0 >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do grep -q Serving "$log" && break; sleep 0.05; done
  url=$(sed -n 's/^Serving //p' "$log")
  [[ -n "$url" ]] || die "$1 did not start: $(cat "$log")"
}
lat() { wrk -c1 -t1 -d3s --latency "$1" | grep -E 'Requests/sec|  50%|  99%' | tr -s ' ' | tr '\n' ' '; echo; }

start host "$HOST_BIN" "$ROOT/spin.toml"
host_pid=$pid host_url=$url
# shellcheck disable=SC2064
trap "kill $host_pid 2>/dev/null || true" EXIT
start native "$native"
{
  echo "host /.well-known/spin/health (c=1): $(lat "$host_url/.well-known/spin/health")"
  echo "host /env                     (c=1): $(lat "$host_url/env")"
  echo "native /env                   (c=1): $(lat "$url/env")"
} | tee "$out/latency.txt"
kill "$pid"

wrk -c8 -t1 -d8s "$host_url/env" >"$out/wrk-perf.txt" &
wrk_pid=$!
sleep 1
perf record -q -F 1999 -g -o "$out/perf.data" -p "$host_pid" -- sleep 5 2>/dev/null
wait "$wrk_pid"
perf report -i "$out/perf.data" --children --sort symbol -g none --stdio 2>/dev/null | grep '%' >"$out/children.txt"
# The frames that own a request's time, inclusive (a frame's children are counted in it).
grep -E 'instantiate_async|call_handle|catch_traps|sys_munmap|sys_mmap|asm_exc_page_fault|sys_madvise|Fiber.*new|__send|sys_sendto|sys_recvfrom|sys_epoll|hyper::proto|drop_in_place<.*Store|componentize|Server::new_state|WasiCtxBuilder|ResourceTable' \
  "$out/children.txt" | head -40 | tee "$out/summary.txt"
