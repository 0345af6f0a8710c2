"""Where the dev host answers for Spin itself: the well-known endpoints, and how it starts. Each expectation
here was checked against `spin up` (Spin 3.6.3) and containerd-shim-spin (docs/development.md)."""
import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from hostlib import MANIFEST, WASM, request, run_host
from projectenv import free_port, stop

# Raw requests whose whole answers (status line, headers but `date`, body) must be byte-identical on
# envapp-host and `spin up`: the component's routes, Spin's own endpoints, and requests Spin refuses.
RAW_REQUESTS = [
    b"GET /env HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    b"HEAD /env HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    b"POST /env HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    b"GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    b"GET /env/PROD?x=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    b"GET /env HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    b"GET /.well-known/spin/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    b"POST /.well-known/spin/health HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    b"GET /.well-known/spin/info HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    b"GET /.well-known/spin/nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    b"GET /.well-known/spin/health HTTP/1.0\r\n\r\n",
    b"GET /env HTTP/1.0\r\n\r\n",
    b"GET /env HTTP/1.1\r\nConnection: close\r\n\r\n",
    "GET /env HTTP/1.1\r\nHost: h\u00f6st\r\nConnection: close\r\n\r\n".encode(),
    b"GET http://a.example/env HTTP/1.1\r\nHost: b.example\r\nConnection: close\r\n\r\n",
    b"GARBAGE\r\n\r\n",
]


def raw_answer(addr, raw: bytes) -> bytes:
    """Everything the server sends back for `raw` until it closes, without the Date header."""
    with socket.create_connection(addr, timeout=10) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return b"\r\n".join(line for line in answer.split(b"\r\n") if not line.lower().startswith(b"date:"))


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


@contextlib.contextmanager
def spin_up(env, state_dir):
    port = free_port()
    proc = subprocess.Popen(["spin", "up", "-f", str(MANIFEST), "--listen", f"127.0.0.1:{port}",
                             "--state-dir", str(state_dir)],
                            env={**os.environ, **env}, cwd=WASM.parents[3],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if request(("127.0.0.1", port), "GET", "/.well-known/spin/health").status == 200:
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "spin up did not start"
                time.sleep(0.2)
        yield ("127.0.0.1", port)
    finally:
        stop(proc)


@pytest.mark.skipif(shutil.which("spin") is None, reason="Spin is not installed (docs/development.md)")
def test_envapp_host_answers_byte_for_byte_like_spin_up(tmp_path):
    env = {"SPIN_VARIABLE_PROD": "true", "SPIN_VARIABLE_EXTRA_ENV": '{"TEAM":"platform"}'}
    with spin_up(env, tmp_path) as spin, run_host(env=env) as host:
        for raw in RAW_REQUESTS:
            assert raw_answer(host.addr, raw) == raw_answer(spin, raw), raw
