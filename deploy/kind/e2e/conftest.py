"""Hooks of the end-to-end checks: skip every check, saying why, when no cluster answers at the kube context
(`make test` runs them against the kind cluster `make kind-up` made, when there is one); print the figures the
checks measured at the end. What the checks share is in e2elib.py."""

from pathlib import Path

import pytest

from e2elib import CONTEXT, FIGURES, cluster_answers

HERE = Path(__file__).parent


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section(f"end-to-end figures ({CONTEXT})")
        for line in FIGURES:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(config, items):
    # pytest hands this hook every item of the session, tests/ included: mark only the checks in this folder.
    checks = [item for item in items if item.path.is_relative_to(HERE)]
    why = cluster_answers() if checks else ""
    if why:
        for item in checks:
            item.add_marker(pytest.mark.skip(reason=why))
