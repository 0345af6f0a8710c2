#!/usr/bin/env python3
"""The benchmark: envapp and the floor (a trivial component with the same SDK) on every wasm host there
is, next to the same logic as a native server and the seed's Flask service, on loopback with wrk. Run it
through scripts/bench.sh, which builds everything first and passes the paths in the environment (BENCH_*).

Hosts: envapp-host (always), `spin up` (when `spin` is on PATH), containerd-shim-spin under a private
containerd (when `containerd`, `ctr` and `containerd-shim-spin-v2` are on PATH and we are root; bench/shim.py).

How it keeps the figures honest:
- servers and load generator on separate CPUs (taskset): servers on the first half, wrk and this script on
  the rest; on one CPU nothing is pinned and the report says so;
- servers take turns within each run (A B C A B C), so a drift of the machine hits all alike;
- medians over runs with the spread (± half the min-max range); a row whose req/s spread exceeds ±15% is
  flagged and not quoted;
- every answer checked (200, JSON, PROD=true) before and after each load level.

For each run and server: start it on a free 127.0.0.1 port, time start to the first 200 on GET /env, check
the body, take the idle RSS, warm up, drive GET /env at each concurrency, stop it (envapp-host then reports
its instances' linear-memory high-water mark). Writes OUT/latest.md, OUT/latest.png and OUT/latest.json.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import shim  # bench/shim.py: run as a script, this file's folder is first on sys.path

ROOT = Path(os.environ.get("BENCH_ROOT", Path(__file__).resolve().parent.parent))
WASM = Path(os.environ.get("BENCH_WASM", ROOT / "target/wasm32-wasip1/release/envapp.wasm"))
FLOOR_TOML = ROOT / "bench/floor/spin.toml"
FLOOR_WASM = ROOT / "bench/floor/target/wasm32-wasip1/release/envapp_floor.wasm"
HOST_BIN = Path(os.environ.get("BENCH_HOST_BIN", "envapp-host"))
NATIVE_BIN = Path(os.environ.get("BENCH_NATIVE_BIN", "envapp-native"))
WRK = os.environ.get("BENCH_WRK", "wrk")
VENV = Path(sys.prefix)
CORES = os.cpu_count() or 1
# gunicorn's documented starting point for sync workers: (2 x cores) + 1.
GUNICORN_WORKERS = 2 * CORES + 1
# A row whose req/s varies more than this between runs is not quoted.
MAX_SPREAD = 0.15
# envapp-host prints this on SIGTERM/SIGINT: the largest linear memory any instance reached.
HWM_LINE = re.compile(r"envapp-host: instance memory high-water mark: (\d+) bytes")
# The wasm hosts, in report order; each serves envapp and the floor.
HOSTS = {"envapp-host": "envapp-host", "spin": "spin up", "shim": "containerd-shim-spin"}
# One pod's facts as the chart's downward API entries and the kubelet give them, and its pod_variables as the chart
# composes it and the kubelet completes it (docs/deploy.md, "What the component is handed"): envapp answers what
# it answers in a pod, with one variable read per request; Flask gets the same facts as its process env.
POD_FACTS = {
    "POD_NAME": "envapp-internal-service-7d9f8c6b5-x2x7q", "POD_NAMESPACE": "prod", "NODE_NAME": "envapp-worker2",
    "POD_IP": "10.244.2.7", "HOST_IP": "172.18.0.3", "POD_UID": "6f1c2a9e-5b7d-4c1e-9a3f-2d8e7b6a5c4d",
    "SERVICE_ACCOUNT": "envapp-internal-service", "CPU_REQUEST_MILLICORES": "100", "CPU_LIMIT_MILLICORES": "1000",
    "MEMORY_REQUEST_MIB": "160", "MEMORY_LIMIT_MIB": "256", "KUBERNETES_SERVICE_HOST": "10.96.0.1",
    "KUBERNETES_SERVICE_PORT": "443",
}
POD_VARIABLES = json.dumps({"prod": "true", "extra_env": "{}", "hostname": POD_FACTS["POD_NAME"],
                            **{name.lower(): value for name, value in POD_FACTS.items()}}, separators=(",", ":"))
# The paths benchmarked: envapp's /env on every server, and on the wasm hosts also its /healthz, which reads no
# variable; the floor answers its constant on any path.
ENV, HEALTHZ = "/env", "/healthz"


# ---------------------------------------------------------------------------------------------
# CPUs: servers on one set, the load generator on another


@dataclass
class Pinning:
    server: str  # taskset CPU list, "" when not pinned
    load: str
    load_cpus: int

    @property
    def note(self) -> str:
        if not self.server:
            return "not pinned: one CPU, so servers and wrk share it"
        return f"servers pinned to CPU {self.server}, wrk and this script to CPU {self.load} (taskset)"


def split_cpus() -> Pinning:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return Pinning("", "", 1)
    load = cpus[len(cpus) - len(cpus) // 2:]
    server = cpus[: len(cpus) - len(load)]
    return Pinning(",".join(map(str, server)), ",".join(map(str, load)), len(load))


def pinned(argv: list[str], cpus: str) -> list[str]:
    return ["taskset", "-c", cpus, *argv] if cpus else argv


# ---------------------------------------------------------------------------------------------
# Servers


class Running:
    """A started server: how to see it, measure it and stop it."""

    started: float

    def wait_ready(self, url: str) -> float: ...
    def rss(self) -> int: ...
    def stop(self) -> str: ...  # returns what the server said on stderr


class Process(Running):
    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, scratch: str = ""):
        self.scratch = scratch  # a temp dir of the server's own, removed when it stops
        self.log = tempfile.TemporaryFile()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=self.log,
                                     start_new_session=True)

    def said(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def wait_ready(self, url: str, timeout: float = 60.0) -> float:
        """Seconds from process start to the first 200 on url."""
        return shim.wait_for_200(url, self.started, timeout, lambda: None if self.proc.poll() is None else
                                 f"exited with {self.proc.returncode} before answering: {self.said()[-2000:]}")

    def rss(self) -> int:
        return tree_rss(self.proc.pid)

    def stop(self) -> str:
        """SIGTERM to the server's whole process group (gunicorn's workers too), SIGKILL after 10 s."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 15)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
            except ProcessLookupError:
                pass
        said = self.said()
        self.log.close()
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
        return said


