"""The chart as a package: helm lint, the value files, values.yaml as the manual, its generated README, Chart.yaml."""

import json
import re
import subprocess
import sys

import pytest
import yaml
from chartlib import CHART, ROOT, VALUES_DEV, VALUES_PROD, VALUES_SPINAPP, helm, render


@pytest.mark.parametrize(
    "values",
    [[VALUES_DEV], [VALUES_PROD], [VALUES_SPINAPP, VALUES_DEV], [VALUES_SPINAPP, VALUES_PROD]],
    ids=["dev", "prod", "spinapp-dev", "spinapp-prod"],
)
def test_helm_lint_strict_passes_without_a_note(values):
    args = [arg for path in values for arg in ("-f", str(path))]
    result = helm("lint", "--strict", str(CHART), *args)
    assert result.returncode == 0, result.stdout + result.stderr
    # Not even an [INFO] (such as "icon is recommended").
    assert not re.search(r"^\[(INFO|WARNING|ERROR)\]", result.stdout, re.M), result.stdout


def test_environment_files_hold_only_the_prod_difference():
    assert yaml.safe_load(VALUES_DEV.read_text()) == {"prod": False}
    assert yaml.safe_load(VALUES_PROD.read_text()) == {"prod": True}


def test_dev_and_prod_renders_differ_only_in_the_prod_value(dev_docs, prod_docs):
    def without_prod(docs):
        """The documents with prod blanked in POD_VARIABLES and the WANT_PROD env value, plus the values blanked."""
        seen = []

        def walk(node):
            if isinstance(node, dict):
                if node.get("name") == "WANT_PROD" and "value" in node:
                    seen.append(node["value"])
                    return {**node, "value": "<prod>"}
                if node.get("name") == "POD_VARIABLES":
                    variables = json.loads(node["value"])
                    seen.append(variables["prod"])
                    return {**node, "value": json.dumps({**variables, "prod": "<prod>"})}
                return {k: walk(v) for k, v in node.items()}
            if isinstance(node, list):
                return [walk(v) for v in node]
            return node

        return [walk(d) for d in docs], seen

    dev, dev_prod = without_prod(dev_docs)
    prod, prod_prod = without_prod(prod_docs)
    assert dev == prod
    # prod in the app container's POD_VARIABLES, WANT_PROD on the helm test pod.
    assert dev_prod == ["false", "false"] and prod_prod == ["true", "true"]


# values.yaml: every value has a comment right above it that starts with its name (Helm best practices).
# Keys below these are Kubernetes' own fields (resources, probes, seccompProfile): documented by Kubernetes.
KUBERNETES_SHAPED = {"resources", "requests", "limits", "startupProbe", "livenessProbe", "readinessProbe",
                     "httpGet", "seccompProfile", "capabilities"}


def test_every_value_is_commented_starting_with_its_name():
    lines = (CHART / "values.yaml").read_text().splitlines()
    parents: list[tuple[int, str]] = []
    missing = []
    for i, line in enumerate(lines):
        m = re.match(r"^( *)([A-Za-z][\w.-]*):", line)
        if not m:
            continue
        indent, key = len(m.group(1)), m.group(2)
        parents = [(n, k) for n, k in parents if n < indent]
        path = ".".join([k for _, k in parents] + [key])
        parents.append((indent, key))
        if any(k in KUBERNETES_SHAPED for _, k in parents[:-1]):
            continue
        above = lines[i - 1].strip() if i else ""
        j = i - 1
        while j >= 0 and lines[j].strip().startswith("#"):  # the first line of the comment block
            above = lines[j].strip()
            j -= 1
        if not (above.startswith(f"# {path} ") or above.startswith(f"# {path}:") or above.startswith(f"# {path}.")):
            missing.append(path)
    assert not missing, f"values without a comment starting with their name: {missing}"


def test_every_value_has_a_schema_entry():
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(values) <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_chart_readme_is_generated_from_values_yaml():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "chart-readme.py"), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_chart_readme_has_a_row_for_every_commented_value():
    readme = (CHART / "README.md").read_text()
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for key in values:
        assert f"| `{key}` |" in readme, key


CHART_META = yaml.safe_load((CHART / "Chart.yaml").read_text())


def test_chart_yaml_has_the_metadata_artifact_hub_and_helm_recommend():
    assert CHART_META["home"].startswith("https://")
    assert CHART_META["sources"] and all(s.startswith("https://") for s in CHART_META["sources"])
    assert all(m["name"] for m in CHART_META["maintainers"])
    # An icon at a tagged path of the Spin repository (checked upstream: docs/static/image/logo.png at v3.6.3).
    assert re.fullmatch(r"https://raw\.githubusercontent\.com/spinframework/spin/v[0-9.]+/docs/static/image/logo\.png",
                        CHART_META["icon"])
    annotations = CHART_META["annotations"]
    links = yaml.safe_load(annotations["artifacthub.io/links"])
    assert all(link["name"] and link["url"].startswith("https://") for link in links)
    changes = yaml.safe_load(annotations["artifacthub.io/changes"])
    assert changes and all(c["kind"] in {"added", "changed", "deprecated", "removed", "fixed", "security"}
                           and c["description"] for c in changes)
    assert annotations["artifacthub.io/license"] == "Apache-2.0"


def test_artifact_hub_lists_the_images_the_chart_renders_by_default():
    listed = {i["image"] for i in yaml.safe_load(CHART_META["annotations"]["artifacthub.io/images"])}
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert listed == {values["test"]["image"]}


@pytest.mark.parametrize("values", [[], [VALUES_SPINAPP]], ids=["deployment", "spinapp"])
def test_every_image_rendered_is_a_value_and_pinned(values):
    docs = render(*values, sets={"hub": "mirror.example.com/team", "image": "env", "tag": "9.9.9",
                                 "test.image": "mirror.example.com/curl:8.11.1"})
    images = set(re.findall(r'"image": "([^"]+)"', json.dumps(docs)))
    assert images == {"mirror.example.com/team/env:9.9.9", "mirror.example.com/curl:8.11.1"}
    assert not any(i.endswith(":latest") for i in images)


def test_license_is_the_apache_license_cargo_toml_declares():
    assert 'license = "Apache-2.0"' in (ROOT / "Cargo.toml").read_text()
    license_text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
