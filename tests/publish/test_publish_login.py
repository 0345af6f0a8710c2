"""Publishing with the user's own registry logins, as docs/publish.md says: `skopeo login`, `helm registry login`,
`spin registry login`, then `make push` / `make push-chart` / `make push-spin`, against a real registry on
loopback that refuses anyone not logged in (htpasswd). Each test runs as a user with a fresh home, so the logins
land where each tool keeps them by default and no one else's are touched."""

import hashlib
import json
import os
import shutil
import subprocess

import pytest

from projectenv import TOOLS
from publishlib import CRATE_VERSION, SPIN_TOML, last_line, oci_image, run_script


@pytest.fixture
def user_env(tmp_path) -> dict[str, str]:
    """The environment of a user with a fresh home and default tool configuration: helm keeps its registry
    config in ~/.config/helm, skopeo its logins in $XDG_RUNTIME_DIR/containers/auth.json, spin in
    ~/.config/fermyon. Only the project's tool folder is named, so the scripts find the tools."""
    home = tmp_path / "home"
    runtime = tmp_path / "run"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items()
           if k not in ("XDG_CONFIG_HOME", "HELM_CONFIG_HOME", "HELM_REGISTRY_CONFIG", "REGISTRY_AUTH_FILE",
                        "DOCKER_CONFIG", "REGISTRY_INSECURE")}
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(runtime), ENVAPP_TOOLS=str(TOOLS))
    return env


def login(registry, env: dict[str, str], *command: str, newline: bool = True) -> None:
    """Runs a tool's login command as the docs show it, the password on stdin."""
    tool = shutil.which(command[0], path=env["PATH"])
    if tool is None:
        pytest.fail(f"{command[0]} not found: run scripts/test.sh tests/publish (it sets up the registry tools)")
    result = subprocess.run([tool, *command[1:], "-u", registry.user, "--password-stdin", registry.host],
                            input=registry.password + ("\n" if newline else ""), env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Succeeded" in result.stdout + result.stderr or "Successfully logged in" in result.stdout  # spin's words


def assert_no_secret(registry, result: subprocess.CompletedProcess) -> None:
    assert registry.password not in result.stdout + result.stderr


def test_push_without_a_login_is_refused_and_says_how_to_log_in(login_registry, user_env, wasm):
    result = run_script("push.sh", "--insecure", login_registry.host, env=user_env)
    assert result.returncode != 0
    assert f"skopeo login {login_registry.host}" in result.stderr
    assert "@sha256:" not in result.stdout


def test_push_uses_the_users_skopeo_login(login_registry, user_env, wasm):
    login(login_registry, user_env, "skopeo", "login", "--tls-verify=false")
    # Where skopeo keeps a login by default on Linux (containers-auth.json(5)).
    assert os.path.isfile(os.path.join(user_env["XDG_RUNTIME_DIR"], "containers", "auth.json"))

    result = run_script("push.sh", "--insecure", f"{login_registry.host}/team", env=user_env)
    assert result.returncode == 0, result.stderr
    assert last_line(result.stdout).startswith(f"{login_registry.host}/team/envapp@sha256:")
    assert_no_secret(login_registry, result)


def test_push_chart_without_a_login_is_refused_and_says_how_to_log_in(login_registry, user_env):
    result = run_script("push-chart.sh", "--insecure", login_registry.host, env=user_env)
    assert result.returncode != 0
    assert f"helm registry login {login_registry.host}" in result.stderr
    assert "oci://" not in result.stdout


def test_push_chart_uses_the_users_helm_registry_login(login_registry, user_env):
    # --plain-http only because this registry speaks plain HTTP; a real one needs just `helm registry login HOST`.
    login(login_registry, user_env, "helm", "registry", "login", "--plain-http")
    # Where helm keeps a login by default, and so where the user's own logins are.
    assert os.path.isfile(os.path.join(user_env["HOME"], ".config", "helm", "registry", "config.json"))

    result = run_script("push-chart.sh", "--insecure", login_registry.host, env=user_env)
    assert result.returncode == 0, result.stderr
    assert last_line(result.stdout).startswith(f"oci://{login_registry.host}/charts/internal-service:")
    assert_no_secret(login_registry, result)


def test_push_spin_hands_spin_the_users_home_and_config_untouched(user_env, tmp_path, wasm):
    # A stand-in for the Spin CLI that records where it would look for `spin registry login`'s file.
    record = tmp_path / "seen"
    fake = tmp_path / "bin" / "spin"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "HOME=$HOME" "XDG_CONFIG_HOME=${{XDG_CONFIG_HOME:-}}" > "{record}"\n'
        f'echo "Pushed with digest sha256:{"cd" * 32}"\n'
    )
    fake.chmod(0o755)
    env = {**user_env, "PATH": f"{fake.parent}:{user_env['PATH']}"}
    result = run_script("push-spin.sh", "--insecure", "127.0.0.1:5000", env=env)
    assert result.returncode == 0, result.stderr
    assert record.read_text().split() == [f"HOME={user_env['HOME']}", "XDG_CONFIG_HOME="]