class ShimContainer(Running):
    """A container on containerd-shim-spin; its RSS is the container's processes (not containerd's or the shim's)."""

    def __init__(self, containerd: shim.Containerd, ref: str, cid: str, env: dict[str, str]):
        self.container = containerd.run(ref, cid, env)
        self.started = self.container.started
        self.pid = 0

    def wait_ready(self, url: str) -> float:
        took = self.container.wait_ready(url)
        # Asked once: the sampler reads RSS every 20 ms, and each `ctr` call costs the load CPU a process.
        self.pid = self.container.pid
        return took

    def rss(self) -> int:
        return tree_rss(self.pid) if self.pid else 0

    def stop(self) -> str:
        self.container.stop()
        return ""


@dataclass
class Server:
    name: str  # "envapp-host:envapp", "shim:floor", "native", ...
    label: str
    host: str  # a key of HOSTS, or "" for native and Flask
    app: str  # "envapp" or "floor" (native and Flask run envapp's logic)
    note: str
    start: Callable[[int], Running]
    path: str = ENV


def available_servers(pins: Pinning, containerd: "shim.Containerd | None", images: dict[str, str]) -> list[Server]:
    # Every server gets a pod's variables, so each envapp answers with the same report, a pod's: the components'
    # WASI env is empty (spin.toml `environment = {}`); pod_variables comes in as Spin or the shim hands it in.
    spin_vars = {"SPIN_VARIABLE_POD_VARIABLES": POD_VARIABLES}
    apps = {"envapp": ROOT / "spin.toml", "floor": FLOOR_TOML}
    found = []

    def host_server(manifest: Path):
        # HOME: envapp-host keeps its compiled-component cache there (~/.cache/envapp/host-cache), so only the
        # first start of a run compiles, as only the first start after a pull does on the shim with Spin's artifact.
        return lambda port: Process(pinned([str(HOST_BIN), "--listen", f"127.0.0.1:{port}", str(manifest)],
                                           pins.server), {**spin_vars, "HOME": os.environ.get("HOME", "/tmp")}, ROOT)

    for app, manifest in apps.items():
        found.append(Server(f"envapp-host:{app}", f"{app} on envapp-host", "envapp-host", app,
                            "one fresh instance per request, as Spin; wasmtime in host/Cargo.toml",
                            host_server(manifest)))
    found.append(Server("envapp-host:healthz", "envapp /healthz on envapp-host", "envapp-host", "envapp",
                        found[-1].note, host_server(apps["envapp"]), HEALTHZ))
    spin = shutil.which("spin")
    if spin:
        def spin_server(manifest: Path):
            def start(port: int) -> Running:
                # A state dir of its own, so `spin up` leaves no .spin/ in the clone.
                state = tempfile.mkdtemp(prefix="envapp-bench-spin-")
                argv = [spin, "up", "--listen", f"127.0.0.1:{port}", "-f", str(manifest), "--state-dir", state]
                return Process(pinned(argv, pins.server), {**spin_vars, "HOME": os.environ.get("HOME", "/tmp")}, ROOT,
                               scratch=state)
            return start

        for app, manifest in apps.items():
            found.append(Server(f"spin:{app}", f"{app} on spin up", "spin", app, "`spin up` of the same spin.toml",
                                spin_server(manifest)))
        found.append(Server("spin:healthz", "envapp /healthz on spin up", "spin", "envapp", found[-1].note,
                            spin_server(apps["envapp"]), HEALTHZ))
    if containerd:
        def shim_server(app: str):
            # The chart's env as the kubelet completes it: the listen address (here on loopback), the facts and
            # POD_VARIABLES, which the shim copies to SPIN_VARIABLE_POD_VARIABLES because spin.toml declares it.
            env = {**POD_FACTS, "POD_VARIABLES": POD_VARIABLES}
            return lambda port: ShimContainer(containerd, images[app], f"{app}-{port}",
                                              {"SPIN_HTTP_LISTEN_ADDR": f"127.0.0.1:{port}", **env})

        note = ("the `make push` image (the .wasm as a wasm layer: compiled at the first start, loaded precompiled "
                "after) in a private containerd (bench/shim.py) on the servers' CPUs, `ctr run --runtime "
                "io.containerd.spin.v2 --net-host` with the chart's env")
        for app in apps:
            found.append(Server(f"shim:{app}", f"{app} on containerd-shim-spin", "shim", app, note, shim_server(app)))
        found.append(Server("shim:healthz", "envapp /healthz on containerd-shim-spin", "shim", "envapp", note,
                            shim_server("envapp"), HEALTHZ))
    found.append(Server("native", "native (hyper)", "", "envapp",
                        "envapp::route natively, same hyper 1 + tokio stack as envapp-host",
                        lambda port: Process(pinned([str(NATIVE_BIN), "--listen", f"127.0.0.1:{port}"], pins.server),
                                             spin_vars, ROOT)))
    found.append(Server("flask", "Flask (gunicorn)", "", "envapp",
                        f"the seed's service, gunicorn sync workers = 2 x cores + 1 = {GUNICORN_WORKERS}",
                        lambda port: Process(pinned([str(VENV / "bin/gunicorn"), "--workers", str(GUNICORN_WORKERS),
                                                     "--bind", f"127.0.0.1:{port}", "app:app"], pins.server),
                                             {"PROD": "true", **POD_FACTS, "HOSTNAME": POD_FACTS["POD_NAME"]},
                                             ROOT / "bench/flask")))
    return found


