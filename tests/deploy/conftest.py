"""Fixtures of the deploy checks; the helpers live in deploylib.py, paths and tools in tests/projectenv.py."""

import shutil

import pytest

from deploylib import CLUSTER_TOOLS, Sandbox


@pytest.fixture
def sandbox(tmp_path):
    def make(stubs=CLUSTER_TOOLS):
        return Sandbox(tmp_path, stubs)

    return make


@pytest.fixture(scope="session")
def kubectl():
    """kubectl for offline `kubectl kustomize`: first on PATH, where tests/conftest.py put the project's tools."""
    found = shutil.which("kubectl")
    if not found:
        pytest.fail("kubectl not found: run `make setup` (it provides a pinned kubectl)")
    return found