SPIN = shutil.which("spin")


@pytest.mark.skipif(SPIN is None, reason="Spin is not installed here (push-spin is checked with a stand-in above)")
def test_push_spin_with_the_real_spin_uses_its_login_and_pushes_spins_artifact(tls_login_registry, user_env, wasm,
                                                                             tmp_path):
    login_registry = tls_login_registry
    # `spin registry login` checks the credentials over HTTPS only (spin 3.6.3, crates/oci validate_credentials),
    # so this registry speaks TLS with a certificate Spin is told to trust; and Spin keeps a trailing newline of
    # --password-stdin as part of the password, so it is piped without one (docs/publish.md).
    user_env = {**user_env, "SSL_CERT_FILE": str(login_registry.ca)}
    login(login_registry, user_env, "spin", "registry", "login", newline=False)
    result = run_script("push-spin.sh", f"{login_registry.host}/spin", env=user_env)
    assert result.returncode == 0, result.stderr
    assert_no_secret(login_registry, result)
    reference = last_line(result.stdout)
    assert reference.startswith(f"{login_registry.host}/spin/envapp@sha256:"), reference

    # Read it back with an independent client, logged in its own way.
    login(login_registry, user_env, "skopeo", "login", "--tls-verify=false")
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                          f"docker://{login_registry.host}/spin/envapp:{CRATE_VERSION}"],
                         env=user_env, capture_output=True, timeout=60)
    assert raw.returncode == 0, raw.stderr.decode()
    assert "sha256:" + hashlib.sha256(raw.stdout).hexdigest() == reference.partition("@")[2]
    manifest = json.loads(raw.stdout)
    print(f"\nspin artifact manifest: {json.dumps(manifest, indent=1)}")
    assert manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    layer_types = [layer["mediaType"] for layer in manifest["layers"]]
    # Spin's OCI client (crates/oci): one wasm layer per component, the locked app as a layer of its own.
    assert layer_types.count("application/vnd.wasm.content.layer.v1+wasm") == 1, layer_types
    assert "application/vnd.fermyon.spin.application.v1+config" in layer_types, layer_types

    # The locked app Spin made is the one scripts/oci_image.py writes for `make push` (/spin.json), but for what
    # only `spin build` reads (the component's build command) and the source digest (Spin composes the .wasm).
    (config_layer,) = [l for l in manifest["layers"] if l["mediaType"].endswith("spin.application.v1+config")]
    blob = subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false",
                           f"docker://{login_registry.host}/spin/envapp:{CRATE_VERSION}", f"dir:{tmp_path}/spin"],
                          env=user_env, capture_output=True, timeout=60)
    assert blob.returncode == 0, blob.stderr.decode()
    spins = json.loads((tmp_path / "spin" / config_layer["digest"].removeprefix("sha256:")).read_bytes())
    ours, _ = oci_image.locked_app(SPIN_TOML)
    for locked in (spins, ours):
        for component in locked["components"]:
            component["metadata"].pop("build", None)
            component["source"].pop("digest")
    assert ours == spins
