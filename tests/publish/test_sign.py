"""`make sign` / `make verify` / `make sbom` (scripts/sign.sh, verify.sh, sbom.sh) on the real registry on 127.0.0.1,
with the real cosign and a throwaway key pair: the signed image and chart verify; an unsigned digest, a signature
made with another key, a tag re-pointed at altered content and a signature copied onto altered content all fail,
each with its own message. The SBOM lists the component's dependencies at the versions Cargo.lock locks."""

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tomllib
import urllib.error
import urllib.request

import pytest

from publishlib import CRATE_VERSION, last_line, run_script
from projectenv import ROOT, free_port

SBOM = ROOT / "target" / "sbom" / "envapp.cdx.json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def cosign() -> str:
    path = shutil.which("cosign")
    if path is None:
        pytest.fail("cosign not found: run scripts/setup-release-tools.sh (make setup)")
    return path


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """A throwaway cosign key pair (made here, never committed) and its password."""
    return key_pair(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def other_keys(tmp_path_factory):
    return key_pair(tmp_path_factory.mktemp("other-keys"))


def key_pair(folder):
    password = secrets.token_urlsafe(12)
    subprocess.run([cosign(), "generate-key-pair"], cwd=folder, env={**os.environ, "COSIGN_PASSWORD": password},
                   check=True, capture_output=True, timeout=60)
    return {"key": str(folder / "cosign.key"), "pub": str(folder / "cosign.pub"), "password": password}


def sign(keys, *refs):
    return run_script("sign.sh", "--insecure", "--key", keys["key"], *refs,
                      env={**os.environ, "COSIGN_PASSWORD": keys["password"]})


def verify(pub, *refs):
    return run_script("verify.sh", "--insecure", "--key", pub, *refs)


def push(registry, path) -> str:
    result = run_script("push.sh", "--insecure", f"{registry.host}/{path}")
    assert result.returncode == 0, result.stderr
    return last_line(result.stdout)


@pytest.fixture(scope="module")
def signed(registry, wasm, keys):
    """The image pushed to <registry>/signed and signed by `make sign` (which also writes and attests the SBOM)."""
    ref = push(registry, "signed")
    result = sign(keys, ref)
    assert result.returncode == 0, result.stderr
    assert last_line(result.stdout) == ref
    assert f"attested the CycloneDX SBOM (envapp.cdx.json) to {ref}" in result.stderr
    return ref


def test_the_signed_image_verifies_with_the_public_key(signed, keys):
    result = verify(keys["pub"], signed)
    assert result.returncode == 0, result.stderr
    assert last_line(result.stdout) == signed
    assert f"verified {signed}: signed by the key {keys['pub']}, with a CycloneDX SBOM attested" in result.stderr


def test_an_unsigned_digest_fails_and_says_it_is_not_signed(registry, wasm, keys):
    unsigned = push(registry, "unsigned")
    result = verify(keys["pub"], unsigned)
    assert result.returncode != 0
    assert f"NOT SIGNED: {unsigned} has no signature\n" in result.stderr
    assert "1 of 1 references did not verify" in result.stderr
    assert result.stdout == ""


def test_a_signed_image_without_its_sbom_fails(registry, wasm, keys):
    # Signed with cosign directly, as someone skipping `make sign` would: a signature, but no SBOM attestation.
    ref = push(registry, "no-sbom")
    subprocess.run([cosign(), "sign", "--yes", "--key", keys["key"], "--use-signing-config=false", "--tlog-upload=false",
                    "--allow-http-registry", ref], env={**os.environ, "COSIGN_PASSWORD": keys["password"]},
                   check=True, capture_output=True, timeout=120)
    result = verify(keys["pub"], ref)
    assert result.returncode != 0
    assert f"NOT SIGNED: {ref} has no SBOM attestation\n" in result.stderr


def test_a_signature_made_with_another_key_fails(signed, other_keys):
    result = verify(other_keys["pub"], signed)
    assert result.returncode != 0
    assert f"NOT VALID: {signed} has a signature, but not one that the key {other_keys['pub']} made" in result.stderr
    assert result.stdout == ""


def test_a_tag_re_pointed_at_altered_content_fails_while_the_signed_digest_still_verifies(signed, altered, keys):
    repository = signed.split("@")[0]
    by_tag = verify(keys["pub"], f"{repository}:{CRATE_VERSION}")
    assert by_tag.returncode != 0
    assert f"NOT SIGNED: {repository}:{CRATE_VERSION} has no signature; {repository}:{CRATE_VERSION} is a tag: " \
        "it may now name other content than what was signed (verify by digest)" in by_tag.stderr
    assert verify(keys["pub"], signed).returncode == 0


def test_a_signature_copied_onto_altered_content_fails(signed, altered, keys):
    # The registry now lists the signed digest's signature and SBOM bundles as the altered digest's too.
    copy_referrers(signed, altered)
    result = verify(keys["pub"], altered)
    assert result.returncode != 0
    assert f"NOT VALID: {altered} has a signature, but not one that the key {keys['pub']} made for this content" \
        in result.stderr
    assert "does not match" in result.stderr  # cosign's reason: the bundle names another digest


def test_verify_checks_every_reference_and_names_each_failure(signed, altered, registry, keys):
    result = verify(keys["pub"], signed, altered)
    assert result.returncode != 0
    assert f"verified {signed}" in result.stderr and f"{altered} has" in result.stderr
    assert "1 of 2 references did not verify" in result.stderr


def test_the_chart_is_signed_and_verified_without_an_sbom(registry, keys):
    pushed = run_script("push-chart.sh", "--insecure", f"{registry.host}/signed")
    assert pushed.returncode == 0, pushed.stderr
    chart = last_line(pushed.stdout)  # oci://HOST/signed/charts/internal-service:<version>@sha256:<hex>
    plain = re.sub(r"^oci://(.*):[^:/@]+(@sha256:[0-9a-f]{64})$", r"\1\2", chart)
    signed = sign(keys, chart)
    assert signed.returncode == 0, signed.stderr
    assert last_line(signed.stdout) == plain and "attested" not in signed.stderr
    result = verify(keys["pub"], chart)
    assert result.returncode == 0, result.stderr
    assert f"verified {plain}: signed by the key {keys['pub']}\n" in result.stderr


def test_a_registry_that_is_down_is_not_taken_for_an_unsigned_image(keys):
    ref = f"127.0.0.1:{free_port()}/envapp@sha256:{'0' * 64}"  # nothing listens there
    result = verify(keys["pub"], ref)
    assert result.returncode != 0
    assert f"COULD NOT VERIFY {ref}: cosign: " in result.stderr and "connection refused" in result.stderr
    assert "NOT SIGNED" not in result.stderr


def test_sign_refuses_a_tag(signed, keys):
    tag = f"{signed.split('@')[0]}:{CRATE_VERSION}"
    result = sign(keys, tag)
    assert result.returncode != 0
    assert f"sign by digest: {tag} names a tag, whose content can change" in result.stderr


def test_verify_needs_to_be_told_who_signed(signed):
    result = run_script("verify.sh", "--insecure", signed)
    assert result.returncode != 0
    assert "say who must have signed, --key FILE (a public key) or --github OWNER/REPO" in result.stderr


def test_the_attested_sbom_is_the_one_make_sbom_writes(signed, keys):
    result = subprocess.run(
        [cosign(), "verify-attestation", "--type", "cyclonedx", "--key", keys["pub"], "--insecure-ignore-tlog=true",
         "--allow-http-registry", signed], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    (envelope,) = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["predicateType"] == "https://cyclonedx.org/bom"
    assert statement["subject"][0]["digest"] == {"sha256": signed.split("@sha256:")[1]}
    assert statement["predicate"] == json.loads(SBOM.read_text())


def locked_versions() -> dict[str, list[str]]:
    versions = {}
    for package in tomllib.loads((ROOT / "Cargo.lock").read_text())["package"]:
        versions.setdefault(package["name"], []).append(package["version"])
    return versions


def test_the_sbom_names_the_components_dependencies_at_the_locked_versions():
    before = git_status()
    result = run_script("sbom.sh")
    assert result.returncode == 0, result.stderr
    assert last_line(result.stdout) == str(SBOM)
    assert git_status() == before, "make sbom changed the clone"
    bom = json.loads(SBOM.read_text())
    assert (bom["bomFormat"], bom["specVersion"]) == ("CycloneDX", "1.5")
    component = bom["metadata"]["component"]
    assert (component["name"], component["version"]) == ("envapp", CRATE_VERSION)
    assert {"name": "cdx:rustc:sbom:target:triple", "value": "wasm32-wasip1"} in bom["metadata"]["properties"]
    listed = {(c["name"], c["version"]) for c in bom["components"]}
    purls = {c["purl"] for c in bom["components"]}
    locked = locked_versions()
    for name in ("spin-sdk", "serde_json", "anyhow"):
        (version,) = locked[name]
        assert (name, version) in listed, f"{name} {version} (Cargo.lock) is not in the SBOM"
        assert f"pkg:cargo/{name}@{version}" in purls
    # Every component is one Cargo.lock locks, at a locked version: nothing made up, nothing from elsewhere.
    assert all(version in locked.get(name, []) for name, version in listed)


def test_the_same_commit_gives_the_same_sbom():
    first = run_script("sbom.sh")
    assert first.returncode == 0, first.stderr
    once = SBOM.read_bytes()
    again = run_script("sbom.sh")
    assert again.returncode == 0, again.stderr
    assert SBOM.read_bytes() == once


# --- Keyless, as the release workflow signs and consumers verify (a stand-in cosign: no Sigstore here) -----------

RELEASE_WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"


@pytest.fixture
def cosign_stand_in(tmp_path):
    """A cosign on PATH that records its arguments and succeeds; returns (env, the log of its calls)."""
    calls = tmp_path / "calls"
    stub = tmp_path / "bin" / "cosign"
    stub.parent.mkdir()
    stub.write_text(f'#!/bin/sh\n[ "$1" = version ] && {{ echo "GitVersion:    v3.0.6"; exit 0; }}\n'
                    f'echo "$*" >> "{calls}"\n')
    stub.chmod(0o755)
    # The stand-in must win over the tool folder's copy, which lib.sh puts first on PATH.
    env = {**os.environ, "ENVAPP_TOOLS": str(tmp_path / "tools"), "PATH": f"{stub.parent}:{os.environ['PATH']}"}
    return env, calls


def test_keyless_verify_requires_the_release_workflow_of_the_repository_on_a_tag(cosign_stand_in):
    env, calls = cosign_stand_in
    ref = "ghcr.io/acme/envapp@sha256:" + "1" * 64
    result = run_script("verify.sh", "--github", "acme/env.app", ref, env=env)
    assert result.returncode == 0, result.stderr
    signature, sbom = calls.read_text().splitlines()
    identity = r"^https://github\.com/acme/env\.app/\.github/workflows/release\.yml@refs/tags/v"
    expected = f"--certificate-oidc-issuer https://token.actions.githubusercontent.com --certificate-identity-regexp {identity} {ref}"
    assert signature == f"verify {expected}"
    assert sbom == f"verify-attestation --type cyclonedx {expected}"
    # That is the workflow that signs, on the tags it runs on; docs/publish.md shows the same identity.
    assert RELEASE_WORKFLOW.is_file()
    assert "release.yml@refs/tags/v" in (ROOT / "docs" / "publish.md").read_text()


def test_keyless_sign_uses_sigstore_and_no_key(cosign_stand_in):
    env, calls = cosign_stand_in
    ref = "ghcr.io/acme/envapp@sha256:" + "2" * 64
    result = run_script("sign.sh", "--sbom", str(ROOT / "Cargo.lock"), ref, env=env)
    assert result.returncode == 0, result.stderr
    signature, sbom = calls.read_text().splitlines()
    assert signature == f"sign --yes {ref}"
    assert sbom == f"attest --yes --type cyclonedx --predicate {ROOT / 'Cargo.lock'} {ref}"


def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--ignored=no"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout


# --- Tampering, done to the registry directly, as an attacker with push rights would ---------------------------


def registry_url(ref: str) -> tuple[str, str]:
    """(http://HOST/v2/REPOSITORY, digest) of HOST/REPOSITORY@digest."""
    name, digest = ref.split("@")
    host, repository = name.split("/", 1)
    return f"http://{host}/v2/{repository}", digest


def get(url: str, accept: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, b""


def put_manifest(url: str, media_type: str, body: bytes) -> None:
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": media_type})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201, response.status


@pytest.fixture(scope="module")
def altered(signed):
    """The signed image with one annotation added (so another digest, the same layers), pushed to the signed
    image's tag: the tag now names content that was never signed. Returns HOST/REPOSITORY@<altered digest>."""
    base, digest = registry_url(signed)
    status, raw = get(f"{base}/manifests/{digest}", OCI_MANIFEST)
    assert status == 200
    manifest = json.loads(raw)
    manifest.setdefault("annotations", {})["org.example.altered"] = "not what was signed"
    body = json.dumps(manifest).encode()
    put_manifest(f"{base}/manifests/{CRATE_VERSION}", OCI_MANIFEST, body)
    return f"{signed.split('@')[0]}@sha256:{hashlib.sha256(body).hexdigest()}"


def copy_referrers(signed: str, altered: str) -> None:
    """Makes the registry list the signed digest's referrers (cosign's signature and attestation bundles) as
    referrers of the altered digest: each bundle manifest re-pushed with the altered digest as its subject, and
    listed both ways cosign looks for referrers (the OCI referrers API, where the registry has it, else the
    fallback tag sha256-<hex> holding an index)."""
    base, digest = registry_url(signed)
    _, altered_digest = registry_url(altered)
    status, raw = get(f"{base}/referrers/{digest}", OCI_INDEX)
    if status != 200:  # distribution 2.x has no referrers API: the fallback tag
        status, raw = get(f"{base}/manifests/{digest.replace(':', '-')}", OCI_INDEX)
    assert status == 200, f"no referrers of {signed}: was it signed?"
    index = json.loads(raw)
    assert index["manifests"], "the signed digest has no referrers"
    status, altered_raw = get(f"{base}/manifests/{altered_digest}", OCI_MANIFEST)
    assert status == 200
    subject = {"mediaType": OCI_MANIFEST, "digest": altered_digest, "size": len(altered_raw)}
    copies = []
    for descriptor in index["manifests"]:
        status, raw = get(f"{base}/manifests/{descriptor['digest']}", descriptor["mediaType"])
        assert status == 200
        bundle = json.loads(raw)
        bundle["subject"] = subject
        body = json.dumps(bundle).encode()
        copy_digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
        put_manifest(f"{base}/manifests/{copy_digest}", descriptor["mediaType"], body)
        copies.append({**descriptor, "digest": copy_digest, "size": len(body)})
    put_manifest(f"{base}/manifests/{altered_digest.replace(':', '-')}", OCI_INDEX,
                 json.dumps({**index, "manifests": copies}).encode())
