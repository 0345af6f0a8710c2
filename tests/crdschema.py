"""Strict offline validation of custom resources against the upstream CRDs in ../shared/crds.

A CRD's `openAPIV3Schema` becomes a JSON schema in which unknown fields are errors (as the API server's
strict field validation reports them), except where the CRD sets `x-kubernetes-preserve-unknown-fields`.
`x-kubernetes-int-or-string` accepts an integer or a string. One function for every suite:

    errors = crd_errors(obj)      # [] when obj is valid; else messages naming the field path
"""
import functools

import jsonschema
import yaml

from projectenv import shared_file

# apiVersion group -> kind -> the CRD file in ../shared/crds.
CRD_FILES = {
    ("core.spinkube.dev", "SpinApp"): "core.spinkube.dev_spinapps.yaml",
    ("core.spinkube.dev", "SpinAppExecutor"): "core.spinkube.dev_spinappexecutors.yaml",
    ("argoproj.io", "ApplicationSet"): "argoproj.io_applicationsets.yaml",
    ("helm.toolkit.fluxcd.io", "HelmRelease"): "helm.toolkit.fluxcd.io_helmreleases.yaml",
    ("source.toolkit.fluxcd.io", "GitRepository"): "source.toolkit.fluxcd.io_gitrepositories.yaml",
}


def has_crd(obj: dict) -> bool:
    group = obj.get("apiVersion", "").partition("/")[0]
    return (group, obj.get("kind")) in CRD_FILES


@functools.cache
def _schema(group: str, kind: str, version: str) -> dict:
    crd = yaml.safe_load(shared_file(f"crds/{CRD_FILES[(group, kind)]}").read_text())
    for served in crd["spec"]["versions"]:
        if served["name"] == version:
            if not served.get("served", False):
                raise ValueError(f"{group}/{version} {kind} is not served by the CRD")
            return _strict(served["schema"]["openAPIV3Schema"])
    raise ValueError(f"the {kind} CRD has no version {version}")


def _strict(node):
    """Copies an OpenAPI v3 schema node into a JSON schema with unknown fields forbidden."""
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable"):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
    if (
        out.get("type") == "object"
        and "properties" in out
        and "additionalProperties" not in out
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def crd_errors(obj: dict) -> list[str]:
    """Every schema error of one custom resource, each with the path of the field it is about."""
    group, _, version = obj.get("apiVersion", "").partition("/")
    schema = _schema(group, obj.get("kind"), version)
    validator = jsonschema.Draft7Validator(schema)
    return sorted(
        f"{obj['kind']}/{obj.get('metadata', {}).get('name', '?')}: "
        f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in validator.iter_errors(obj)
    )
