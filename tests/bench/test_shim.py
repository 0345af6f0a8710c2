"""bench/shim.py: the real containerd-shim-spin under a private containerd.

The security settings become the ctr flags a pod's securityContext means; the run on the real shim needs
root and containerd, ctr and containerd-shim-spin-v2 on PATH (docs/benchmarks.md) and is skipped, saying
so, where they are not.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from projectenv import ROOT

SHIM_PY = ROOT / "bench/shim.py"


def test_drop_all_drops_every_capability_but_the_added_ones(shim):
    flags = shim.Security(cap_drop=["ALL"], cap_add=["NET_BIND_SERVICE"]).ctr_flags()
    dropped = {flags[i + 1] for i, f in enumerate(flags) if f == "--cap-drop"}
    assert dropped == {f"CAP_{c}" for c in shim.CAPABILITIES} - {"CAP_NET_BIND_SERVICE"}
    assert flags[:2] == ["--cap-add", "CAP_NET_BIND_SERVICE"]


def test_pod_settings_become_ctr_flags(shim):
    security = shim.Security(user="65534:65534", cap_drop=["cap_net_raw"], read_only=True, seccomp=True,
                             mounts=["type=tmpfs,src=tmpfs,dst=/.spin,options=rw"])
    assert security.ctr_flags() == ["--user", "65534:65534", "--cap-drop", "CAP_NET_RAW", "--read-only",
                                    "--mount", "type=tmpfs,src=tmpfs,dst=/.spin,options=rw", "--seccomp"]


def test_an_unknown_capability_is_refused_by_name(shim):
    with pytest.raises(ValueError, match="NET_BIND"):
        shim.Security(cap_add=["NET_BIND"]).ctr_flags()


def test_capability_sets_are_read_from_the_kernel(shim):
    status = shim.proc_status(os.getpid())
    own = dict(line.split(":\t", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":\t" in line)
    assert status["uid"] == os.geteuid() and status["CapEff"] == own["CapEff"].strip()
    assert status["CapEff_names"] == shim.cap_names(int(own["CapEff"], 16))
    assert shim.cap_names(0x400) == ["NET_BIND_SERVICE"] and shim.cap_names(0) == []


def test_check_names_each_missing_tool(tmp_path):
    # An empty PATH: nothing of containerd's is found, whatever this machine has.
    out = subprocess.run([sys.executable, str(SHIM_PY), "check"], capture_output=True, text=True,
                         env={"PATH": str(tmp_path)})
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert report["can_run"] is False
    for tool in ("containerd", "ctr", "containerd-shim-spin-v2"):
        assert f"{tool} not on PATH" in report["missing"]


def needs_the_real_shim(shim):
    why = shim.missing_tools()
    if why:
        pytest.skip("the real shim is not here: " + "; ".join(why))


def test_chart_settings_on_the_real_shim_run_as_65534_and_answer(shim):
    needs_the_real_shim(shim)
    out = subprocess.run([sys.executable, str(SHIM_PY), "run", "--user", "65534:65534", "--seccomp",
                          "--env", "PROD=true", "--get", "/env", "--get", "/healthz"],
                         capture_output=True, text=True, timeout=300)
    report = json.loads(out.stdout)
    assert out.returncode == 0, (report, out.stderr)
    assert report["state"] == "RUNNING"
    assert (report["process"]["uid"], report["process"]["gid"]) == (65534, 65534)
    assert report["process"]["NoNewPrivs"] == 1 and report["process"]["Seccomp"] == 2
    assert json.loads(report["get"]["/env"]["body"])["PROD"] == "true"


def test_the_private_containerd_leaves_nothing_behind(shim):
    needs_the_real_shim(shim)
    with shim.Containerd() as containerd:
        ref = containerd.import_spin_toml(ROOT / "bench/floor/spin.toml", "floor")
        port = shim.free_port()
        container = containerd.run(ref, "leftovers", {"SPIN_HTTP_LISTEN_ADDR": f"127.0.0.1:{port}"})
        container.wait_ready(f"http://127.0.0.1:{port}/")
        folder, shims, pid, namespace = containerd.dir, containerd.shim_pids(), container.pid, containerd.namespace
        assert shims and pid
    assert not folder.exists() and not shim.mounts_under(folder)
    assert not (shim.SHIM_STATE / namespace).exists()
    for hierarchy in shim.cgroup_mounts():
        assert not Path(hierarchy, namespace).exists(), hierarchy
    for gone in shims + [pid]:
        assert not alive(gone), gone


def alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for an init that does not reap (as in some sandboxes)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
