#!/usr/bin/env python3
"""Write a Spin app as a reproducible OCI image layout, without Docker and without Spin.

The image is made so that containerd-shim-spin compiles the component once per node, not at every start, and still
runs it read-only as a non-root user:
- each component's .wasm is a layer of its own, of Spin's wasm media type. The shim (runwasi) compiles such
  layers when it first creates a container of the image on a node and keeps the result in containerd's content
  store; later starts load it precompiled (runwasi containerd/client.rs load_modules, shim engine.rs). A .wasm
  inside a tar layer is compiled at every start instead.
- one ordinary tar layer holds /spin.json, the locked app Spin's loader would make of spin.toml, with each
  component's source referring to its wasm layer by digest. Spin's own OCI artifact carries the locked app as a
  layer of another media type instead, which makes the shim write /spin.json into the image's root at start:
  impossible with a read-only root or as a user that does not own `/` (shim source.rs).
The config says os wasip1, architecture wasm (runwasi precompiles only such images). containerd unpacks only the
tar layer into the root filesystem, as for Spin's artifact: containerd 1.7.7 or newer.

Same inputs give the same bytes, so the same manifest digest: entries sorted, mtime 0, uid/gid 0, no user names,
gzip with mtime 0 and no file name, JSON with sorted keys, config `created` fixed at the epoch. (The gzip bytes
come from zlib: a different zlib build could compress differently; the tar inside, and so the config's diff_id,
would still match.)

The locked app covers what spin.toml's manifest version 2 says of an app whose components are local .wasm files
(Spin crates/loader/src/local.rs, spin v3.6.3); anything else (files, dependencies, sources by URL) is refused,
naming it, rather than left out.

usage: oci_image.py SPIN_TOML OUT_DIR TAG    (writes the layout, prints the manifest digest)
Then e.g.: skopeo copy oci:OUT_DIR:TAG docker://REGISTRY/envapp:TAG
Standard library only (Python 3.11+ for tomllib).
"""

import gzip
import hashlib
import io
import json
import shutil
import sys
import tarfile
import tomllib
from pathlib import Path, PurePosixPath

EPOCH = "1970-01-01T00:00:00Z"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
# Spin's wasm layer (spin crates/oci/src/client.rs WASM_LAYER_MEDIA_TYPE), which the shim precompiles.
WASM_LAYER_TYPE = "application/vnd.wasm.content.layer.v1+wasm"
# Where the shim reads the locked app of an image with wasm layers (shim source.rs): /spin.json.
LOCKED_APP = "spin.json"
USAGE = "usage: oci_image.py SPIN_TOML OUT_DIR TAG    (writes the layout, prints the manifest digest)"
# Component keys of manifest version 2 the locked app below carries, or that only `spin build`/`spin watch` read.
COMPONENT_KEYS = {"description", "source", "allowed_outbound_hosts", "key_value_stores", "sqlite_databases",
                  "ai_models", "environment", "variables", "build"}


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(USAGE, file=sys.stderr)
        return 2
    spin_toml, out_dir, tag = Path(argv[1]), Path(argv[2]), argv[3]
    try:
        locked, wasms = locked_app(spin_toml)
        digest = write_layout(locked, wasms, out_dir, tag)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(digest)
    return 0


