"""What every test suite shares with scripts/lib.sh: the repo, the tool folder, and how to stop a process."""
import os
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The same tool folder and PATH as scripts/lib.sh, so helm, kubectl and friends are the project's pinned ones.
TOOLS = Path(
    os.environ.get("ENVAPP_TOOLS")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "envapp"
)


# Upstream files kept beside the repository for offline checks (../shared: CRDs, kind's containerd config).
# They are read from there, never copied in; ENVAPP_SHARED points elsewhere when the clone lives apart.
SHARED_CANDIDATES = [Path(p) for p in (os.environ.get("ENVAPP_SHARED"),) if p] + [ROOT.parent / "shared", Path("/work/shared")]


def shared_file(relative: str) -> Path:
    """An upstream file from ../shared; fails (never skips) naming where it looked."""
    for folder in SHARED_CANDIDATES:
        if (folder / relative).is_file():
            return folder / relative
    raise FileNotFoundError(
        f"{relative} not found in {', '.join(map(str, SHARED_CANDIDATES))}: set ENVAPP_SHARED to the folder holding crds/ and kind/"
    )


def use_project_tools() -> None:
    os.environ["PATH"] = os.pathsep.join([str(TOOLS / "bin"), str(TOOLS / "venv" / "bin"), os.environ["PATH"]])
    # helm's cache and plugins may live in the tool folder; its config (registry logins, repositories) never:
    # the scripts must work with the user's own `helm registry login` (HELM_CONFIG_HOME stays as the user set it).
    for kind in ("CACHE", "DATA"):
        os.environ[f"HELM_{kind}_HOME"] = str(TOOLS / "helm" / kind.lower())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Stops a server we started: politely, then for sure."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
