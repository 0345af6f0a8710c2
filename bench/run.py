#!/usr/bin/env python3
"""The benchmark: the component on its wasm host, the same logic as a native server, and the seed's
Flask service, measured side by side on loopback with wrk. Run it through scripts/bench.sh, which
builds everything first and passes the paths in the environment (BENCH_* below).

For each run and each server, in turn: start it on a free 127.0.0.1 port, time process start to the
first 200 from GET /env, check the body, warm up, drive GET /env at each concurrency for a fixed
time, check the body again, stop it. Medians over runs are reported with their min-max spread.
Writes OUT/latest.md, OUT/latest.png and OUT/latest.json.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(os.environ.get("BENCH_ROOT", Path(__file__).resolve().parent.parent))
WASM = Path(os.environ.get("BENCH_WASM", ROOT / "target/wasm32-wasip1/release/envapp.wasm"))
HOST_BIN = Path(os.environ.get("BENCH_HOST_BIN", "envapp-host"))
NATIVE_BIN = Path(os.environ.get("BENCH_NATIVE_BIN", "envapp-native"))
WRK = os.environ.get("BENCH_WRK", "wrk")
# wrk threads: one per core at most, the server needs the rest of the machine.
WRK_THREADS = 2
VENV = Path(sys.prefix)
CORES = os.cpu_count() or 1
# gunicorn's documented starting point for sync workers: (2 x cores) + 1.
GUNICORN_WORKERS = 2 * CORES + 1


@dataclass
class Server:
    """One thing under test: how to start it on a port, with a clean environment."""

    name: str
    label: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path = ROOT
    note: str = ""


def servers(port: int) -> list[Server]:
    listen = f"127.0.0.1:{port}"
    # Every server gets only what it needs, so each answers with the same small report:
    # the component's WASI env is empty (spin.toml `environment = {}`), PROD comes in as Spin does it.
    spin_vars = {"SPIN_VARIABLE_PROD": "true"}
    found = [
        Server("wasm", "wasm (envapp-host)", [str(HOST_BIN), "--listen", listen, str(ROOT / "spin.toml")], spin_vars,
               note="the shipped .wasm, one fresh instance per request, wasmtime 48"),
    ]
    spin = shutil.which("spin")
    if spin:
        found.append(Server("spin", "wasm (spin up)", [spin, "up", "--listen", listen, "-f", str(ROOT / "spin.toml")],
                            {**spin_vars, "HOME": os.environ.get("HOME", "/tmp")}))
    found += [
        Server("native", "native (hyper)", [str(NATIVE_BIN), "--listen", listen], spin_vars,
               note="envapp::route natively, same hyper 1 + tokio stack as envapp-host"),
        Server("flask", "Flask (gunicorn)",
               [str(VENV / "bin/gunicorn"), "--workers", str(GUNICORN_WORKERS), "--bind", listen, "app:app"],
               {"PROD": "true"}, cwd=ROOT / "bench/flask",
               note=f"the seed's service, gunicorn sync workers = 2 x cores + 1 = {GUNICORN_WORKERS}"),
    ]
    return found


# ---------------------------------------------------------------------------------------------
# One server, one run


@dataclass
class Level:
    rps: float
    p50: float
    p90: float
    p99: float
    errors: int
    requests: int
    rss: int  # peak resident set of the server's process tree while this level ran, bytes


@dataclass
class Run:
    startup: float  # seconds from process start to the first 200 on GET /env
    body_size: int
    levels: dict[int, Level] = field(default_factory=dict)


def measure(server: Server, port: int, levels: list[int], duration: int, warmup: int) -> Run:
    proc = subprocess.Popen(server.argv, cwd=server.cwd, env=server.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    start = time.monotonic()
    try:
        url = f"http://127.0.0.1:{port}/env"
        startup = wait_ready(url, proc, start)
        body_size = check_body(url, server)
        if warmup > 0:
            load(url, 8, warmup)
        run = Run(startup, body_size)
        for conns in levels:
            with RssSampler(proc.pid) as rss:
                result = load(url, conns, duration)
            run.levels[conns] = Level(rss=rss.peak, **result)
            check_body(url, server)
        return run
    finally:
        stop(proc)


def wait_ready(url: str, proc: subprocess.Popen, start: float, timeout: float = 60.0) -> float:
    """Polls every 2 ms; returns seconds from `start` to the first 200."""
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before answering: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.002)
    raise RuntimeError(f"no answer on {url} within {timeout:.0f} s")


def check_body(url: str, server: Server) -> int:
    """A wrong answer is a failed benchmark, not a fast one: 200, JSON, PROD true. Returns the size."""
    with urllib.request.urlopen(url, timeout=5) as response:
        body = response.read()
        status = response.status
    report = json.loads(body)
    if status != 200 or report.get("PROD") != "true":
        raise RuntimeError(f"{server.label}: GET /env answered {status} {body[:200]!r}, want 200 with PROD=true")
    return len(body)


def load(url: str, conns: int, duration: int) -> dict:
    """Drives GET url for `duration` seconds over `conns` keep-alive connections with wrk."""
    argv = [WRK, f"-c{conns}", f"-t{min(conns, WRK_THREADS)}", f"-d{duration}s", "--timeout", "5s",
            "-s", str(ROOT / "bench/report.lua"), url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    data = json.loads(out.strip().splitlines()[-1])
    # Failed requests and answers that were not 2xx/3xx. (A sync gunicorn worker closes the connection
    # after each answer; wrk reconnects without counting that as an error.)
    errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    return {
        "rps": data["requests"] / (data["duration_us"] / 1e6),
        "p50": data["p50"] / 1000,
        "p90": data["p90"] / 1000,
        "p99": data["p99"] / 1000,
        "errors": errors,
        "requests": data["requests"],
    }


class RssSampler:
    """Samples the summed VmRSS of a process and its descendants every 20 ms; `peak` is the max."""

    def __init__(self, pid: int):
        self.pid, self.peak = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _loop(self):
        while True:
            self.peak = max(self.peak, tree_rss(self.pid))
            if self._stop.wait(0.02):
                return


def tree_rss(root: int) -> int:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def stop(proc: subprocess.Popen):
    """SIGTERM to the server's whole process group (gunicorn's workers too), SIGKILL after 10 s."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        except ProcessLookupError:
            pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# Sizes and the machine


