"""The benchmark's modules (bench/run.py, bench/shim.py), loaded from their files: bench/ is not a package."""
import importlib.util
import sys

import pytest

from projectenv import ROOT


def load_bench_module(name: str):
    """bench/NAME.py as module NAME; run.py imports its sibling shim.py by name, as when run as a script."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def shim():
    return load_bench_module("shim")


@pytest.fixture(scope="session")
def bench(shim):
    return load_bench_module("run")
