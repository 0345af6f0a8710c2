"""What every test suite shares with scripts/lib.sh: the repo, the tool folder, and how to stop a process."""
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The same tool folder and PATH as scripts/lib.sh, so helm, kubectl and friends are the project's pinned ones.
TOOLS = Path(
    os.environ.get("ENVAPP_TOOLS")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "envapp"
)


def use_project_tools() -> None:
    os.environ["PATH"] = os.pathsep.join([str(TOOLS / "bin"), str(TOOLS / "venv" / "bin"), os.environ["PATH"]])
    for kind in ("CACHE", "CONFIG", "DATA"):
        os.environ[f"HELM_{kind}_HOME"] = str(TOOLS / "helm" / kind.lower())


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Stops a server we started: politely, then for sure."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
