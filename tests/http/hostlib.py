"""One helper to run the real thing: the built envapp.wasm on the dev host, on a free loopback port.

The host is started fresh for each scenario (the environment is fixed at start, as in a pod) and is
always stopped, even when an assertion fails.
"""
import contextlib
import http.client
import json
import os
import subprocess
import threading

from projectenv import ROOT, TOOLS, stop

WASM = ROOT / "target/wasm32-wasip1/release/envapp.wasm"
HOST_BIN = TOOLS / "host-target/release/envapp-host"
MANIFEST = ROOT / "spin.toml"


def require_built():
    missing = [str(p) for p in (WASM, HOST_BIN) if not p.exists()]
    assert not missing, f"not built: {missing}; run `make build` and `scripts/build-host.sh` (make test does both)"


@contextlib.contextmanager
def serve(args=(), env=None, inherit=("PATH", "HOME")):
    """Serves the component; yields (host, port). `env` is the whole process env of the host
    (plus PATH and HOME), standing in for a container's env."""
    require_built()
    proc_env = {k: os.environ[k] for k in inherit if k in os.environ}
    proc_env.update(env or {})
    proc = subprocess.Popen(
        [str(HOST_BIN), "--listen", "127.0.0.1:0", *args, str(MANIFEST)],
        env=proc_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    stderr = []
    threading.Thread(target=lambda: stderr.extend(proc.stderr), daemon=True).start()
    try:
        line = _first_line(proc, timeout=60)
        assert line.startswith("Serving http://"), f"host did not start: {line!r}\n{''.join(stderr)}"
        host, port = line.removeprefix("Serving http://").strip().rsplit(":", 1)
        yield host, int(port)
        assert proc.poll() is None, f"host exited during the test:\n{''.join(stderr)}"
    finally:
        stop(proc)


def _first_line(proc, timeout):
    result = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0] if result else ""


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
