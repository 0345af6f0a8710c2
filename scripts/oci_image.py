#!/usr/bin/env python3
"""Write a Spin app as a reproducible OCI image layout, without Docker.

The image is what the repository's Dockerfile builds with `docker buildx build --platform wasip1/wasm`:
FROM scratch, one layer holding /spin.toml and every component source it references, at the same
relative path. containerd-shim-spin runs such an image by loading /spin.toml from the container's root
filesystem when the image has no wasm layers (shim constants.rs SPIN_MANIFEST_FILE_PATH, source.rs).

Same inputs give the same bytes, so the same manifest digest: entries sorted, mtime 0, uid/gid 0,
no user names, gzip with mtime 0 and no file name, JSON with sorted keys, config `created` fixed at
the epoch. (The gzip bytes come from zlib: a different zlib build could compress differently; the
tar inside, and so the config's diff_id, would still match.)

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
USAGE = "usage: oci_image.py SPIN_TOML OUT_DIR TAG    (writes the layout, prints the manifest digest)"


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(USAGE, file=sys.stderr)
        return 2
    spin_toml, out_dir, tag = Path(argv[1]), Path(argv[2]), argv[3]
    try:
        files = image_files(spin_toml)
        digest = write_layout(files, out_dir, tag)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(digest)
    return 0


def image_files(spin_toml: Path) -> dict[str, bytes]:
    """The image's files, by path inside the image: /spin.toml and each component's local source."""
    manifest = spin_toml.read_bytes()
    app = tomllib.loads(manifest.decode())
    files = {"spin.toml": manifest}
    for name, component in sorted(app.get("component", {}).items()):
        source = component.get("source")
        if not isinstance(source, str):
            # A { url, digest } source is fetched by Spin itself; nothing to package.
            continue
        rel = PurePosixPath(source)
        if rel.is_absolute() or ".." in rel.parts:
            raise ValueError(f"component {name}: source {source!r} must be a path inside the app directory")
        path = spin_toml.parent / rel
        if not path.is_file():
            raise ValueError(f"component {name}: {path} not found (run `make build` first)")
        files[str(rel)] = path.read_bytes()
    return files


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


def write_layout(files: dict[str, bytes], out_dir: Path, tag: str) -> str:
    tar = layer_tar(files)
    layer = gzip_bytes(tar)
    config = canonical_json({
        "architecture": "wasm",
        "os": "wasip1",
        "created": EPOCH,
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [sha256(tar)]},
    })
    manifest = canonical_json({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": LAYER_TYPE, "digest": sha256(layer), "size": len(layer)}],
    })
    index = canonical_json({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": MANIFEST_TYPE,
            "digest": sha256(manifest),
            "size": len(manifest),
            "platform": {"architecture": "wasm", "os": "wasip1"},
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    })

    # A fresh layout each time, so no blob of an earlier build lingers in it.
    if out_dir.exists():
        shutil.rmtree(out_dir)
    blobs = out_dir / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for blob in (layer, config, manifest):
        (blobs / sha256(blob).removeprefix("sha256:")).write_bytes(blob)
    (out_dir / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))
    (out_dir / "index.json").write_bytes(index)
    return sha256(manifest)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
