"""Where the dev host answers for Spin itself: the well-known endpoints, and how it starts. Each expectation
here was checked against `spin up` (Spin 3.6.3) and containerd-shim-spin (docs/development.md)."""
import hashlib
import json
import os

import pytest

from hostlib import request, run_host


@pytest.fixture(scope="module")
def envapp():
    with run_host() as host:
        yield host


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_health_is_plain_ok_for_any_method(envapp, method):
    resp = request(envapp.addr, method, "/.well-known/spin/health")
    assert (resp.status, resp.body) == (200, b"OK")


def test_info_names_the_app_and_its_version_as_spin_does(envapp):
    resp = request(envapp.addr, "GET", "/.well-known/spin/info")
    assert resp.status == 200 and resp.header("content-type") == "application/json"
    assert resp.json() == {"name": "envapp", "version": "0.1.0"}
    assert resp.body == json.dumps(resp.json(), indent=2).encode()  # serde_json's pretty form


def test_other_well_known_paths_are_an_empty_404(envapp):
    resp = request(envapp.addr, "GET", "/.well-known/spin/nope")
    assert (resp.status, resp.body) == (404, b"")


def test_the_compiled_component_is_cached_and_a_corrupt_entry_is_rebuilt(tmp_path):
    cache = tmp_path / "cache"
    with run_host(env={"ENVAPP_HOST_CACHE": str(cache)}) as host:
        assert request(host.addr, "GET", "/healthz").status == 200
    (entry,) = cache.glob("*.cwasm")
    assert oct(cache.stat().st_mode & 0o777) == "0o700" and oct(entry.stat().st_mode & 0o777) == "0o600"
    good = entry.read_bytes()

    assert hashlib.sha256(good[32:]).digest() == good[:32]  # an entry: its code's SHA-256, then the code

    corrupt = good[:32] + b"\0" * 64 + good[96:]  # same size, wrong code: the checksum catches it
    entry.write_bytes(corrupt)
    with run_host(env={"ENVAPP_HOST_CACHE": str(cache)}) as host:
        assert request(host.addr, "GET", "/env").json()["PROD"] == "false"
    rebuilt = entry.read_bytes()
    assert rebuilt != corrupt and hashlib.sha256(rebuilt[32:]).digest() == rebuilt[:32]


def test_a_cache_folder_others_can_write_is_not_used(tmp_path):
    cache = tmp_path / "shared"
    cache.mkdir(mode=0o777)
    os.chmod(cache, 0o777)
    with run_host(env={"ENVAPP_HOST_CACHE": str(cache)}) as host:
        assert request(host.addr, "GET", "/healthz").status == 200
    assert not list(cache.iterdir())
