# The component as a FROM scratch OCI image for containerd-shim-spin, for those who build images with Docker.
# The shim runs an image that has no wasm layers by loading /spin.toml from the container's root
# filesystem (containerd-shim-spin src/constants.rs SPIN_MANIFEST_FILE_PATH); spin.toml's component
# `source` is relative to it, so the .wasm goes to the same path under /. It compiles the component at every
# start; `make push` (scripts/oci_image.py) pushes an image whose .wasm the shim compiles once per node.
#
#   make build
#   docker buildx build --platform wasip1/wasm --provenance=false -t REGISTRY/envapp:0.1.0 --push .
#
# --provenance=false keeps the pushed image a single manifest, as the shim's own Makefile does
# (moby/buildkit#3891).
FROM scratch
COPY spin.toml /spin.toml
COPY target/wasm32-wasip1/release/envapp.wasm /target/wasm32-wasip1/release/envapp.wasm
