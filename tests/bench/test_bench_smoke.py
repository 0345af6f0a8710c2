"""`make bench-smoke`: the whole benchmark, short, so it cannot rot.

Runs scripts/bench.sh --smoke as `make bench-smoke` does (the real servers on loopback, the real load generator,
and spin or the shim when this machine has them), checks what a reader of bench/results/latest.md relies on, and
that it leaves the committed report alone.
"""

import hashlib
import json
import os
import shutil
import subprocess

import pytest

from projectenv import ROOT

# Always benched: envapp (/env and /healthz) and the floor on envapp-host, the native server, Flask.
ALWAYS = {"envapp-host:envapp", "envapp-host:healthz", "envapp-host:floor", "native", "flask"}
FLOOR_BODY = len('{"PROD":"true"}\n')
HEALTHZ_BODY = len('{"status":"ok"}\n')
COMMITTED = ROOT / "bench" / "results"


def digests(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def smoke():
    committed = digests(COMMITTED)
    # Generous: a cold machine builds the floor and the native server first; a warm one takes about 30 s.
    subprocess.run([str(ROOT / "scripts/bench.sh"), "--smoke"], check=True, timeout=900)
    out = ROOT / "target" / "bench" / "smoke"
    return out, json.loads((out / "latest.json").read_text()), committed


def test_the_smoke_run_writes_its_own_report_and_leaves_the_committed_one_alone(smoke):
    out, _, before = smoke
    assert {"latest.md", "latest.json", "latest.png"} <= set(digests(out))
    assert digests(COMMITTED) == before


def test_every_server_serves_the_load_with_no_errors(smoke):
    _, results, _ = smoke
    assert ALWAYS <= set(results["summary"])
    for name, server in results["summary"].items():
        for conns, level in server["levels"].items():
            assert level["errors"] == 0, (name, conns, level)
            assert level["requests"] > 0 and level["rps"]["median"] > 0, (name, conns)
            assert level["rss"]["median"] > 0, (name, conns)


def test_every_envapp_answers_the_same_pod_report_and_the_floor_its_constant(smoke):
    """Each envapp reads the same pod_variables (native: the same logic), so all send one body, a pod's report;
    the floor its constant, /healthz its status. Flask sends its whole process env."""
    _, results, _ = smoke
    sizes = {name: s["body_size"] for name, s in results["summary"].items()}
    envapp = {sizes[name] for name in sizes if name.endswith(":envapp") or name == "native"}
    assert len(envapp) == 1 and envapp.pop() > 400, sizes
    for name, size in sizes.items():
        if name.endswith(":floor"):
            assert size == FLOOR_BODY, (name, size)
        if name.endswith(":healthz"):
            assert size == HEALTHZ_BODY, (name, size)


def test_report_gives_envapp_as_a_percentage_of_the_floor_per_host_and_level(smoke):
    out, results, _ = smoke
    report = (out / "latest.md").read_text()
    levels = results["params"]["levels"]
    ratios = results["floor_ratio"]["envapp-host"]
    summary = results["summary"]
    for c in levels:
        envapp = summary["envapp-host:envapp"]["levels"][str(c)]["rps"]["median"]
        floor = summary["envapp-host:floor"]["levels"][str(c)]["rps"]["median"]
        assert ratios[str(c)]["median"] == pytest.approx(envapp / floor)
    row = next(line for line in report.splitlines() if line.startswith("| envapp-host | /env ÷ floor |"))
    assert row == "| envapp-host | /env ÷ floor | " + " | ".join(f"{ratios[str(c)]['median']:.2f}×" for c in levels) + " |"
    for path, key in (("/healthz ÷ floor", "healthz_floor_ratio"), ("/env ÷ Flask", "flask_ratio")):
        assert f"| envapp-host | {path} |" in report and set(results[key]["envapp-host"]) == {str(c) for c in levels}


def test_spin_and_the_shim_are_benched_exactly_when_they_are_here(smoke):
    out, results, _ = smoke
    report = (out / "latest.md").read_text()
    here = {"spin": shutil.which("spin") is not None,
            "shim": all(shutil.which(t) for t in ("containerd", "ctr", "containerd-shim-spin-v2")) and os.geteuid() == 0}
    for host, present in here.items():
        rows = {f"{host}:envapp", f"{host}:healthz", f"{host}:floor"}
        assert rows <= set(results["summary"]) if present else not rows & set(results["summary"]), host
        if present:
            assert host in results["floor_ratio"] and host not in results["skipped"], host
        else:
            # Said, with the reason, rather than silently left out.
            assert f"{results['skipped'][host]}." in report, host


def test_servers_and_load_generator_run_on_separate_cpus(smoke):
    out, results, _ = smoke
    pinning = results["params"]["pinning"]
    if len(os.sched_getaffinity(0)) < 2:
        assert pinning == {"server_cpus": "", "load_cpus": ""}
        assert "not pinned" in (out / "latest.md").read_text()
        return
    server, load = (set(pinning[k].split(",")) for k in ("server_cpus", "load_cpus"))
    assert server and load and not server & load
    assert f"pinned to CPU {pinning['server_cpus']}" in (out / "latest.md").read_text()


def test_report_has_memory_and_start_up_for_every_server(smoke):
    out, results, _ = smoke
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
    out, _, _ = smoke
    assert (out / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
