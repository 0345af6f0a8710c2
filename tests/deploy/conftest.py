"""Fixtures of the deploy checks; the helpers live in deploylib.py."""

import os
import shutil
from pathlib import Path

import pytest

from deploylib import Sandbox, CLUSTER_TOOLS


@pytest.fixture
def sandbox(tmp_path):
    def make(stubs=CLUSTER_TOOLS):
        return Sandbox(tmp_path, stubs)

    return make


@pytest.fixture(scope="session")
def kubectl():
    """kubectl for offline `kubectl kustomize`: the project's pinned one, else the machine's."""
    tools = Path(os.environ.get("ENVAPP_TOOLS", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "envapp"))
    for candidate in (tools / "bin" / "kubectl", shutil.which("kubectl")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.fail("kubectl not found: run `make setup` (it installs the pinned kubectl)")
