#!/usr/bin/env bash
# Publishes the chart as an OCI artifact: `helm package` into a temp dir (never into the repo), with the app
# version taken from Cargo.toml (the one place that sets it), then `helm push` to oci://REGISTRY/charts.
# The chart version is Chart.yaml's. The last stdout line is the pushed reference:
#   oci://REGISTRY/charts/internal-service:<chart version>@sha256:<hex>
usage="usage: scripts/push-chart.sh [--insecure] REGISTRY   (e.g. localhost:5001 or ghcr.io/org; --insecure, or
       REGISTRY_INSECURE=1, for a plain-HTTP registry such as one on loopback)"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_registry_args "$usage" "$@"

CHART="$ROOT/chart/internal-service"
need_tool helm "scripts/setup-k8s-tools.sh helm"
need python3 "install Python 3.11 or newer (Debian: apt-get install python3)"
[[ -f "$CHART/Chart.yaml" ]] || die "$CHART/Chart.yaml not found"

app_version="$(crate_version)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

log "packaging $CHART (appVersion $app_version from Cargo.toml)"
helm package "$CHART" --app-version "$app_version" --destination "$work" >&2 \
  || die "helm package failed for $CHART"
package="$(find "$work" -maxdepth 1 -name '*.tgz')"

log "pushing $(basename "$package") to oci://$registry/charts"
# helm reports "Pushed: <ref>" and "Digest: <digest>" on stderr; keep them to parse and show them.
# helm uses the user's own `helm registry login` (its registry config is never redirected; see lib.sh).
if ! helm push "$package" "oci://$registry/charts" ${insecure:+--plain-http} 2>"$work/push.log"; then
  cat "$work/push.log" >&2
  die "helm push to oci://$registry/charts failed: is the registry at ${registry%%/*} up and writable, and are you \
logged in (helm registry login ${registry%%/*})? A plain-HTTP registry needs --insecure. Nothing was reported as pushed."
fi
cat "$work/push.log" >&2
pushed="$(sed -n 's/^Pushed: //p' "$work/push.log")"
digest="$(sed -n 's/^Digest: //p' "$work/push.log")"
[[ -n "$pushed" && "$digest" == sha256:* ]] \
  || die "helm push succeeded but did not report the pushed reference and digest (helm output changed?)"

printf 'oci://%s@%s\n' "$pushed" "$digest"
