"""`make bench-smoke`: the whole benchmark, short, so it cannot rot.

Runs scripts/bench.sh --smoke into a temporary folder (the real servers on loopback, the real load
generator) and checks what a reader of bench/results/latest.md relies on.
"""

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVERS = {"wasm": "wasm (envapp-host)", "native": "native (hyper)", "flask": "Flask (gunicorn)"}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    # Generous: a cold machine builds the native server first; a warm one takes about 20 s.
    subprocess.run([str(ROOT / "scripts/bench.sh"), "--smoke", "--out", str(out)], check=True, timeout=900)
    return out, json.loads((out / "latest.json").read_text())


def test_every_server_serves_the_load_with_no_errors(smoke):
    _, results = smoke
    assert set(SERVERS) <= set(results["summary"])
    for name in SERVERS:
        for conns, level in results["summary"][name]["levels"].items():
            assert level["errors"] == 0, (name, conns, level)
            assert level["requests"] > 0 and level["rps"]["median"] > 0, (name, conns)
            assert level["rss"]["median"] > 0, (name, conns)


def test_every_server_answers_the_same_report(smoke):
    """All see only PROD=true, so the bodies are small and comparable (Flask adds what Python sets)."""
    _, results = smoke
    sizes = {name: results["summary"][name]["body_size"] for name in SERVERS}
    assert sizes["wasm"] == sizes["native"] == len('{"PROD":"true"}\n')
    assert sizes["flask"] < 200


def test_report_has_a_row_per_server_at_each_level_with_ratios(smoke):
    out, results = smoke
    report = (out / "latest.md").read_text()
    levels = results["params"]["levels"]
    for label in SERVERS.values():
        # One row per concurrency table, plus the start-up table.
        assert report.count(f"| {label} |") == len(levels) + 1, label
    assert report.count("wasm/native: req/s") == len(levels)
    assert "OCI image layer" in report and "Flask app + installed dependencies" in report


def test_chart_is_a_png(smoke):
    out, _ = smoke
    assert (out / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
