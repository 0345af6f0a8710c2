"""The publish tests' one real thing: a CNCF distribution registry on 127.0.0.1.

`running_registry` starts one on a free port with a throwaway config and storage in a temp dir, waits until
/v2/ answers, and always stops it by PID. The binary is the machine's `docker-registry` or `registry`, else the
copy scripts/setup-registry-tools.sh unpacked into the tool folder (never the system service Debian's package
starts). With `users`, it requires an htpasswd login (bcrypt, the only hash distribution accepts).
Nothing here writes into the repository.
"""

import contextlib
import secrets
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import pytest

from projectenv import free_port, stop
from publishlib import WASM, PushedImage, last_line, run_script


@dataclass
class Registry:
    host: str  # 127.0.0.1:<port>, what the scripts take as REGISTRY (plus an optional path)
    user: str = ""  # the one account of a registry that requires a login
    password: str = ""
    ca: Path | None = None  # with TLS: the registry's self-signed certificate, to trust as a CA


def registry_binary() -> str:
    for name in ("docker-registry", "registry"):
        if path := shutil.which(name):
            return path
    pytest.fail("no registry binary (docker-registry or registry) on PATH: run scripts/setup-registry-tools.sh")


@contextlib.contextmanager
def running_registry(workdir: Path, readonly: bool = False, users: dict[str, str] | None = None, tls: bool = False):
    """A real registry on 127.0.0.1 serving from workdir; readonly refuses every push (maintenance mode);
    users (name -> password) turns on htpasswd authentication; tls serves HTTPS with a self-signed certificate
    for 127.0.0.1 (for clients, such as `spin registry login`, that speak only HTTPS)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "config.yml"
    auth = ""
    ca = None
    if tls:
        ca, key = workdir / "cert.pem", workdir / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                        "-out", str(ca)], check=True, capture_output=True)
        auth += f"  tls: {{certificate: {ca}, key: {key}}}\n"
    if users:
        htpasswd = workdir / "htpasswd"
        htpasswd.write_text("".join(
            f"{name}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()}\n"
            for name, password in users.items()
        ))
        auth += f"auth: {{htpasswd: {{realm: envapp-test, path: {htpasswd}}}}}\n"
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        "storage:\n"
        f"  filesystem: {{rootdirectory: {workdir / 'storage'}}}\n"
        f"  maintenance: {{readonly: {{enabled: {'true' if readonly else 'false'}}}}}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n" + auth
    )
    log_path = workdir / "registry.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([registry_binary(), "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_v2(proc, port, log_path, expected=401 if users else 200, ca=ca)
            user, password = next(iter(users.items())) if users else ("", "")
            yield Registry(host=f"127.0.0.1:{port}", user=user, password=password, ca=ca)
        finally:
            stop(proc)


def wait_for_v2(proc: subprocess.Popen, port: int, log_path: Path, expected: int, timeout: float = 15,
                ca: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    url = f"{'https' if ca else 'http'}://127.0.0.1:{port}/v2/"
    context = ssl.create_default_context(cafile=str(ca)) if ca else None
    while True:
        if proc.poll() is not None:
            pytest.fail(f"the registry exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1, context=context) as resp:
                status = resp.status
        except urllib.error.HTTPError as err:
            status = err.code
        except OSError:
            status = None
        if status is not None:
            assert status == expected, f"/v2/ answered {status}, expected {expected}"
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the registry did not answer on 127.0.0.1:{port}/v2/ within {timeout} s")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    with running_registry(tmp_path_factory.mktemp("registry")) as reg:
        yield reg


@pytest.fixture(scope="session")
def readonly_registry(tmp_path_factory):
    with running_registry(tmp_path_factory.mktemp("readonly-registry"), readonly=True) as reg:
        yield reg


@pytest.fixture(scope="session")
def login_registry(tmp_path_factory):
    """A registry that refuses anyone not logged in as its one user (password made up per run)."""
    users = {"publisher": secrets.token_urlsafe(18)}
    with running_registry(tmp_path_factory.mktemp("login-registry"), users=users) as reg:
        yield reg


@pytest.fixture(scope="session")
def tls_login_registry(tmp_path_factory):
    """As login_registry, over HTTPS: `spin registry login` checks credentials over HTTPS only."""
    users = {"publisher": secrets.token_urlsafe(18)}
    with running_registry(tmp_path_factory.mktemp("tls-login-registry"), users=users, tls=True) as reg:
        yield reg


@pytest.fixture(scope="session")
def wasm() -> Path:
    if not WASM.is_file():
        pytest.fail(f"{WASM} not found: run `make build` first")
    return WASM


@pytest.fixture(scope="session")
def pushed_image(registry, wasm) -> PushedImage:
    """The image pushed once by `scripts/push.sh --insecure` to <registry>/team."""
    result = run_script("push.sh", "--insecure", f"{registry.host}/team")
    assert result.returncode == 0, result.stderr
    reference = last_line(result.stdout)
    repository, _, digest = reference.partition("@")
    assert repository == f"{registry.host}/team/envapp", reference
    return PushedImage(reference=reference, repository=repository, digest=digest)
