"""`make push-chart` (scripts/push-chart.sh) to a real registry, pulled back with `helm pull oci://`."""

import re
import shutil
import subprocess
import tarfile

import pytest
import yaml

from projectenv import free_port
from publishlib import CHART, CRATE_VERSION, last_line, run_script


def helm(*args: str) -> subprocess.CompletedProcess:
    path = shutil.which("helm")
    if path is None:
        pytest.fail("helm not found: run `make setup` (scripts/setup-k8s-tools.sh)")
    result = subprocess.run([path, *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def test_chart_app_version_is_the_crate_version():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert str(chart["appVersion"]) == CRATE_VERSION


def test_chart_pulled_from_oci_renders_the_pushed_image_digest(registry, pushed_image, tmp_path):
    pushed = run_script("push-chart.sh", "--insecure", registry.host)
    assert pushed.returncode == 0, pushed.stderr
    chart_version = str(yaml.safe_load((CHART / "Chart.yaml").read_text())["version"])
    reference = last_line(pushed.stdout)
    match = re.fullmatch(
        rf"oci://{re.escape(registry.host)}/charts/internal-service:{re.escape(chart_version)}@(sha256:[0-9a-f]{{64}})",
        reference,
    )
    assert match, reference

    pulled = helm("pull", f"oci://{registry.host}/charts/internal-service", "--version", chart_version,
                  "--plain-http", "--destination", str(tmp_path))
    assert f"Digest: {match.group(1)}" in pulled.stdout + pulled.stderr
    package = tmp_path / f"internal-service-{chart_version}.tgz"
    print(f"\nchart package: {package.stat().st_size} bytes")
    with tarfile.open(package) as tgz:
        tgz.extractall(tmp_path / "pulled", filter="data")
    pulled_chart = tmp_path / "pulled" / "internal-service"
    assert str(yaml.safe_load((pulled_chart / "Chart.yaml").read_text())["appVersion"]) == CRATE_VERSION

    hub = pushed_image.repository.removesuffix("/envapp")
    rendered = helm("template", "envapp", str(pulled_chart), "--set", f"hub={hub}",
                    "--set", f"digest={pushed_image.digest}").stdout
    (deployment,) = [d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "Deployment"]
    images = [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]]
    assert images == [pushed_image.reference]


def test_chart_push_to_a_registry_that_is_down_fails_and_prints_no_reference():
    closed = f"127.0.0.1:{free_port()}"
    result = run_script("push-chart.sh", "--insecure", closed)
    assert result.returncode != 0
    assert f"helm push to oci://{closed}/charts failed" in result.stderr
    assert "oci://" not in result.stdout


def test_chart_push_to_a_registry_that_refuses_fails_and_prints_no_reference(readonly_registry):
    result = run_script("push-chart.sh", "--insecure", readonly_registry.host)
    assert result.returncode != 0
    assert "failed: is the registry" in result.stderr
    assert "oci://" not in result.stdout
