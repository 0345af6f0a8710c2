"""The publish tests' one real thing: a CNCF distribution registry (Debian's docker-registry) on 127.0.0.1.

`running_registry` starts one on a free port with a throwaway config and storage in a temp dir, waits until
/v2/ answers, and always stops it by PID. Install it with `make setup` (scripts/setup-registry-tools.sh).
Nothing here writes into the repository.
"""

import contextlib
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from projectenv import stop
from publishlib import WASM, PushedImage, free_port, last_line, run_script


@dataclass
class Registry:
    host: str  # 127.0.0.1:<port>, what the scripts take as REGISTRY (plus an optional path)


@contextlib.contextmanager
def running_registry(workdir: Path, readonly: bool = False):
    """A real registry on 127.0.0.1 serving from workdir; readonly refuses every push (maintenance mode)."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.fail("docker-registry not found: run `make setup` (scripts/setup-registry-tools.sh)")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        "storage:\n"
        f"  filesystem: {{rootdirectory: {workdir / 'storage'}}}\n"
        f"  maintenance: {{readonly: {{enabled: {'true' if readonly else 'false'}}}}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    log_path = workdir / "registry.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_v2(proc, port, log_path)
            yield Registry(host=f"127.0.0.1:{port}")
        finally:
            stop(proc)


def wait_for_v2(proc: subprocess.Popen, port: int, log_path: Path, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"docker-registry exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"docker-registry did not answer on 127.0.0.1:{port}/v2/ within {timeout} s")
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
