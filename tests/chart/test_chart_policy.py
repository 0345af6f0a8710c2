"""The policy scanner (checkov) passes on the dev and prod renders, except the checks listed in checkov-skips.yaml."""

import json
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
import yaml
from chartlib import run, tool

SKIPS = yaml.safe_load((Path(__file__).parent / "checkov-skips.yaml").read_text())["skips"]


def skip_for(failure: dict):
    """The skip entry covering a failed check, if any."""
    for skip in SKIPS:
        if skip["check"] == failure["check_id"] and any(fnmatchcase(failure["resource"], r) for r in skip["resources"]):
            return skip
    return None


@pytest.fixture(scope="module")
def checkov_failures(rendered_files) -> list[dict]:
    """checkov's failed checks on both renders, in one run (checkov takes seconds to start)."""
    folder = rendered_files["dev"].parent
    result = run(tool("checkov"), "-d", str(folder), "--framework", "kubernetes",
                 "--output", "json", "--quiet", "--compact", "--skip-download")
    assert result.stdout.strip(), f"checkov produced no report:\n{result.stderr}"
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert any(r["check_type"] == "kubernetes" and r["summary"]["resource_count"] > 0 for r in reports), (
        f"checkov scanned no Kubernetes resources:\n{result.stdout[:2000]}"
    )
    return [f for r in reports for f in r["results"].get("failed_checks", [])]


def test_every_skip_is_justified():
    for skip in SKIPS:
        assert skip["check"].startswith("CKV"), skip
        assert skip["resources"], skip
        assert len(skip.get("reason", "")) > 40, f"{skip['check']} needs a real reason"


def test_checkov_passes_both_renders_apart_from_justified_skips(checkov_failures):
    unexplained = [f"{f['check_id']} {f['check_name']} on {f['resource']} ({f['file_path']})"
                   for f in checkov_failures if skip_for(f) is None]
    assert not unexplained, "checkov failures not in checkov-skips.yaml:\n" + "\n".join(unexplained)


def test_checkov_ran_on_both_renders(checkov_failures):
    assert {Path(f["file_path"]).name for f in checkov_failures} == {"dev.yaml", "prod.yaml"}


def test_no_skip_is_stale(checkov_failures):
    used = {id(skip_for(f)) for f in checkov_failures}
    stale = [s["check"] for s in SKIPS if id(s) not in used]
    assert not stale, f"skips that match no failure any more; remove them from checkov-skips.yaml: {stale}"
