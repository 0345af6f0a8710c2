#!/usr/bin/env bash
# Verifies what scripts/sign.sh signed, as a consumer would: each REF must carry a valid cosign signature, and the
# component's references (REGISTRY/envapp@...) also a valid CycloneDX SBOM attestation, from the same signer:
#   --key FILE           the public key of the pair that signed (the offline path: no transparency log)
#   --github OWNER/REPO  keyless: signed by OWNER/REPO's release workflow (.github/workflows/release.yml) on a v* tag,
#                        with a certificate from Sigstore's Fulcio for GitHub Actions' OIDC issuer, logged in Rekor
# Says for each REF whether it is verified, not signed, or signed but not by that signer (another key or
# identity, or a signature of other content); fails unless every REF verifies.
usage="usage: scripts/verify.sh [--insecure] (--key FILE | --github OWNER/REPO) REF...
  REF by digest, as make push, push-spin and push-chart print it (a tag works, but names whatever it names now);
  --insecure, or REGISTRY_INSECURE=1: a plain-HTTP registry such as one on loopback"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ISSUER="https://token.actions.githubusercontent.com"

insecure="${REGISTRY_INSECURE:-}"
[[ "$insecure" != 0 ]] || insecure=""
key=""
github=""
refs=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --insecure) insecure=1 ;;
    --key) [[ $# -ge 2 ]] || die "$usage"; key="$2"; shift ;;
    --github) [[ $# -ge 2 ]] || die "$usage"; github="$2"; shift ;;
    -h | --help) printf '%s\n' "$usage"; exit 0 ;;
    -*) die "unknown option $1; $usage" ;;
    *) refs="$refs $(cosign_ref "$1")" ;;
  esac
  shift
done
[[ -n "$refs" ]] || die "$usage"
[[ -n "$key" || -n "$github" ]] || die "say who must have signed, --key FILE (a public key) or --github OWNER/REPO; $usage"
[[ -z "$key" || -z "$github" ]] || die "--key and --github exclude each other; $usage"
[[ -z "$key" || -f "$key" ]] || die "no public key at $key"
[[ -z "$github" || "$github" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || die "--github takes OWNER/REPO, got $github"
need_tool cosign "scripts/setup-release-tools.sh cosign"

# cosign's options: who must have signed, then the registry's.
if [[ -n "$key" ]]; then
  signer="the key $key"
  # sign.sh --key logs nothing in Rekor: there is no entry to check.
  flags=(--key "$key" --insecure-ignore-tlog=true)
else
  signer="$github's release workflow"
  # Dots of OWNER/REPO escaped for the regexp; the backslash comes from a variable, which bash 3.2 and 5 expand
  # alike (a quoted "\\." in the replacement is not).
  dot='\.'
  flags=(--certificate-oidc-issuer "$ISSUER"
    --certificate-identity-regexp "^https://github\.com/${github//./$dot}/\.github/workflows/release\.yml@refs/tags/v")
fi
[[ -z "$insecure" ]] || flags+=(--allow-http-registry --allow-insecure-registry)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# check WHAT COSIGN_ARGS...: runs cosign; on failure says why in plain words, with cosign's own error.
check() {
  local what="$1" reason
  shift
  if cosign "$@" >"$work/out" 2>"$work/err"; then
    return 0
  fi
  reason="$(grep -m1 '^Error: ' "$work/err" | sed 's/^Error: //')"
  [[ -n "$reason" ]] || reason="$(tail -n1 "$work/err")"
  case "$reason" in
    *"no signatures found"* | *"none of the attestations matched the predicate type"*)
      printf 'NOT SIGNED: %s has no %s%s\n' "$ref" "$what" \
        "$([[ "$ref" == *@* ]] || echo "; $ref is a tag: it may now name other content than what was signed (verify by digest)")" ;;
    *"no matching"* | *"failed to verify"* | *"invalid signature"* | *"does not match"* | *"none of the expected identities"*)
      printf 'NOT VALID: %s has a %s, but not one that %s made for this content (signed by another key or identity, or copied from other content): %s\n' \
        "$ref" "$what" "$signer" "$reason" ;;
    *) printf 'COULD NOT VERIFY %s: cosign: %s\n' "$ref" "$reason" ;;
  esac >&2
  return 1
}

failed=0
total=0
for ref in $refs; do
  total=$((total + 1))
  if ! check signature verify "${flags[@]}" "$ref"; then
    failed=$((failed + 1))
    continue
  fi
  repository="${ref%@*}"
  [[ "${repository##*/}" != *:* ]] || repository="${repository%:*}"
  if [[ "$repository" == */envapp ]]; then
    if ! check "SBOM attestation" verify-attestation --type cyclonedx "${flags[@]}" "$ref"; then
      failed=$((failed + 1))
      continue
    fi
    log "verified $ref: signed by $signer, with a CycloneDX SBOM attested by the same signer"
  else
    log "verified $ref: signed by $signer"
  fi
  printf '%s\n' "$ref"
done
[[ "$failed" -eq 0 ]] || die "$failed of $total references did not verify (see above)"
