#!/usr/bin/env python3
"""Runs a Spin app image on the real containerd-shim-spin, under a private containerd.

The benchmark uses it for its real-runtime rows; run on its own, it starts an image with given security
settings (as a pod's securityContext would set them) and reports how the process really runs:

    bench/shim.py check                                    # are the tools here? versions
    bench/shim.py run [--spin-toml F | --layout DIR | --pull REF [--plain-http]]
                      [--env K=V]... [--user UID:GID] [--cap-drop ALL|CAP]... [--cap-add CAP]...
                      [--read-only] [--mount type=bind,src=S,dst=D,options=rbind:rw]...
                      [--seccomp [--seccomp-profile FILE]] [--get PATH]...

`run` prints one JSON object: the container's state (running, or exited with its status), the process's
uid/gid, CapEff/CapPrm/CapBnd (hex and names), NoNewPrivs and Seccomp from /proc/PID/status, each GET's
status and body, and containerd's log lines for the container when it did not come up. Exit status 0 when
the container runs and every GET answered 200.

What it needs: root, and `containerd`, `ctr` and `containerd-shim-spin-v2` on PATH (docs/benchmarks.md
says how to get them without installing a service). containerd >= 1.7.7 to pull Spin's own OCI artifact.

What it touches: a temp dir holding containerd's socket, root, state and config (never the system's
/run/containerd/containerd.sock or /var/lib/containerd); the containerd it starts, the shims that
containerd starts and their containers, all stopped and removed at the end. Two things sit outside the temp
dir because containerd fixes their paths: the shims' sockets in /run/containerd/s/ (named by a hash of the
private socket, so they never clash with a system containerd) and the containers' cgroups; both are
removed with the containers, and /run/containerd itself when this run created it.
"""

import argparse
import ctypes
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = "io.containerd.spin.v2"  # the chart's RuntimeClass handler maps to this runtime type
PLATFORM = "wasip1/wasm"  # what scripts/oci_image.py and `spin registry push` write
TOOLS = ("containerd", "ctr", "containerd-shim-spin-v2")
# Fixed paths outside our temp dir: containerd's shim sockets (/run/containerd/s) and the shim's state
# (containerd-shimkit's default root, /run/containerd/spin/<namespace>). Removed at the end if we made them.
SHIM_STATE = Path("/run/containerd/spin")
RUN_DIRS = (Path("/run/containerd"), Path("/run/containerd/s"), SHIM_STATE)
# Every Linux capability (include/uapi/linux/capability.h, 0..40). ctr's --cap-drop takes names only,
# not ALL, so `drop: [ALL]` is expanded to this list.
CAPABILITIES = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
    "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
    "CHECKPOINT_RESTORE",
]


class ShimError(RuntimeError):
    """containerd or the shim refused something; the message says what and where to look."""


def missing_tools() -> list[str]:
    """Why the shim cannot run here: missing tools (by name) or not root. Empty when it can."""
    why = [f"{tool} not on PATH" for tool in TOOLS if shutil.which(tool) is None]
    if os.geteuid() != 0:
        why.append("not root (containerd and its shims need root)")
    return why