def skipped_hosts(containerd_why: list[str]) -> dict[str, str]:
    why = {}
    if not shutil.which("spin"):
        why["spin"] = "`spin` is not on PATH"
    if containerd_why:
        why["shim"] = "; ".join(containerd_why)
    return why


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
    rss: int  # peak resident set of the server's processes while this level ran, bytes


@dataclass
class Run:
    startup: float  # seconds from start to the first 200 on GET /env
    body_size: int
    idle_rss: int  # after start-up and one request, before any load
    hwm: int | None = None  # the largest linear memory of any instance, when the host reports it
    levels: dict[int, Level] = field(default_factory=dict)


def measure(server: Server, port: int, levels: list[int], duration: int, warmup: int, pins: Pinning) -> Run:
    url = f"http://127.0.0.1:{port}{server.path}"
    running = server.start(port)
    said = ""
    try:
        startup = running.wait_ready(url)
        body_size = check_body(url, server)
        time.sleep(0.2)  # let start-up work settle before calling it idle
        run = Run(startup, body_size, running.rss())
        if warmup > 0:
            load(url, 8, warmup, pins)
        for conns in levels:
            with RssSampler(running) as rss:
                result = load(url, conns, duration, pins)
            run.levels[conns] = Level(rss=rss.peak, **result)
            check_body(url, server)
    finally:
        said = running.stop()
    found = HWM_LINE.findall(said)
    run.hwm = int(found[-1]) if found else None
    return run


