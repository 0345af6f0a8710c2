"""Hooks of the end-to-end checks: skip every check, saying why, when no cluster answers at the kube context
(`make test` runs them against the kind cluster `make kind-up` made, when there is one); print the figures the
checks measured at the end. What the checks share is in e2elib.py."""

import pytest

from e2elib import CONTEXT, FIGURES, cluster_answers


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section(f"end-to-end figures ({CONTEXT})")
        for line in FIGURES:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(config, items):
    why = cluster_answers()
    if why:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=why))