def locked_app(spin_toml: Path) -> tuple[dict, list[bytes]]:
    """The locked app Spin's loader makes of spin.toml (its JSON form, spin crates/locked-app), with each
    component's source given by the digest of its .wasm, and those .wasm files, in component order."""
    app = tomllib.loads(spin_toml.read_text())
    if app.get("spin_manifest_version") != 2:
        raise ValueError(f"{spin_toml}: spin_manifest_version must be 2")
    application = app.get("application", {})
    trigger_configs = application.get("trigger", {})
    trigger_types = sorted(app.get("trigger", {}))
    metadata = non_empty({
        "name": application.get("name", ""),
        "version": application.get("version", ""),
        "description": application.get("description", ""),
        "authors": application.get("authors", []),
        "triggers": trigger_configs,
    }, keep={"triggers"})
    if len(trigger_types) == 1:
        metadata["trigger"] = {**trigger_configs.get(trigger_types[0], {}), "type": trigger_types[0]}

    variables = {}
    for name, variable in sorted(app.get("variables", {}).items()):
        if ("default" in variable) == bool(variable.get("required")):
            raise ValueError(f"variable {name}: must be `required` OR have a `default`")
        variables[name] = non_empty({"description": variable.get("description", ""),
                                     "default": variable.get("default"), "secret": variable.get("secret", False)},
                                    keep={"default"} if "default" in variable else set())

    triggers = []
    for trigger_type in trigger_types:
        for trigger in app["trigger"][trigger_type]:
            config = {k: v for k, v in trigger.items() if k != "id"}
            if not isinstance(config.get("component"), str):
                raise ValueError(f"trigger {trigger_type}: only `component = \"<id>\"` is supported, not {trigger!r}")
            triggers.append({"id": trigger.get("id") or f"{config['component']}-{trigger_type}-trigger",
                             "trigger_type": trigger_type, "trigger_config": config})

    components, wasms = [], []
    for component_id, component in app.get("component", {}).items():
        unknown = sorted(set(component) - COMPONENT_KEYS)
        if unknown:
            raise ValueError(f"component {component_id}: {', '.join(unknown)} not supported by this image builder")
        wasm = component_source(spin_toml, component_id, component.get("source"))
        wasms.append(wasm)
        components.append(non_empty({
            "id": component_id,
            "metadata": non_empty({
                "description": component.get("description", ""),
                "allowed_outbound_hosts": component.get("allowed_outbound_hosts", []),
                "key_value_stores": component.get("key_value_stores", []),
                "databases": component.get("sqlite_databases", []),
                "ai_models": component.get("ai_models", []),
            }),
            "source": {"content_type": "application/wasm", "digest": sha256(wasm)},
            "env": component.get("environment", {}),
            "config": component.get("variables", {}),
        }, keep={"id", "source"}))
    return non_empty({"spin_lock_version": 0, "metadata": metadata, "variables": variables,
                      "triggers": triggers, "components": components},
                     keep={"spin_lock_version", "triggers", "components"}), wasms


def component_source(spin_toml: Path, component_id: str, source: object) -> bytes:
    if not isinstance(source, str):
        raise ValueError(f"component {component_id}: source {source!r} must be a local .wasm path")
    rel = PurePosixPath(source)
    if rel.is_absolute() or ".." in rel.parts:
        raise ValueError(f"component {component_id}: source {source!r} must be a path inside the app directory")
    path = spin_toml.parent / rel
    if not path.is_file():
        raise ValueError(f"component {component_id}: {path} not found (run `make build` first)")
    return path.read_bytes()


def non_empty(fields: dict, keep: set[str] = frozenset()) -> dict:
    """The fields Spin writes: empty strings, lists, maps and false left out, as its ValuesMapBuilder and serde
    attributes do, except those named in `keep`."""
    return {k: v for k, v in fields.items() if k in keep or v not in ("", [], {}, None, False)}


def layer_tar(files: dict[str, bytes]) -> bytes:
    """An uncompressed tar of `files` and their parent directories, sorted, owned by root, mtime 0."""
    entries: dict[str, bytes | None] = {}
    for path, data in files.items():
        for parent in reversed(PurePosixPath(path).parents[:-1]):
            entries[f"{parent}/"] = None
        entries[path] = data
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(entries):
            data = entries[name]
            info = tarfile.TarInfo(name.rstrip("/"))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    # mtime=0 and an empty file name keep the gzip header free of time and place.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def descriptor(media_type: str, blob: bytes) -> dict:
    return {"mediaType": media_type, "digest": sha256(blob), "size": len(blob)}


def write_layout(locked: dict, wasms: list[bytes], out_dir: Path, tag: str) -> str:
    tar = layer_tar({LOCKED_APP: canonical_json(locked)})
    layer = gzip_bytes(tar)
    wasm_layers = list(dict.fromkeys(wasms))  # one layer per distinct .wasm, as Spin deduplicates them
    config = canonical_json({
        "architecture": "wasm",
        "os": "wasip1",
        "created": EPOCH,
        "config": {},
        # Only the tar layer is unpacked into the root filesystem; the wasm layers stay content.
        "rootfs": {"type": "layers", "diff_ids": [sha256(tar)]},
    })
    manifest = canonical_json({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": descriptor(CONFIG_TYPE, config),
        "layers": [descriptor(LAYER_TYPE, layer)] + [descriptor(WASM_LAYER_TYPE, w) for w in wasm_layers],
    })
    index = canonical_json({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            **descriptor(MANIFEST_TYPE, manifest),
            "platform": {"architecture": "wasm", "os": "wasip1"},
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    })

    # A fresh layout each time, so no blob of an earlier build lingers in it.
    if out_dir.exists():
        shutil.rmtree(out_dir)
    blobs = out_dir / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for blob in (layer, config, manifest, *wasm_layers):
        (blobs / sha256(blob).removeprefix("sha256:")).write_bytes(blob)
    (out_dir / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))
    (out_dir / "index.json").write_bytes(index)
    return sha256(manifest)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