def check_body(url: str, server: Server) -> int:
    """A wrong answer is a failed benchmark, not a fast one: 200 and JSON; /env of envapp with the pod's PROD and
    facts (the floor: PROD true), /healthz status ok. Returns the size."""
    with urllib.request.urlopen(url, timeout=5) as response:
        body = response.read()
        status = response.status
    report = json.loads(body)
    if server.path == HEALTHZ:
        want = {"status": "ok"}
    elif server.app == "floor":
        want = {"PROD": "true"}
    else:
        want = {"PROD": "true", **POD_FACTS}
    if status != 200 or {k: report.get(k) for k in want} != want:
        raise RuntimeError(f"{server.label}: GET {server.path} answered {status} {body[:300]!r}, want 200 with {want}")
    return len(body)


def load(url: str, conns: int, duration: int, pins: Pinning) -> dict:
    """Drives GET url for `duration` seconds over `conns` keep-alive connections with wrk, on the load CPUs."""
    argv = pinned([WRK, f"-c{conns}", f"-t{min(conns, pins.load_cpus)}", f"-d{duration}s", "--timeout", "5s",
                   "-s", str(ROOT / "bench/report.lua"), url], pins.load)
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
    """Samples a running server's RSS every 20 ms; `peak` is the max."""

    def __init__(self, running: Running):
        self.running, self.peak = running, 0
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
            self.peak = max(self.peak, self.running.rss())
            if self._stop.wait(0.02):
                return


def tree_rss(root: int) -> int:
    """The summed VmRSS of a process and its descendants."""
    children: dict[int, list[int]] = {}
    for pid, stat in shim.each_process("stat"):
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(pid)
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
    rows.append(("OCI image layers (gzip tar of /spin.json + the .wasm)", layers, "scripts/oci_image.py"))
    rows.append(("floor .wasm (same SDK and profile, constant answer)", FLOOR_WASM.stat().st_size, "bench/floor"))
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