def sizes() -> list[tuple[str, int, str]]:
    rows = [(".wasm (core module, as shipped)", WASM.stat().st_size, str(WASM.relative_to(ROOT)))]
    with tempfile.TemporaryDirectory() as layout:
        # The publish path's own image builder, so this is the layer a node really pulls.
        subprocess.run([sys.executable, str(ROOT / "scripts/oci_image.py"), str(ROOT / "spin.toml"), layout, "bench"],
                       check=True, capture_output=True)
        index = json.loads(Path(layout, "index.json").read_text())
        manifest = json.loads(blob(layout, index["manifests"][0]["digest"]))
        layers = sum(layer["size"] for layer in manifest["layers"])
    rows.append(("OCI image layer (gzip tar of spin.toml + .wasm)", layers, "scripts/oci_image.py"))
    rows.append(("native server binary (stripped release)", NATIVE_BIN.stat().st_size, "bench/native"))
    app = Path(ROOT / "bench/flask/app.py").stat().st_size
    deps = installed_size(["flask", "gunicorn"])
    rows.append(("Flask app + installed dependencies", app + deps,
                 "app.py + Flask, gunicorn and their dependencies (no Python interpreter)"))
    rows.append(("(context) envapp-host binary, the dev wasm host", HOST_BIN.stat().st_size,
                 "not shipped: in a cluster the node's containerd-shim-spin is the host"))
    return rows


def blob(layout: str, digest: str) -> bytes:
    return Path(layout, "blobs", *digest.split(":", 1)).read_bytes()


def installed_size(roots: list[str]) -> int:
    """Bytes of the files the named distributions and everything they require installed."""
    from importlib import metadata

    from packaging.requirements import Requirement  # installed with gunicorn
    from packaging.utils import canonicalize_name

    seen: set[str] = set()
    total, todo = 0, list(roots)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        dist = metadata.distribution(name)
        for f in dist.files or []:
            path = Path(dist.locate_file(f))
            if path.is_file():
                total += path.stat().st_size
        for spec in dist.requires or []:
            req = Requirement(spec)
            # Only what this Python installs: no extras, no backports for older versions.
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return total


