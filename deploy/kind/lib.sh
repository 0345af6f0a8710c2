# shellcheck shell=bash
# Shared by deploy/kind/up.sh and down.sh: the names of what they create, the prerequisite check,
# and the step runner that makes `--dry-run` print exactly the commands a real run executes.
# Source it after `set -euo pipefail`. Bash 3.2 clean, as macOS ships it (tests/deploy/test_portable_scripts.py):
# no namerefs, mapfile or negative subscripts, and no "${a[@]}" of an array that may be empty.
# The names and hints below are used by the scripts that source this file, not here:
# shellcheck disable=SC2034

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

# What kind-up creates and kind-down removes. The registry name and port are the ones kind's local-registry
# guide uses (https://kind.sigs.k8s.io/docs/user/local-registry/), so its docs and tools apply unchanged.
CLUSTER="${ENVAPP_KIND_CLUSTER:-envapp}"
KUBE_CONTEXT="kind-$CLUSTER"
REG_NAME="kind-registry"
REG_PORT="5001"
# registry:3 is the image kind's guide runs (site/static/examples/kind-with-registry.sh).
REG_IMAGE="registry:3"
# kind-up labels the registry container it starts; kind-down removes it only when it carries this label, so a
# kind-registry container of your own (started from kind's guide for another cluster) is reused, never deleted.
REG_LABEL_KEY="io.envapp.created-by"
REG_LABEL_VALUE="deploy-kind-up"

DRY_RUN=0

# show ARGS...: one command as a copy-pasteable line, `+ ` first (like `set -x`).
show() {
  local out="+" arg
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:=@,+%-]+$ ]]; then
      out+=" $arg"
    else
      out+=" '${arg//\'/\'\\\'\'}'"
    fi
  done
  printf '%s\n' "$out"
}

# run CMD...: print the command; execute it unless this is a dry run.
run() {
  show "$@"
  ((DRY_RUN)) || "$@"
}

# run_stdin FILE CMD...: like run, with FILE on the command's standard input.
run_stdin() {
  local file="$1"
  shift
  printf '%s < %s\n' "$(show "$@")" "$file"
  ((DRY_RUN)) || "$@" <"$file"
}

# capture VAR PLACEHOLDER CMD...: print the command, run it and store its standard output in VAR; a dry run stores
# PLACEHOLDER instead, so later commands print with a readable stand-in for the value.
capture() {
  local _var="$1" _out="$2"
  shift 2
  show "$@"
  ((DRY_RUN)) || _out="$("$@")"
  printf -v "$_var" '%s' "$_out"
}

# Seconds between two tries of `poll` (ENVAPP_KIND_POLL_INTERVAL=0 lets the tests' stand-in tools answer at once).
POLL_INTERVAL="${ENVAPP_KIND_POLL_INTERVAL:-5}"

# poll VAR PLACEHOLDER SECONDS TEST CMD...: like capture, for a state the cluster reaches in its own time: runs CMD
# every POLL_INTERVAL seconds until the function TEST accepts its output, at most SECONDS / 5 + 1 times. The command
# is printed once. Returns 1 when TEST never accepted it (VAR holds the last output); a dry run stores PLACEHOLDER.
poll() {
  local _var="$1" _out="$2" _tries=$(($3 / 5 + 1)) _test="$4"
  shift 4
  show "$@"
  if ((DRY_RUN)); then
    printf -v "$_var" '%s' "$_out"
    return 0
  fi
  while :; do
    _out="$("$@" 2>/dev/null)" || _out=""
    printf -v "$_var" '%s' "$_out"
    "$_test" "$_out" && return 0
    _tries=$((_tries - 1))
    ((_tries > 0)) || return 1
    sleep "$POLL_INTERVAL"
  done
}

# note TEXT: what a step checks, printed as a comment line in both modes.
note() {
  printf '# %s\n' "$*"
}

# check_prereqs TOOL...: each TOOL is "name|how to install". Reports every missing tool at once. A real run stops
# before touching anything; a dry run only warns, so the journey can be read on any machine.
check_prereqs() {
  local entry level=error missing=0
  ((DRY_RUN)) && level=warning
  for entry in "$@"; do
    if ! command -v "${entry%%|*}" >/dev/null 2>&1; then
      printf '%s: missing %s: %s\n' "$level" "${entry%%|*}" "${entry#*|}" >&2
      missing=1
    fi
  done
  ((missing == 0 || DRY_RUN)) || die "install the missing tools above and re-run; nothing was changed"
}

# Install hints, one place for both scripts.
HINT_DOCKER="install Docker Engine (https://docs.docker.com/engine/install/) and make sure 'docker info' works"
HINT_KIND="install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)"
HINT_HELM="run 'make setup' (pinned helm in \$ENVAPP_TOOLS/bin) or install Helm (https://helm.sh/docs/intro/install/)"
HINT_KUBECTL="run 'make setup' (pinned kubectl in \$ENVAPP_TOOLS/bin) or install kubectl (https://kubernetes.io/docs/tasks/tools/)"
HINT_PYTHON="install Python 3 (Debian: apt-get install python3)"

# What `kind get nodes` answers for a cluster made from deploy/kind/cluster.yaml (kind names the node containers
# <cluster>-control-plane, <cluster>-worker, <cluster>-worker2, ...): a dry run's stand-in for it.
DRY_RUN_NODES="$CLUSTER-control-plane $CLUSTER-worker $CLUSTER-worker2 $CLUSTER-worker3"

# cluster_exists: is the kind cluster already there?
cluster_exists() {
  local clusters
  capture clusters "" kind get clusters
  grep -qx "$CLUSTER" <<<"$clusters"
}

# registry_state VAR: store the registry container's state in VAR: "running", another docker state such as
# "exited", or "" when there is no such container (a dry run assumes none).
registry_state() {
  capture "$1" "" docker ps --all --filter "name=^${REG_NAME}\$" --format '{{.State}}'
}

# parse_dry_run_arg USAGE ARGS...: the kind scripts' only option, `--dry-run`, sets DRY_RUN=1.
parse_dry_run_arg() {
  local usage="$1"
  shift
  [[ $# -le 1 ]] || die "$usage"
  case "${1:-}" in
    "") ;;
    --dry-run) DRY_RUN=1 ;;
    -h | --help) printf '%s\n' "$usage"; exit 0 ;;
    *) die "$usage" ;;
  esac
}