def machine(skipped: dict[str, str], pins: Pinning) -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    from importlib import metadata

    host_toml = (ROOT / "host/Cargo.toml").read_text() if (ROOT / "host/Cargo.toml").exists() else ""
    wasmtime = next((line.split('"')[1].lstrip("=") for line in host_toml.splitlines()
                     if line.startswith("wasmtime =")), "?")
    info = {
        "CPU": f"{cpu}, {CORES} cores",
        "pinning": pins.note,
        "memory": f"{mem / 1024 / 1024:.0f} GiB",
        "kernel": platform.release(),
        "wrk": shim.first_line([WRK, "--version"]),
        "rustc": shim.first_line(["rustc", "--version"]),
        "wasmtime (in envapp-host)": wasmtime,
        "spin": shim.first_line(["spin", "--version"]) if "spin" not in skipped else f"skipped: {skipped['spin']}",
    }
    if "shim" in skipped:
        info["containerd-shim-spin"] = f"skipped: {skipped['shim']}"
    else:
        info.update(shim.versions())
    info["Python"] = platform.python_version()
    info["Flask / gunicorn"] = f"{metadata.version('flask')} / {metadata.version('gunicorn')}"
    return info


# ---------------------------------------------------------------------------------------------
# The report


def summarize(runs: dict[str, list[Run]], levels: list[int]) -> dict:
    out = {}
    for name, rs in runs.items():
        hwms = [r.hwm for r in rs if r.hwm is not None]
        s = {"startup_ms": spread([r.startup * 1000 for r in rs]), "body_size": rs[0].body_size,
             "idle_rss": spread([r.idle_rss for r in rs]), "hwm": max(hwms) if hwms else None, "levels": {}}
        for c in levels:
            lv = [r.levels[c] for r in rs]
            s["levels"][c] = {k: spread([getattr(x, k) for x in lv]) for k in ("rps", "p50", "p90", "p99", "rss")}
            s["levels"][c]["errors"] = sum(x.errors for x in lv)
            s["levels"][c]["requests"] = sum(x.requests for x in lv)
            s["levels"][c]["flagged"] = too_spread(s["levels"][c]["rps"])
        out[name] = s
    return out


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "all": values}


def relative_spread(s: dict) -> float:
    """± half the min-max range, relative to the median."""
    return (s["max"] - s["min"]) / 2 / s["median"] if s["median"] else 0.0


def too_spread(s: dict) -> bool:
    """Whether the runs disagree too much to quote their median (± more than MAX_SPREAD)."""
    return relative_spread(s) > MAX_SPREAD


def run_ratios(summary: dict, levels: list[int], numerator: str, denominator: str) -> dict[str, dict[int, dict]]:
    """Per host and level, the req/s of the server `{host}:{numerator}` over the req/s of `denominator` (a server of
    the same host, `{host}:floor`, or one of its own, `flask`), run by run: both ran side by side in each run, so
    a drift of the machine between runs cancels out. Each is the spread of those ratios (median, min, max, all),
    flagged when it exceeds MAX_SPREAD."""
    out = {}
    for host in HOSTS:
        a = summary.get(f"{host}:{numerator}")
        b = summary.get(f"{host}:{denominator}") or summary.get(denominator)
        if not a or not b:
            continue
        out[host] = {}
        for c in levels:
            ratios = spread([x / y for x, y in zip(a["levels"][c]["rps"]["all"], b["levels"][c]["rps"]["all"]) if y])
            out[host][c] = {**ratios, "flagged": too_spread(ratios)}
    return out


def ratio_cell(ratio: dict, one_run: bool) -> str:
    if ratio["flagged"]:
        return "⚠ not quoted"
    return f"{ratio['median']:.2f}×" + ("" if one_run else f" ±{relative_spread(ratio) * 100:.0f}%")


