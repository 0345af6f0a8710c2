"""Plain helpers for the publish tests: where things are, and running the scripts as the Makefile does.

(Kept out of conftest.py so test modules can import them by a name no other test folder uses.)
"""

import importlib.util
import subprocess
import tomllib
from dataclasses import dataclass

from projectenv import ROOT  # PATH and HELM_* come from tests/conftest.py

WASM = ROOT / "target" / "wasm32-wasip1" / "release" / "envapp.wasm"
SPIN_TOML = ROOT / "spin.toml"
CHART = ROOT / "chart" / "internal-service"
CRATE_VERSION = tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]["version"]

# scripts/oci_image.py as a module (scripts/ is not a package), for its locked app.
_spec = importlib.util.spec_from_file_location("oci_image", ROOT / "scripts" / "oci_image.py")
oci_image = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(oci_image)


def run_script(script: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run scripts/<script> as the Makefile does, capturing stdout and stderr."""
    return subprocess.run(
        [str(ROOT / "scripts" / script), *args],
        capture_output=True, text=True, timeout=300, env=env,
    )


def last_line(out: str) -> str:
    lines = out.strip().splitlines()
    return lines[-1] if lines else ""


@dataclass
class PushedImage:
    reference: str  # REGISTRY/envapp@sha256:<hex>, the script's last stdout line
    repository: str  # REGISTRY/envapp
    digest: str