def first_line(argv: list[str]) -> str:
    """The first line a tool prints about itself (on stdout or stderr), or "not found"."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "not found"


def versions() -> dict[str, str]:
    # The shim prints "containerd-shim-spin-v2:" and then indented "Runtime:", "Version:", "Revision:" lines.
    try:
        said = subprocess.run(["containerd-shim-spin-v2", "-v"], capture_output=True, text=True, timeout=10).stdout
        fields = dict(line.strip().split(": ", 1) for line in said.splitlines() if ": " in line)
        shim_version = f"{fields['Version']} (runtime {fields.get('Runtime', '?')}, revision {fields.get('Revision', '?')})"
    except (OSError, KeyError, subprocess.TimeoutExpired):
        shim_version = "not found"
    return {"containerd": first_line(["containerd", "--version"]), "containerd-shim-spin-v2": shim_version}


# ---------------------------------------------------------------------------------------------
# Security settings, as a pod's securityContext names them, turned into ctr's flags


@dataclass
class Security:
    user: str = ""  # "UID:GID"
    cap_drop: list[str] = field(default_factory=list)  # names with or without CAP_, or ALL
    cap_add: list[str] = field(default_factory=list)
    read_only: bool = False
    mounts: list[str] = field(default_factory=list)  # ctr --mount syntax
    seccomp: bool = False  # containerd's default profile (what RuntimeDefault means on containerd)
    seccomp_profile: str = ""

    def ctr_flags(self) -> list[str]:
        """ctr run flags. Added capabilities win over dropped ones, as with Kubernetes' drop: [ALL] + add."""
        flags = []
        if self.user:
            flags += ["--user", self.user]
        add = {cap_name(c) for c in self.cap_add}
        drop = [f"CAP_{c}" for c in CAPABILITIES] if any(c.upper() == "ALL" for c in self.cap_drop) \
            else [cap_name(c) for c in self.cap_drop]
        for cap in sorted(add):
            flags += ["--cap-add", cap]
        for cap in drop:
            if cap not in add:
                flags += ["--cap-drop", cap]
        if self.read_only:
            flags.append("--read-only")
        for mount in self.mounts:
            flags += ["--mount", mount]
        if self.seccomp or self.seccomp_profile:
            flags.append("--seccomp")
        if self.seccomp_profile:
            flags += ["--seccomp-profile", self.seccomp_profile]
        return flags


def cap_name(cap: str) -> str:
    name = cap.upper().removeprefix("CAP_")
    if name not in CAPABILITIES:
        raise ValueError(f"unknown capability {cap!r}: one of {', '.join(CAPABILITIES)} (with or without CAP_), or ALL")
    return f"CAP_{name}"


def cap_names(mask: int) -> list[str]:
    return [CAPABILITIES[bit] for bit in range(len(CAPABILITIES)) if mask >> bit & 1]


def proc_status(pid: int) -> dict:
    """What the kernel says about a process: ids, capability sets, no_new_privs, seccomp mode."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    out = {
        "pid": pid,
        "uid": int(fields["Uid"].split()[1]),  # effective
        "gid": int(fields["Gid"].split()[1]),
        "NoNewPrivs": int(fields.get("NoNewPrivs", "0")),
        # 0 none, 1 strict, 2 filter (a seccomp profile is in force)
        "Seccomp": int(fields.get("Seccomp", "0")),
    }
    for key in ("CapEff", "CapPrm", "CapBnd"):
        out[key] = fields[key]
        out[f"{key}_names"] = cap_names(int(fields[key], 16))
    return out


# ---------------------------------------------------------------------------------------------
# The private containerd


class Containerd:
    """A containerd of our own: socket, root, state and config in a temp dir; stopped and removed on exit.

    cpus: the CPU list to pin containerd to (taskset); its shims and containers inherit it.
    """

    def __init__(self, cpus: str = "", snapshotter: str = "overlayfs"):
        self.cpus, self.snapshotter = cpus, snapshotter
        self.dir = Path(tempfile.mkdtemp(prefix="envapp-containerd-"))
        self.sock = self.dir / "containerd.sock"
        self.log_path = self.dir / "containerd.log"
        # A namespace of our own: the shim keeps per-container state in /run/containerd/spin/<namespace>
        # (containerd-shimkit's fixed default; ctr cannot pass another root to a non-runc runtime).
        self.namespace = f"envapp-bench-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.proc: subprocess.Popen | None = None
        self.containers: list[str] = []  # still to remove
        self.ran: list[str] = []  # every container started, for the shim sockets
        self._run_dirs_before = {d for d in RUN_DIRS if d.exists()}

    def __enter__(self):
        # A SIGTERM (timeout, kill) would end Python without running this block's clean-up: make it an exit.
        self._sigterm = None
        if threading.current_thread() is threading.main_thread():
            self._sigterm = signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        if self._sigterm is not None:
            signal.signal(signal.SIGTERM, self._sigterm)

    def start(self):
        why = missing_tools()
        if why:
            raise ShimError("cannot run containerd-shim-spin: " + "; ".join(why))
        d = self.dir
        # Version 2 is what containerd 1.7 reads (2.x migrates it). Only what a shim needs runs: no CRI,
        # no NRI (the tasks service needs runtime v1 loaded); the `opt` plugin would otherwise create /opt/containerd.
        (d / "config.toml").write_text(f"""version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.nri.v1.nri"]
