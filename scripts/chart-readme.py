#!/usr/bin/env python3
"""Writes chart/internal-service/README.md from values.yaml: its `## ` headings and each value's comment.

usage: scripts/chart-readme.py [--check]
  --check  write nothing; exit 1 (saying so) when README.md differs from what values.yaml gives

values.yaml is the manual (every value has a comment that starts with its name); this page is that manual as
tables, so it cannot drift: tests/chart checks it with --check, and `make chart-docs` rewrites it.
A value gets a row when it has its own comment. Its default is shown as JSON, except for a group whose every
key has a row of its own.
"""
import json
import re
import sys
from pathlib import Path

try:
    import yaml
except ImportError:
    sys.exit(
        "error: PyYAML not found. Install it (Debian/Ubuntu: sudo apt-get install python3-yaml; Fedora: sudo dnf "
        "install python3-pyyaml; macOS or any: python3 -m pip install pyyaml), or run this script with the "
        "project's Python after `make setup`: ~/.cache/envapp/venv/bin/python scripts/chart-readme.py"
    )

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "chart" / "internal-service"
KEY = re.compile(r"^( *)([A-Za-z][\w.-]*):")

HEADER = """\
<!-- Generated from values.yaml by scripts/chart-readme.py (make chart-docs): edit values.yaml, not this file. -->
# internal-service

{description}

Chart {version}, app {app_version}, Kubernetes {kube_version}. How to deploy, the two workloads, the security
settings and why, OpenTelemetry and troubleshooting: [docs/deploy.md](../../docs/deploy.md).

```sh
kubectl apply -f runtime-class.yaml      # once per cluster: RuntimeClass wasmtime-spin-v2
helm upgrade --install envapp chart/internal-service -n dev --create-namespace \\
  -f chart/values-dev.yaml --set hub=<registry>/<path> --set digest=sha256:<digest from make push>
```

`values.schema.json` checks every value: `helm template`, `helm install` and `helm lint` refuse a typo, an unknown
key, or a value that would leave Pod Security "restricted", naming the field.

## Values
"""


def rows(lines: list[str], values: dict):
    """(section title, intro, [(path, default, description)]) in the order of values.yaml."""
    sections = []
    comment: list[str] = []
    parents: list[tuple[int, str]] = []
    heading: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("## "):
            heading.append(stripped[3:])
            continue
        if heading:
            sections.append((*title_and_intro(" ".join(heading)), []))
            heading = []
        if stripped.startswith("#"):
            comment.append(stripped.lstrip("#").strip())
            continue
        m = KEY.match(line)
        if m:
            indent, key = len(m.group(1)), m.group(2)
            parents = [(n, k) for n, k in parents if n < indent]
            path = [k for _, k in parents] + [key]
            parents.append((indent, key))
            if comment and sections:
                sections[-1][2].append((".".join(path), lookup(values, path), " ".join(comment)))
        comment = []
    return sections


def title_and_intro(heading: str) -> tuple[str, str]:
    """A `## ` heading's first phrase (up to '. ' or ': ') is the section title, the rest its introduction."""
    m = re.match(r"(.+?)[.:] +(.*)", heading)
    if not m:
        return heading.rstrip("."), ""
    intro = m.group(2)
    return m.group(1), intro[:1].upper() + intro[1:]


def lookup(values: dict, path: list[str]):
    node = values
    for key in path:
        node = node[key]
    return node


def default(path: str, value, documented: set[str]) -> str:
    if isinstance(value, dict) and value and all(f"{path}.{k}" in documented for k in value):
        return "see below"
    return f"`{json.dumps(value)}`"


def render() -> str:
    text = (CHART / "values.yaml").read_text()
    values = yaml.safe_load(text)
    meta = yaml.safe_load((CHART / "Chart.yaml").read_text())
    out = [HEADER.format(description=" ".join(meta["description"].split()), version=meta["version"],
                         app_version=meta["appVersion"], kube_version=meta["kubeVersion"])]
    sections = rows(text.splitlines(), values)
    documented = {path for _, _, entries in sections for path, _, _ in entries}
    for title, intro, entries in sections:
        out.append(f"\n### {title}\n")
        if intro:
            out.append(f"\n{intro}\n")
        if entries:
            out.append("\n| Value | Default | Description |\n|---|---|---|\n")
            for path, value, description in entries:
                cell = description.replace("|", "\\|")
                out.append(f"| `{path}` | {default(path, value, documented).replace('|', chr(92) + '|')} | {cell} |\n")
    return "".join(out)


def main(argv: list[str]) -> int:
    if argv not in ([], ["--check"]):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    readme = CHART / "README.md"
    wanted = render()
    if argv == ["--check"]:
        if not readme.is_file() or readme.read_text() != wanted:
            print(f"{readme.relative_to(ROOT)} is out of date with values.yaml: run `make chart-docs`", file=sys.stderr)
            return 1
        return 0
    readme.write_text(wanted)
    print(f"wrote {readme.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
