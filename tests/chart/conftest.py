"""Fixtures for the chart tests; the helpers are in chartlib.py."""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# chartlib sits next to this file; make it importable whatever pytest's import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from chartlib import VALUES_DEV, VALUES_PROD, render, render_text  # noqa: E402


@pytest.fixture(scope="session")
def dev_docs() -> list[dict]:
    return render(VALUES_DEV)


@pytest.fixture(scope="session")
def prod_docs() -> list[dict]:
    return render(VALUES_PROD)


@pytest.fixture(scope="session")
def rendered_files(tmp_path_factory) -> dict[str, Path]:
    """The dev and prod renders as files in one temporary folder (for the scanners that read files)."""
    folder = tmp_path_factory.mktemp("rendered")
    files = {}
    for env, values in (("dev", VALUES_DEV), ("prod", VALUES_PROD)):
        files[env] = folder / f"{env}.yaml"
        files[env].write_text(render_text(values))
    return files


@pytest.fixture
def fake_component():
    """Start stand-ins for the component on loopback: factory(prod) -> base URL. /healthz answers like the
    component; /env reports PROD=prod (or no PROD when prod is None). Every server is stopped afterwards."""
    servers = []

    def start(prod):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/healthz":
                    body = {"status": "ok"}
                elif self.path == "/env":
                    body = {"GREETING": "hi"} if prod is None else {"PROD": prod, "GREETING": "hi"}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