def machine() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    from importlib import metadata

    def version(argv: list[str]) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "not found"

    host_toml = (ROOT / "host/Cargo.toml").read_text() if (ROOT / "host/Cargo.toml").exists() else ""
    wasmtime = next((line.split('"=')[1].split('"')[0] for line in host_toml.splitlines()
                     if line.startswith("wasmtime =")), "?")
    return {
        "CPU": f"{cpu}, {CORES} cores",
        "memory": f"{mem / 1024 / 1024:.0f} GiB",
        "kernel": platform.release(),
        "wrk": version([WRK, "--version"]),
        "rustc": version(["rustc", "--version"]),
        "wasmtime (in envapp-host)": wasmtime,
        "spin": version(["spin", "--version"]) if shutil.which("spin") else "not installed: skipped",
        "Python": platform.python_version(),
        "Flask / gunicorn": f"{metadata.version('flask')} / {metadata.version('gunicorn')}",
    }


# ---------------------------------------------------------------------------------------------
# The report


def summarize(runs: dict[str, list[Run]], levels: list[int]) -> dict:
    out = {}
    for name, rs in runs.items():
        s = {"startup_ms": spread([r.startup * 1000 for r in rs]), "body_size": rs[0].body_size, "levels": {}}
        for c in levels:
            lv = [r.levels[c] for r in rs]
            s["levels"][c] = {k: spread([getattr(x, k) for x in lv]) for k in ("rps", "p50", "p90", "p99", "rss")}
            s["levels"][c]["errors"] = sum(x.errors for x in lv)
            s["levels"][c]["requests"] = sum(x.requests for x in lv)
        out[name] = s
    return out


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "all": values}


def pct_spread(s: dict) -> str:
    return f"±{(s['max'] - s['min']) / 2 / s['median'] * 100:.0f}%" if s["median"] else "-"


