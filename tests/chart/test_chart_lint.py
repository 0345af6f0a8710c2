"""The chart as a package: helm lint, the dev/prod value files, and values.yaml as the manual."""

import re

import pytest
import yaml
from chartlib import CHART, VALUES_DEV, VALUES_PROD, helm


@pytest.mark.parametrize("values", [VALUES_DEV, VALUES_PROD], ids=["dev", "prod"])
def test_helm_lint_strict_passes(values):
    result = helm("lint", "--strict", str(CHART), "-f", str(values))
    assert result.returncode == 0, result.stdout + result.stderr


def test_environment_files_hold_only_the_prod_difference():
    assert yaml.safe_load(VALUES_DEV.read_text()) == {"prod": False}
    assert yaml.safe_load(VALUES_PROD.read_text()) == {"prod": True}


def test_dev_and_prod_renders_differ_only_in_the_prod_value(dev_docs, prod_docs):
    def without_prod(docs):
        """The documents with every PROD / WANT_PROD env value blanked, plus the values blanked."""
        seen = []

        def walk(node):
            if isinstance(node, dict):
                if node.get("name") in ("PROD", "WANT_PROD") and "value" in node:
                    seen.append(node["value"])
                    return {**node, "value": "<prod>"}
                return {k: walk(v) for k, v in node.items()}
            if isinstance(node, list):
                return [walk(v) for v in node]
            return node

        return [walk(d) for d in docs], seen

    dev, dev_prod = without_prod(dev_docs)
    prod, prod_prod = without_prod(prod_docs)
    assert dev == prod
    # PROD on the app container, WANT_PROD on the helm test pod.
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
    import json

    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(values) <= set(schema["properties"])
    assert schema["additionalProperties"] is False
