#!/usr/bin/env bash
# Signs what the publish scripts pushed, by digest, with cosign, and attests the component's SBOM to the
# component's references (REGISTRY/envapp@..., the image and Spin's artifact) as a CycloneDX attestation.
# Both are stored in the registry beside the signed manifest (Sigstore bundles, as OCI referrers).
#   --key FILE  a cosign key pair's private key (`cosign generate-key-pair`; its password from COSIGN_PASSWORD),
#               with no transparency log: the offline path, verified with the public key (scripts/verify.sh --key)
#   no --key    keyless: a short-lived certificate from Sigstore's Fulcio for the OIDC identity at hand (the
#               release workflow's, in GitHub Actions), logged in Rekor (scripts/verify.sh --github)
# Prints each signed reference. docs/publish.md says how consumers verify.
usage="usage: scripts/sign.sh [--insecure] [--key FILE] [--sbom FILE] REF...
  REF as make push, push-spin and push-chart print it (REGISTRY/envapp@sha256:<hex>,
  oci://REGISTRY/charts/internal-service:<version>@sha256:<hex>); --sbom: the SBOM to attest (default: scripts/sbom.sh);
  --insecure, or REGISTRY_INSECURE=1: a plain-HTTP registry such as one on loopback"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

insecure="${REGISTRY_INSECURE:-}"
[[ "$insecure" != 0 ]] || insecure=""
key=""
sbom=""
refs=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --insecure) insecure=1 ;;
    --key) [[ $# -ge 2 ]] || die "$usage"; key="$2"; shift ;;
    --sbom) [[ $# -ge 2 ]] || die "$usage"; sbom="$2"; shift ;;
    -h | --help) printf '%s\n' "$usage"; exit 0 ;;
    -*) die "unknown option $1; $usage" ;;
    *)
      ref="$(cosign_ref "$1")"
      [[ "$ref" == *@sha256:* ]] || die "sign by digest: $1 names a tag, whose content can change; sign \
REPOSITORY@sha256:<hex>, as make push, push-spin and push-chart print it"
      refs="$refs $ref" ;;
  esac
  shift
done
[[ -n "$refs" ]] || die "$usage"
[[ -z "$key" || -f "$key" ]] || die "no private key at $key (make one with: cosign generate-key-pair)"
[[ -z "$sbom" || -f "$sbom" ]] || die "no SBOM at $sbom (make sbom writes one)"
need_tool cosign "scripts/setup-release-tools.sh cosign"

# cosign's options: the registry's, then how to sign.
flags=(--yes)
[[ -z "$insecure" ]] || flags+=(--allow-http-registry --allow-insecure-registry)
if [[ -n "$key" ]]; then
  # No transparency log for a private key: Rekor is public, and the offline path must not need the network.
  # cosign 3 takes --tlog-upload=false only with its signing config (from Sigstore's TUF root) turned off.
  flags+=(--key "$key" --use-signing-config=false --tlog-upload=false)
  log "signing with the key $key, no transparency log"
else
  log "signing keyless (Sigstore: Fulcio certificate for this OIDC identity, Rekor entry)"
fi

for ref in $refs; do
  cosign sign "${flags[@]}" "$ref" >&2 || die "cosign could not sign $ref (see its message above)"
  log "signed $ref"
  if [[ "${ref%@*}" == */envapp ]]; then
    [[ -n "$sbom" ]] || sbom="$("$ROOT/scripts/sbom.sh" | tail -n1)"
    cosign attest "${flags[@]}" --type cyclonedx --predicate "$sbom" "$ref" >&2 \
      || die "cosign could not attest the SBOM to $ref (see its message above)"
    log "attested the CycloneDX SBOM ($(basename "$sbom")) to $ref"
  fi
  printf '%s\n' "$ref"
done
