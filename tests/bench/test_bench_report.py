"""The report's rules on numbers it is given: what is quoted, what is flagged, how envapp compares to the floor."""

import pytest


def run_with(bench, rps: float, startup: float = 0.1) -> object:
    run = bench.Run(startup=startup, body_size=16, idle_rss=10 << 20, hwm=None)
    run.levels[8] = bench.Level(rps=rps, p50=0.1, p90=0.2, p99=0.3, errors=0, requests=int(rps), rss=20 << 20)
    return run


def report_for(bench, tmp_path, runs: dict[str, list[float]]) -> tuple[str, dict]:
    summary = bench.summarize({name: [run_with(bench, r) for r in rps] for name, rps in runs.items()}, [8])
    servers = {name: {"label": name.replace(":", " on "), "host": name.split(":")[0], "note": ""} for name in runs}
    ratios = {"floor": bench.run_ratios(summary, [8], "envapp", "floor"),
              "healthz": bench.run_ratios(summary, [8], "healthz", "floor"),
              "flask": bench.run_ratios(summary, [8], "envapp", "flask")}
    params = {"date": "today", "mode": "full", "runs": 3, "duration": 6, "warmup": 2, "elapsed": 1, "load": "0"}
    info = {"pinning": "servers pinned to CPU 0, wrk to CPU 1 (taskset)"}
    bench.write_markdown(tmp_path / "latest.md", summary, servers, [8], ratios, {}, [], info, params)
    return (tmp_path / "latest.md").read_text(), ratios["floor"]


def row(report: str, label: str) -> str:
    return next(line for line in report.splitlines() if line.startswith(f"| {label} |"))


def test_a_steady_row_is_quoted_with_its_spread(bench, tmp_path):
    report, _ = report_for(bench, tmp_path, {"envapp-host:envapp": [900, 1000, 1100]})
    assert row(report, "envapp-host on envapp").startswith("| envapp-host on envapp | 1,000 | ±10% | 0.100 |")


def test_a_row_that_varies_more_than_15_percent_is_flagged_not_quoted(bench, tmp_path):
    report, _ = report_for(bench, tmp_path, {"envapp-host:envapp": [800, 1000, 1200]})
    line = row(report, "envapp-host on envapp")
    assert line.startswith("| envapp-host on envapp | ⚠ not quoted | ±20% | - | - | - |")
    assert "1,000" not in line


def test_envapp_is_shown_as_a_percentage_of_the_floor_on_the_same_host(bench, tmp_path):
    report, ratios = report_for(bench, tmp_path, {"envapp-host:envapp": [900, 900, 900],
                                                  "envapp-host:floor": [1000, 1000, 1000],
                                                  "native": [5000, 5000, 5000]})
    assert ratios["envapp-host"][8]["median"] == pytest.approx(0.9)
    assert "| envapp-host | /env ÷ floor | 0.90× ±0% |" in report


def test_ratios_are_taken_run_by_run_so_a_drifting_machine_cancels_out(bench, tmp_path):
    # Both servers slow down together in run 2: each row's spread is ±33%, the ratio's none.
    report, ratios = report_for(bench, tmp_path, {"envapp-host:envapp": [900, 450, 900],
                                                  "envapp-host:floor": [1000, 500, 1000]})
    assert ratios["envapp-host"][8]["median"] == pytest.approx(0.9) and not ratios["envapp-host"][8]["flagged"]
    assert "| envapp-host | /env ÷ floor | 0.90× ±0% |" in report


def test_healthz_is_shown_against_the_floor_and_env_against_flask(bench, tmp_path):
    report, _ = report_for(bench, tmp_path, {"envapp-host:envapp": [900, 900, 900],
                                             "envapp-host:healthz": [950, 950, 950],
                                             "envapp-host:floor": [1000, 1000, 1000],
                                             "flask": [600, 600, 600]})
    assert "| envapp-host | /healthz ÷ floor | 0.95× ±0% |" in report
    assert "| envapp-host | /env ÷ Flask | 1.50× ±0% |" in report


def test_no_ratio_is_given_when_the_runs_ratios_vary_too_much(bench, tmp_path):
    report, ratios = report_for(bench, tmp_path, {"envapp-host:envapp": [900, 900, 900],
                                                  "envapp-host:floor": [500, 1000, 1500]})
    assert ratios["envapp-host"][8]["flagged"]
    assert "| envapp-host | /env ÷ floor | ⚠ not quoted |" in report


def test_servers_and_load_get_disjoint_cpus(bench):
    pins = bench.split_cpus()
    if pins.server:
        assert not set(pins.server.split(",")) & set(pins.load.split(","))
        assert bench.pinned(["wrk"], pins.load) == ["taskset", "-c", pins.load, "wrk"]
    else:
        assert "not pinned" in pins.note