[grpc]
  address = "{self.sock}"
[ttrpc]
  address = "{self.sock}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
""")
        # containerd finds the shim binary for io.containerd.spin.v2 (containerd-shim-spin-v2) on its PATH.
        argv = ["containerd", "--config", str(d / "config.toml")]
        if self.cpus:
            argv = ["taskset", "-c", self.cpus] + argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self.log_path.open("wb"),
                                     start_new_session=True, preexec_fn=stop_with_parent)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ShimError(f"containerd exited with {self.proc.returncode}: {self.log_tail()}")
            if self.sock.exists() and self.ctr("version", check=False).returncode == 0:
                return
            time.sleep(0.05)
        raise ShimError(f"containerd did not answer on {self.sock} within 20 s: {self.log_tail()}")

    def ctr(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        argv = ["ctr", "--address", str(self.sock), "--namespace", self.namespace, *args]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and out.returncode != 0:
            raise ShimError(f"`{' '.join(argv[5:])}` failed: {(out.stderr or out.stdout).strip()}")
        return out

    def log_tail(self, lines: int = 20, containing: str = "") -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join([l for l in text if containing in l][-lines:])

    # Images

    def import_layout(self, layout: Path, name: str) -> str:
        """Imports an OCI image layout (what scripts/oci_image.py writes) as `name`; returns the reference."""
        index = json.loads((layout / "index.json").read_text())
        tag = index["manifests"][0].get("annotations", {}).get("org.opencontainers.image.ref.name")
        if not tag:
            raise ShimError(f"{layout}/index.json names no tag (org.opencontainers.image.ref.name)")
        archive = self.dir / f"{name.replace('/', '_')}.tar"
        with tarfile.open(archive, "w") as tar:
            for entry in sorted(layout.iterdir()):
                tar.add(entry, arcname=entry.name)
        ref = f"envapp.local/{name}:{tag}"
        self.ctr("images", "import", "--platform", PLATFORM, "--base-name", f"envapp.local/{name}", str(archive))
        archive.unlink()
        return ref

    def import_spin_toml(self, spin_toml: Path, name: str) -> str:
        """Builds the image `make push` pushes (scripts/oci_image.py) from a spin.toml and imports it."""
        layout = self.dir / f"layout-{name}"
        subprocess.run([sys.executable, str(ROOT / "scripts/oci_image.py"), str(spin_toml), str(layout), "bench"],
                       check=True, capture_output=True, text=True)
        ref = self.import_layout(layout, name)
        shutil.rmtree(layout)
        return ref

    def pull(self, ref: str, plain_http: bool = False) -> str:
        """Pulls from a registry (e.g. Spin's own artifact from `make push-spin` to a loopback registry)."""
        self.ctr("images", "pull", "--platform", PLATFORM, *(["--plain-http"] if plain_http else []), ref,
                 timeout=600)
        return ref

    # Containers

    def run(self, ref: str, cid: str, env: dict[str, str], security: Security | None = None) -> "Container":
        """`ctr run -d --runtime io.containerd.spin.v2 --net-host` with the chart's command ["/"]."""
        flags = ["--runtime", RUNTIME, "--net-host", "--snapshotter", self.snapshotter]
        for key, value in env.items():
            flags += ["--env", f"{key}={value}"]
        flags += (security or Security()).ctr_flags()
        self.containers.append(cid)
        self.ran.append(cid)
        started = time.monotonic()
        self.ctr("run", "-d", "--null-io", *flags, ref, cid, "/")
        return Container(self, cid, started)

    def remove(self, cid: str):
        """Kills the task, deletes it and the container with its snapshot. Quietly does what is left to do."""
        self.ctr("tasks", "kill", "--signal", "SIGKILL", cid, check=False)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.ctr("tasks", "delete", cid, check=False).returncode == 0 or not self.task_status(cid):
                break
            time.sleep(0.1)
        self.ctr("containers", "delete", cid, check=False)
        if cid in self.containers:
            self.containers.remove(cid)

    def tasks(self) -> dict[str, tuple[int, str]]:
        """Task id -> (pid, status) from `ctr tasks ls`."""
        out = self.ctr("tasks", "ls", check=False).stdout.splitlines()[1:]
        return {parts[0]: (int(parts[1]), parts[2]) for parts in (line.split() for line in out) if len(parts) >= 3}

    def task_status(self, cid: str) -> str:
        return self.tasks().get(cid, (0, ""))[1]

    def shim_pids(self) -> list[int]:
        """The shims our containerd started: their command line names our private socket."""
        sock = str(self.sock).encode()
        return [pid for pid, cmdline in each_process("cmdline") if sock in cmdline and b"containerd-shim" in cmdline]

    def close(self):
        for cid in list(self.containers):
            try:
                self.remove(cid)
            except (ShimError, subprocess.TimeoutExpired, OSError):
                pass
        # A shim outlives containerd by design; ours go, by pid. A killed shim leaves its socket behind, at the
        # path containerd derives from its address, namespace and container id.
        for pid in self.shim_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for cid in self.ran:
            digest = hashlib.sha256(os.path.join(str(self.sock), self.namespace, cid).encode()).hexdigest()
            Path(RUN_DIRS[1], digest).unlink(missing_ok=True)
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # Snapshot mounts left behind by a container that did not stop cleanly.
        for mount in reversed(mounts_under(self.dir)):
            subprocess.run(["umount", "-l", mount], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(SHIM_STATE / self.namespace, ignore_errors=True)
        # ctr puts each container's cgroup at /<namespace>/<id>: the containers' go with them, the namespace's
        # stays behind, empty, in every hierarchy.
        for hierarchy in cgroup_mounts():
            try:
                Path(hierarchy, self.namespace).rmdir()
            except OSError:
                pass
        for made in sorted(set(RUN_DIRS) - self._run_dirs_before, key=lambda d: -len(d.parts)):
            try:
                made.rmdir()  # only when empty: someone else's containerd may have started using it
            except OSError:
                pass


def stop_with_parent():
    """In the child before exec: SIGTERM it when the process that started it dies, even by SIGKILL."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def each_process(file: str):
    """(pid, bytes of /proc/PID/FILE) for every process that can be read."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                yield int(entry.name), Path(entry.path, file).read_bytes()
            except OSError:
                continue


def wait_for_200(url: str, started: float, timeout: float, gone) -> float:
    """Polls url every 2 ms until it answers 200; returns the seconds since `started` (time.monotonic()).
    `gone()` says why the server can no longer answer (None while it can); that ends the wait with an error."""
    while time.monotonic() - started < timeout:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        why = gone()
        if why:
            raise ShimError(why)
        time.sleep(0.002)
    raise ShimError(f"no answer on {url} within {timeout:.0f} s")


def cgroup_mounts() -> list[str]:
    """Where the cgroup hierarchies (v1, or the one v2) are mounted."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if fields[fields.index("-") + 1] in ("cgroup", "cgroup2"):
            found.append(fields[4])
    return found


def mounts_under(folder: Path) -> list[str]:
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point.startswith(f"{folder}/"):
            found.append(point)
    return found


class Container:
    def __init__(self, containerd: Containerd, cid: str, started: float):
        self.containerd, self.id, self.started = containerd, cid, started

    @property
    def pid(self) -> int:
        return self.containerd.tasks().get(self.id, (0, ""))[0]

    def status(self) -> str:
        """RUNNING, STOPPED, ... or "" when there is no task."""
        return self.containerd.task_status(self.id)

    def failure(self) -> str | None:
        """Why the container is not running (with containerd's log lines about it), or None."""
        status = self.status()
        if status == "RUNNING":
            return None
        return (f"container {self.id} is {status or 'gone'}; containerd's log says:\n"
                + self.containerd.log_tail(containing=self.id))

    def wait_ready(self, url: str, timeout: float = 60.0) -> float:
        """Seconds from `ctr run` to the first 200 on url."""
        return wait_for_200(url, self.started, timeout,
                            lambda: None if self.status() in ("RUNNING", "CREATED") else self.failure())

    def stop(self):
        self.containerd.remove(self.id)


# ---------------------------------------------------------------------------------------------
# CLI


def free_port() -> int:
    """A port nothing listens on now, on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return {"status": response.status, "body": response.read().decode(errors="replace")}
    except urllib.error.HTTPError as err:
        return {"status": err.code, "body": err.read().decode(errors="replace")}
    except OSError as err:
        return {"status": None, "error": str(err)}


def run_command(args) -> int:
    security = Security(user=args.user, cap_drop=args.cap_drop, cap_add=args.cap_add, read_only=args.read_only,
                        mounts=args.mount, seccomp=args.seccomp, seccomp_profile=args.seccomp_profile)
    port = free_port()
    # The chart's env: the listen address (here on loopback) and PROD, plus what the caller adds.
    env = {"SPIN_HTTP_LISTEN_ADDR": f"127.0.0.1:{port}", "PROD": "false"}
    for pair in args.env:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"error: --env takes KEY=VALUE, got {pair!r}")
        env[key] = value
    report: dict = {"settings": {"env": env, "ctr_flags": security.ctr_flags()}}
    with Containerd(snapshotter=args.snapshotter) as containerd:
        if args.pull:
            ref = containerd.pull(args.pull, args.plain_http)
        elif args.layout:
            ref = containerd.import_layout(Path(args.layout), "app")
        else:
            ref = containerd.import_spin_toml(Path(args.spin_toml), "app")
        report["image"] = ref
        container = containerd.run(ref, "envapp-check", env, security)
        base = f"http://{env['SPIN_HTTP_LISTEN_ADDR']}"
        try:
            report["startup_s"] = round(container.wait_ready(base + "/.well-known/spin/health", args.timeout), 3)
        except ShimError as err:
            report["state"] = container.status() or "gone"
            report["error"] = str(err)
        else:
            report["state"] = container.status()
            report["process"] = proc_status(container.pid)
            report["get"] = {path: get(base + path) for path in args.get}
    # One line per list (capability names, ctr flags), so the report reads at a glance.
    print(re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]",
                 json.dumps(report, indent=1)))
    ok = report["state"] == "RUNNING" and all(r.get("status") == 200 for r in report.get("get", {}).values())
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="say whether the shim can run here, and the versions")
    run = sub.add_parser("run", help="run an image with security settings and report how its process runs")
    src = run.add_mutually_exclusive_group()
    src.add_argument("--spin-toml", default=str(ROOT / "spin.toml"),
                     help="build the `make push` image from this spin.toml (default: the repo's)")
    src.add_argument("--layout", help="an OCI image layout folder (scripts/oci_image.py output)")
    src.add_argument("--pull", metavar="REF", help="pull from a registry, e.g. 127.0.0.1:5000/envapp:0.1.0")
    run.add_argument("--plain-http", action="store_true", help="the registry is plain HTTP (loopback)")
    run.add_argument("--env", action="append", default=[], metavar="K=V", help="container env (repeat)")
    run.add_argument("--user", default="", metavar="UID:GID", help="runAsUser:runAsGroup, e.g. 65534:65534")
    run.add_argument("--cap-drop", action="append", default=[], metavar="CAP", help="ALL or a capability (repeat)")
    run.add_argument("--cap-add", action="append", default=[], metavar="CAP", help="a capability (repeat)")
    run.add_argument("--read-only", action="store_true", help="readOnlyRootFilesystem")
    run.add_argument("--mount", action="append", default=[],
                     help="ctr mount, e.g. type=tmpfs,src=tmpfs,dst=/.spin,options=rw (repeat)")
    run.add_argument("--seccomp", action="store_true", help="containerd's default profile (RuntimeDefault)")
    run.add_argument("--seccomp-profile", default="", metavar="FILE", help="a seccomp profile file")
    run.add_argument("--get", action="append", metavar="PATH", help="GET these paths (default /healthz, /env)")
    run.add_argument("--timeout", type=float, default=60, help="seconds to wait for the first answer")
    run.add_argument("--snapshotter", default="overlayfs", help="containerd snapshotter (default overlayfs)")
    args = ap.parse_args()
    if args.command == "check":
        why = missing_tools()
        print(json.dumps({"can_run": not why, "missing": why, **versions()}, indent=1))
        return 0 if not why else 1
    args.get = args.get or ["/healthz", "/env"]
    try:
        return run_command(args)
    except (ShimError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