def write_markdown(path: Path, summary: dict, labels: dict[str, str], notes: dict[str, str], levels: list[int],
                   size_rows, info: dict, params: dict):
    def ratio(a, b, key, c):
        if a not in summary or b not in summary:
            return "-"
        x, y = summary[a]["levels"][c][key]["median"], summary[b]["levels"][c][key]["median"]
        return f"{x / y:.2f}×" if y else "-"

    mib = 1024 * 1024
    lines = [
        "# envapp benchmark: wasm component vs native vs Flask",
        "",
        f"{params['date']} · {params['mode']} · {params['runs']} run(s) × {params['duration']} s per concurrency level, "
        f"{params['warmup']} s warm-up at 8 connections · `GET /env` on 127.0.0.1 with wrk (keep-alive) · "
        f"whole benchmark took {params['elapsed']:.0f} s. Generated by `scripts/bench.sh`; do not edit.",
        "",
        "Cells are the median over runs; *spread* is ±half the min–max range of req/s, relative to the median. "
        "Latency in ms. Peak RSS is the summed resident memory of the server's process tree "
        "(sampled every 20 ms), in MiB. Errors are failed requests plus non-200 answers, summed over runs. "
        f"The load generator shares the machine's cores with the server; machine load: {params['load']}.",
        "",
    ]
    for c in levels:
        lines += [f"### {c} connection{'s' if c > 1 else ''}", "",
                  "| server | req/s | spread | p50 | p90 | p99 | errors | peak RSS |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name, s in summary.items():
            lv = s["levels"][c]
            lines.append(f"| {labels[name]} | {lv['rps']['median']:,.0f} | {pct_spread(lv['rps'])} | "
                         f"{lv['p50']['median']:.3f} | {lv['p90']['median']:.3f} | {lv['p99']['median']:.3f} | "
                         f"{lv['errors']} / {lv['requests']:,} | {lv['rss']['median'] / mib:.1f} |")
        lines += ["", f"wasm/native: req/s {ratio('wasm', 'native', 'rps', c)}, p99 {ratio('wasm', 'native', 'p99', c)} · "
                      f"wasm/Flask: req/s {ratio('wasm', 'flask', 'rps', c)}, p99 {ratio('wasm', 'flask', 'p99', c)}", ""]
    lines += ["### Start-up and response", "",
              "| server | process start → first 200 on /env (ms) | min–max | response body (bytes) |",
              "|---|---:|---:|---:|"]
    for name, s in summary.items():
        st = s["startup_ms"]
        lines.append(f"| {labels[name]} | {st['median']:.0f} | {st['min']:.0f}–{st['max']:.0f} | {s['body_size']} |")
    lines += ["", "### Sizes", "", "| artifact | bytes | KiB | what |", "|---|---:|---:|---|"]
    for label, size, what in size_rows:
        lines.append(f"| {label} | {size:,} | {size / 1024:,.0f} | {what} |")
    lines += ["", "### Servers", ""]
    lines += [f"- **{labels[n]}**: {notes[n]}" for n in summary if notes.get(n)]
    if "spin" not in summary:
        lines.append("- **wasm (spin up)**: skipped, `spin` is not on PATH (it is benched when it is).")
    lines += ["- Every server gets a clean environment holding only PROD (as `SPIN_VARIABLE_PROD` for the Spin ones), "
              "so all answer with the same report, `{\"PROD\": \"true\"}`; each answer is checked (200, JSON, PROD) "
              "before and after every load level.", "", "### Machine and tools", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    path.write_text("\n".join(lines) + "\n")


def write_chart(path: Path, summary: dict, labels: dict[str, str], levels: list[int]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    width = 0.8 / len(names)
    for ax, key, title in ((axes[0], "rps", "requests/s (higher is better)"),
                           (axes[1], "p99", "p99 latency, ms (lower is better)")):
        for i, name in enumerate(names):
            stats = [summary[name]["levels"][c][key] for c in levels]
            med = [s["median"] for s in stats]
            err = [[s["median"] - s["min"] for s in stats], [s["max"] - s["median"] for s in stats]]
            xs = [x + (i - (len(names) - 1) / 2) * width for x in range(len(levels))]
            ax.bar(xs, med, width, yerr=err, capsize=3, label=labels[name])
        ax.set_xticks(range(len(levels)), [f"{c} conn" for c in levels])
        ax.set_yscale("log")
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3, which="both")
    axes[0].legend(fontsize=8)
    fig.suptitle("envapp GET /env: median over runs, bars min–max (log scale)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results", help="where latest.{md,png,json} go")
    ap.add_argument("--smoke", action="store_true", help="one short run at 1 and 8 connections, so it cannot rot")
    ap.add_argument("--runs", type=int, help="runs per server (default 3; smoke 1)")
    ap.add_argument("--duration", type=int, help="seconds of load per level (default 6; smoke 1)")
    ap.add_argument("--levels", help="comma-separated connection counts (default 1,8,32; smoke 1,8)")
    args = ap.parse_args()
    runs_n = args.runs or (1 if args.smoke else 3)
    duration = args.duration or (1 if args.smoke else 6)
    warmup = 1 if args.smoke else 2
    levels = [int(c) for c in (args.levels or ("1,8" if args.smoke else "1,8,32")).split(",")]
    args.out.mkdir(parents=True, exist_ok=True)

    began, load_before = time.monotonic(), os.getloadavg()[0]
    runs: dict[str, list[Run]] = {}
    labels, notes = {}, {}
    # Servers take turns within each run, so a slow drift of the machine spreads over all of them.
    for i in range(runs_n):
        for server in servers(0):
            port = free_port()
            server = next(s for s in servers(port) if s.name == server.name)
            labels[server.name], notes[server.name] = server.label, server.note
            print(f"==> run {i + 1}/{runs_n}: {server.label}", file=sys.stderr, flush=True)
            run = measure(server, port, levels, duration, warmup)
            runs.setdefault(server.name, []).append(run)
            print("    start-up {:.0f} ms; ".format(run.startup * 1000)
                  + "; ".join(f"c={c}: {lv.rps:,.0f} req/s p99 {lv.p99:.2f} ms errors {lv.errors}"
                              for c, lv in run.levels.items()), file=sys.stderr, flush=True)

    summary = summarize(runs, levels)
    params = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "mode": "smoke" if args.smoke else "full", "runs": runs_n, "duration": duration,
              "warmup": warmup, "levels": levels, "elapsed": time.monotonic() - began,
              # Anything else running on the machine shows here and in the spread.
              "load": f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after (1-min load average)"}
    size_rows = sizes()
    info = machine()
    write_markdown(args.out / "latest.md", summary, labels, notes, levels, size_rows, info, params)
    write_chart(args.out / "latest.png", summary, labels, levels)
    (args.out / "latest.json").write_text(json.dumps(
        {"params": params, "machine": info, "sizes": size_rows, "servers": labels, "summary": summary},
        indent=1) + "\n")
    print(f"==> wrote {args.out}/latest.md, latest.png, latest.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