def write_markdown(path: Path, summary: dict, servers: dict[str, dict], levels: list[int], ratios: dict,
                   skipped: dict[str, str], size_rows, info: dict, params: dict):
    mib = 1024 * 1024
    conns = [f"{c} connection{'s' if c > 1 else ''}" for c in levels]
    one_run = params["runs"] == 1
    lines = [
        "# envapp benchmark: envapp and the floor on each wasm host, native, Flask",
        "",
        f"{params['date']} · {params['mode']} · {params['runs']} run(s) × {params['duration']} s per concurrency level, "
        f"{params['warmup']} s warm-up at 8 connections · `GET /env` on 127.0.0.1 with wrk (keep-alive) · "
        f"whole benchmark took {params['elapsed']:.0f} s · machine load: {params['load']}. "
        "Generated by `scripts/bench.sh`; do not edit.",
        "",
        f"Method: {info['pinning']}. Servers take turns within each run (A B C A B C), so drift hits all alike. "
        "Cells are medians over runs; *spread* is ± half the min–max range of req/s, relative to the median"
        + (" (one run: no spread measured)" if one_run else "")
        + f"; a row whose spread exceeds ±{MAX_SPREAD * 100:.0f}% is flagged ⚠ and not quoted (its runs are in "
        "latest.json). Latency in ms. RSS is the summed resident memory of the server's processes (for the shim: "
        "the container's processes), sampled every 20 ms, in MiB. Errors are failed requests plus non-200 answers, "
        "summed over runs.",
        "",
        "## envapp as a fraction of the floor, and of Flask",
        "",
        "The floor (bench/floor) is a component with envapp's SDK and release profile but a constant answer "
        "(`{\"PROD\":\"true\"}`) sent in one write: what any component costs the host. envapp's req/s over the "
        "floor's, on the same host in the same run, for `GET /env` (a pod's report: one variable read) and "
        "`GET /healthz` (no variable read); then envapp's `GET /env` over the seed's Flask app's. Each is the median of "
        "the runs' ratios, both servers measured side by side in each run, with their spread (a ratio whose spread "
        "exceeds the limit is not quoted):",
        "",
        "| host | path | " + " | ".join(conns) + " |",
        "|---|---|" + "---:|" * len(levels),
    ]
    for label, table in (("/env ÷ floor", ratios["floor"]), ("/healthz ÷ floor", ratios["healthz"]),
                         ("/env ÷ Flask", ratios["flask"])):
        for host, by_level in table.items():
            cells = [ratio_cell(r, one_run) for r in by_level.values()]
            lines.append(f"| {HOSTS[host]} | {label} | " + " | ".join(cells) + " |")
    for host, why in skipped.items():
        lines.append(f"| {HOSTS[host]} | all | " + " | ".join(["skipped"] * len(levels)) + " |")
    lines += ["", "What a request costs on each host is measured in bench/PROFILE.md (\"What a request costs on "
              "Spin\"): Spin resolves each variable read inside `tokio::task::block_in_place`, a thread hand-off; in a "
              "pod `GET /env` reads one (`pod_variables`), `/healthz` none; envapp-host reads them the same way.", ""]
    if skipped:
        lines += [f"Skipped: {HOSTS[h]}: {why}." for h, why in skipped.items()] + [""]
    for c, title in zip(levels, conns):
        lines += [f"## {title}", "",
                  "| server | req/s | spread | p50 | p90 | p99 | errors | peak RSS |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name, s in summary.items():
            lv = s["levels"][c]
            spread_cell = "-" if one_run else f"±{relative_spread(lv['rps']) * 100:.0f}%"
            if lv["flagged"]:
                figures = f"⚠ not quoted | {spread_cell} | - | - | -"
            else:
                figures = (f"{lv['rps']['median']:,.0f} | {spread_cell} | {lv['p50']['median']:.3f} | "
                           f"{lv['p90']['median']:.3f} | {lv['p99']['median']:.3f}")
            lines.append(f"| {servers[name]['label']} | {figures} | {lv['errors']} / {lv['requests']:,} | "
                         f"{lv['rss']['median'] / mib:.1f} |")
        lines.append("")
    lines += ["## Start-up and memory", "",
              "Start-up: process start (for the shim: `ctr run`) to the first 200 on /env. Idle RSS: after start-up "
              "and one request. Linear memory: the largest any instance reached, where the host reports it.", "",
              "| server | start-up ms | min–max | idle RSS MiB | peak RSS under load MiB | linear memory high-water KiB "
              "| body bytes |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for name, s in summary.items():
        st = s["startup_ms"]
        peak = max(s["levels"][c]["rss"]["max"] for c in levels)
        hwm = f"{s['hwm'] / 1024:,.0f}" if s["hwm"] is not None else "-"
        lines.append(f"| {servers[name]['label']} | {st['median']:.0f} | {st['min']:.0f}–{st['max']:.0f} | "
                     f"{s['idle_rss']['median'] / mib:.1f} | {peak / mib:.1f} | {hwm} | {s['body_size']} |")
    lines += ["", "## Sizes", "", "| artifact | bytes | KiB | what |", "|---|---:|---:|---|"]
    for label, size, what in size_rows:
        lines.append(f"| {label} | {size:,} | {size / 1024:,.0f} | {what} |")
    lines += ["", "## Servers", ""]
    # One line per wasm host (envapp and the floor share it), one per other server.
    notes = {HOSTS.get(s["host"], s["label"]): s["note"] for s in servers.values()}
    lines += [f"- **{label}**: {note}" for label, note in notes.items()]
    lines += ["- Every server gets a clean environment holding one pod's variables: `pod_variables` as the chart "
              "composes it and the kubelet completes it (as `SPIN_VARIABLE_POD_VARIABLES` for `spin up`, envapp-host "
              "and native; as the container env `POD_VARIABLES`, beside the chart's fact variables, for the shim), so "
              "every envapp answers a pod's report, PROD and 14 facts; Flask gets PROD and the same facts as its "
              "process env. Each answer is checked (200, JSON, PROD and the facts; /healthz: status ok) before and "
              "after every load level.",
              "", "## Machine and tools", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    path.write_text("\n".join(lines) + "\n")


def write_chart(path: Path, summary: dict, servers: dict[str, dict], levels: list[int]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    width = 0.8 / len(names)
    for ax, key, title in ((axes[0], "rps", "requests/s (higher is better)"),
                           (axes[1], "p99", "p99 latency, ms (lower is better)")):
        for i, name in enumerate(names):
            stats = [summary[name]["levels"][c][key] for c in levels]
            med = [s["median"] for s in stats]
            err = [[s["median"] - s["min"] for s in stats], [s["max"] - s["median"] for s in stats]]
            xs = [x + (i - (len(names) - 1) / 2) * width for x in range(len(levels))]
            # Flagged rows are drawn hatched: their spread is too wide to quote.
            hatch = ["//" if summary[name]["levels"][c]["flagged"] else "" for c in levels]
            bars = ax.bar(xs, med, width, yerr=err, capsize=3, label=servers[name]["label"])
            for bar, h in zip(bars, hatch):
                bar.set_hatch(h)
        ax.set_xticks(range(len(levels)), [f"{c} conn" for c in levels])
        ax.set_yscale("log")
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3, which="both")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"envapp GET /env: median over runs, bars min–max (log scale; hatched: spread > ±{MAX_SPREAD:.0%})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, help="where latest.{md,png,json} go (default target/bench, smoke: "
                                             "target/bench/smoke; the committed report is bench/results)")
    ap.add_argument("--smoke", action="store_true", help="one short run at 1 and 8 connections, so it cannot rot")
    ap.add_argument("--runs", type=int, help="runs per server (default 3; smoke 1)")
    ap.add_argument("--duration", type=int, help="seconds of load per level (default 6; smoke 1)")
    ap.add_argument("--levels", help="comma-separated connection counts (default 1,8,32; smoke 1,8)")
    ap.add_argument("--servers", help="comma-separated servers or hosts to run, e.g. envapp-host,native or "
                                      "shim:envapp (default: every one available)")
    args = ap.parse_args()
    runs_n = args.runs or (1 if args.smoke else 3)
    duration = args.duration or (1 if args.smoke else 6)
    warmup = 1 if args.smoke else 2
    levels = [int(c) for c in (args.levels or ("1,8" if args.smoke else "1,8,32")).split(",")]
    wanted = set(args.servers.split(",")) if args.servers else None
    args.out = args.out or ROOT / "target/bench" / ("smoke" if args.smoke else "")
    args.out.mkdir(parents=True, exist_ok=True)

    pins = split_cpus()
    if pins.load:
        # This script (wrk's parent, the RSS sampler) stays off the servers' CPUs too.
        os.sched_setaffinity(0, [int(c) for c in pins.load.split(",")])
    began, load_before = time.monotonic(), os.getloadavg()[0]
    containerd_why = shim.missing_tools()
    if wanted is not None and not any(w == "shim" or w.startswith("shim:") for w in wanted):
        containerd_why = containerd_why or ["not asked for (--servers)"]
    with (shim.Containerd(cpus=pins.server) if not containerd_why else contextlib.nullcontext()) as containerd:
        images = {}
        if containerd:
            print("==> containerd-shim-spin: importing the images", file=sys.stderr, flush=True)
            images = {"envapp": containerd.import_spin_toml(ROOT / "spin.toml", "envapp"),
                      "floor": containerd.import_spin_toml(FLOOR_TOML, "floor")}
        chosen = [s for s in available_servers(pins, containerd, images)
                  if wanted is None or s.name in wanted or s.host in wanted]
        if not chosen:
            raise SystemExit(f"error: --servers {args.servers} matches none of the servers available here")
        runs: dict[str, list[Run]] = {}
        # Servers take turns within each run, so a slow drift of the machine spreads over all of them.
        for i in range(runs_n):
            for server in chosen:
                port = shim.free_port()
                print(f"==> run {i + 1}/{runs_n}: {server.label}", file=sys.stderr, flush=True)
                run = measure(server, port, levels, duration, warmup, pins)
                runs.setdefault(server.name, []).append(run)
                print(f"    start-up {run.startup * 1000:.0f} ms; idle RSS {run.idle_rss / 2**20:.1f} MiB; "
                      + "; ".join(f"c={c}: {lv.rps:,.0f} req/s p99 {lv.p99:.2f} ms errors {lv.errors}"
                                  for c, lv in run.levels.items()), file=sys.stderr, flush=True)

    servers = {s.name: {"label": s.label, "host": s.host, "app": s.app, "note": s.note} for s in chosen}
    skipped = {h: why for h, why in skipped_hosts(containerd_why).items()
               if wanted is None or h in wanted or any(w.startswith(f"{h}:") for w in wanted)}
    summary = summarize(runs, levels)
    ratios = {"floor": run_ratios(summary, levels, "envapp", "floor"),
              "healthz": run_ratios(summary, levels, "healthz", "floor"),
              "flask": run_ratios(summary, levels, "envapp", "flask")}
    params = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "mode": "smoke" if args.smoke else "full", "runs": runs_n, "duration": duration,
              "warmup": warmup, "levels": levels, "elapsed": time.monotonic() - began,
              "pinning": {"server_cpus": pins.server, "load_cpus": pins.load},
              # Anything else running on the machine shows here and in the spread.
              "load": f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after (1-min load average)"}
    size_rows = sizes()
    info = machine(skipped, pins)
    write_markdown(args.out / "latest.md", summary, servers, levels, ratios, skipped, size_rows, info, params)
    write_chart(args.out / "latest.png", summary, servers, levels)
    (args.out / "latest.json").write_text(json.dumps(
        {"params": params, "machine": info, "sizes": size_rows, "servers": servers, "skipped": skipped,
         "floor_ratio": ratios["floor"], "healthz_floor_ratio": ratios["healthz"], "flask_ratio": ratios["flask"],
         "summary": summary}, indent=1) + "\n")
    print(f"==> wrote {args.out}/latest.md, latest.png, latest.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
