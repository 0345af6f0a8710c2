"""`make bench-smoke`: the whole benchmark, short, so it cannot rot.

Runs scripts/bench.sh --smoke into a temporary folder (the real servers on loopback, the real load
generator, and spin or the shim when this machine has them) and checks what a reader of
bench/results/latest.md relies on.
"""

import json
import os
import shutil
import subprocess

import pytest

from projectenv import ROOT

# Always benched: envapp and the floor on envapp-host, the native server, Flask.
ALWAYS = {"envapp-host:envapp", "envapp-host:floor", "native", "flask"}
ONE_WRITE_BODY = len('{"PROD":"true"}\n')


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    # Generous: a cold machine builds the floor and the native server first; a warm one takes about 30 s.
    subprocess.run([str(ROOT / "scripts/bench.sh"), "--smoke", "--out", str(out)], check=True, timeout=900)
    return out, json.loads((out / "latest.json").read_text())


def test_every_server_serves_the_load_with_no_errors(smoke):
    _, results = smoke
    assert ALWAYS <= set(results["summary"])
    for name, server in results["summary"].items():
        for conns, level in server["levels"].items():
            assert level["errors"] == 0, (name, conns, level)
            assert level["requests"] > 0 and level["rps"]["median"] > 0, (name, conns)
            assert level["rss"]["median"] > 0, (name, conns)


def test_envapp_and_the_floor_answer_the_same_bytes(smoke):
    """All see only PROD=true, so envapp, the floor and native send the same body. Flask adds what Python sets;
    in a container envapp also shows the HOSTNAME containerd sets (as a pod's)."""
    _, results = smoke
    sizes = {name: s["body_size"] for name, s in results["summary"].items()}
    for name, size in sizes.items():
        if name not in ("flask", "shim:envapp"):
            assert size == ONE_WRITE_BODY, (name, size)
    assert sizes["flask"] < 200 and sizes.get("shim:envapp", 0) < 200


def test_report_gives_envapp_as_a_percentage_of_the_floor_per_host_and_level(smoke):
    out, results = smoke
    report = (out / "latest.md").read_text()
    levels = results["params"]["levels"]
    ratios = results["floor_ratio"]["envapp-host"]
    summary = results["summary"]
    for c in levels:
        envapp = summary["envapp-host:envapp"]["levels"][str(c)]["rps"]["median"]
        floor = summary["envapp-host:floor"]["levels"][str(c)]["rps"]["median"]
        assert ratios[str(c)] == pytest.approx(envapp / floor)
    row = next(line for line in report.splitlines() if line.startswith("| envapp-host |"))
    assert row == "| envapp-host | " + " | ".join(f"{ratios[str(c)] * 100:.0f}%" for c in levels) + " |"


def test_spin_and_the_shim_are_benched_exactly_when_they_are_here(smoke):
    out, results = smoke
    report = (out / "latest.md").read_text()
    here = {"spin": shutil.which("spin") is not None,
            "shim": all(shutil.which(t) for t in ("containerd", "ctr", "containerd-shim-spin-v2")) and os.geteuid() == 0}
    for host, present in here.items():
        assert {f"{host}:envapp", f"{host}:floor"} <= set(results["summary"]) if present \
            else not {f"{host}:envapp", f"{host}:floor"} & set(results["summary"]), host
        if present:
            assert host in results["floor_ratio"] and host not in results["skipped"], host
        else:
            # Said, with the reason, rather than silently left out.
            assert f"{results['skipped'][host]}." in report, host


def test_servers_and_load_generator_run_on_separate_cpus(smoke):
    out, results = smoke
    pinning = results["params"]["pinning"]
    if len(os.sched_getaffinity(0)) < 2:
        assert pinning == {"server_cpus": "", "load_cpus": ""}
        assert "not pinned" in (out / "latest.md").read_text()
        return
    server, load = (set(pinning[k].split(",")) for k in ("server_cpus", "load_cpus"))
    assert server and load and not server & load
    assert f"pinned to CPU {pinning['server_cpus']}" in (out / "latest.md").read_text()


def test_report_has_memory_and_start_up_for_every_server(smoke):
    out, results = smoke
    report = (out / "latest.md").read_text()
    levels = results["params"]["levels"]
    for name, server in results["summary"].items():
        label = results["servers"][name]["label"]
        # One row per concurrency table, plus the start-up and memory table.
        assert report.count(f"| {label} |") == len(levels) + 1, label
        assert server["idle_rss"]["median"] > 0 and server["startup_ms"]["median"] > 0, name
    for name in ("envapp-host:envapp", "envapp-host:floor"):
        # envapp-host reports the largest linear memory an instance reached when it stops.
        assert results["summary"][name]["hwm"] >= 64 * 1024, name
    assert "OCI image layer" in report and "floor .wasm" in report and "Flask app + installed dependencies" in report


def test_chart_is_a_png(smoke):
    out, _ = smoke
    assert (out / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
