"""One helper to run the real thing: a built component on the dev host, on a free loopback port.

The host is started fresh for each scenario (the environment is fixed at start, as in a pod) and is
always stopped, even when an assertion fails.
"""
import contextlib
import http.client
import json
import os
import subprocess
import threading
import time
from pathlib import Path

from projectenv import ROOT, TOOLS, stop

WASM = ROOT / "target/wasm32-wasip1/release/envapp.wasm"
HOST_BIN = TOOLS / "host-target/release/envapp-host"
MANIFEST = ROOT / "spin.toml"
# A component in spin-sdk's default form (tests/http/sdk-default): buffers the body, answers in two writes.
SDK_DEFAULT = ROOT / "tests/http/sdk-default"


def require_built(*paths):
    missing = [str(p) for p in (HOST_BIN, *paths) if not p.exists()]
    assert not missing, f"not built: {missing}; run `make build` and `scripts/build-host.sh` (make test does both)"


class Host:
    """A running envapp-host: its address, its process, and what it wrote to stderr so far."""

    def __init__(self, proc, addr, stderr):
        self.proc, self.addr, self.stderr = proc, addr, stderr
        self.stopped = False

    def peak_rss_kib(self) -> int:
        """VmHWM: the most resident memory the process has had since it started."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc/<pid>/status")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> str:
        """Stops the host (SIGTERM) and returns all it wrote to stderr."""
        self.stopped = True
        stop(self.proc)
        time.sleep(0.1)
        return "".join(self.stderr)


@contextlib.contextmanager
def run_host(args=(), env=None, manifest=MANIFEST, inherit=("PATH", "HOME"), preexec_fn=None):
    """Serves a component; yields a Host. `env` is the whole process env of the host (plus PATH and HOME),
    standing in for a container's env."""
    require_built(WASM if manifest == MANIFEST else manifest)
    proc_env = {k: os.environ[k] for k in inherit if k in os.environ}
    proc_env.update(env or {})
    proc = subprocess.Popen(
        [str(HOST_BIN), "--listen", "127.0.0.1:0", *args, str(manifest)],
        env=proc_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        preexec_fn=preexec_fn,
    )
    stderr = []
    threading.Thread(target=lambda: stderr.extend(proc.stderr), daemon=True).start()
    try:
        line = _first_line(proc, timeout=120)
        assert line.startswith("Serving http://"), f"host did not start: {line!r}\n{''.join(stderr)}"
        host, port = line.removeprefix("Serving http://").strip().rsplit(":", 1)
        running = Host(proc, (host, int(port)), stderr)
        yield running
        assert running.stopped or proc.poll() is None, f"host exited during the test:\n{''.join(stderr)}"
    finally:
        stop(proc)


@contextlib.contextmanager
def serve(args=(), env=None, **kwargs):
    """Serves envapp; yields its (host, port)."""
    with run_host(args, env, **kwargs) as host:
        yield host.addr


def _first_line(proc, timeout):
    result = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0] if result else ""


def build_sdk_default() -> Path:
    """Builds the sdk-default fixture by the project's wasm route; returns its spin.toml."""
    subprocess.run(
        ["bash", "-c", 'source scripts/lib.sh && wasm_build "$1" --quiet --target-dir "$2"', "-",
         str(SDK_DEFAULT / "Cargo.toml"), str(ROOT / "target")],
        cwd=ROOT, check=True,
    )
    return SDK_DEFAULT / "spin.toml"


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())


def request(addr, method, path, headers=None, body=None, conn=None):
    """One request; reuses `conn` (keep-alive) when given."""
    own = conn is None
    conn = conn or http.client.HTTPConnection(*addr, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        if own:
            conn.close()


def env_of(addr, path="/env"):
    resp = request(addr, "GET", path)
    assert resp.status == 200, resp.body
    return resp.json()


def keep_alive_times_ms(addr, path="/env", n=60) -> list[float]:
    """The times of `n` GETs, one after another on one keep-alive connection, in ms."""
    conn = http.client.HTTPConnection(*addr, timeout=30)
    times = []
    try:
        first = request(addr, "GET", path, conn=conn)  # connection set-up and first-request costs out of the way
        for _ in range(n):
            start = time.perf_counter()
            assert request(addr, "GET", path, conn=conn).status == first.status
            times.append((time.perf_counter() - start) * 1000)
    finally:
        conn.close()
    return times


def stalled(times: list[float]) -> int:
    """How many requests waited for a delayed ACK: Linux delays an ACK by at least 40 ms."""
    return sum(t >= 30 for t in times)
