"""Every HTTP behaviour of the component, over real HTTP, on the shipped .wasm served by the dev host."""
import concurrent.futures
import hashlib
import http.client
import json
import os
import socket
import subprocess
import time

import pytest
import yaml

from hostlib import MANIFEST, ROOT, WASM, env_of, request, serve
from kubelet import container_env
from projectenv import free_port

JSON = "application/json"


# --- the report: WASI env and deployment facts --------------------------------------------------

def test_env_and_root_answer_the_same_sorted_json_object(default_app):
    root, env = request(default_app, "GET", "/"), request(default_app, "GET", "/env")
    assert root.status == env.status == 200
    assert root.header("content-type") == env.header("content-type") == JSON
    assert root.json() == env.json()
    keys = list(json.loads(env.body))  # json keeps the order of the body
    assert keys == sorted(keys) and "PROD" in keys


def test_prod_is_false_by_default(default_app):
    assert env_of(default_app)["PROD"] == "false"


@pytest.mark.parametrize("value", ["true", "false"])
def test_prod_from_container_env_reaches_the_component_the_way_the_shim_delivers_it(value):
    # In a pod the chart sets PROD; containerd-shim-spin copies it to SPIN_VARIABLE_PROD (--shim-env).
    with serve(["--shim-env"], env={"PROD": value}) as addr:
        assert env_of(addr)["PROD"] == value


def test_prod_from_spin_variable_env_like_spin_up():
    with serve(env={"SPIN_VARIABLE_PROD": "true"}) as addr:
        assert env_of(addr)["PROD"] == "true"


def test_plain_container_env_does_not_reach_the_component_without_the_shim():
    # The WASI boundary: the host's own env is not the component's env.
    with serve(env={"PROD": "true", "SOME_HOST_VAR": "x"}) as addr:
        env = env_of(addr)
    assert env["PROD"] == "false" and "SOME_HOST_VAR" not in env and "PATH" not in env


# A pod's container env as the chart (downward API), the kubelet and containerd set it.
POD_FACTS = {
    "POD_NAME": "envapp-7d9f-abc", "POD_NAMESPACE": "dev", "NODE_NAME": "worker2",
    "POD_IP": "10.244.1.7", "HOST_IP": "172.18.0.3", "POD_UID": "6f1c2a9e-5b7d-4c1e-9a3f-2d8e7b6a5c4d",
    "SERVICE_ACCOUNT": "envapp-internal-service",
    "CPU_REQUEST_MILLICORES": "100", "CPU_LIMIT_MILLICORES": "1000",
    "MEMORY_REQUEST_MIB": "128", "MEMORY_LIMIT_MIB": "256",
    "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
    "HOSTNAME": "envapp-7d9f-abc",
}


def test_pod_facts_and_extra_env_show_under_env_names():
    container_env = {**POD_FACTS, "EXTRA_ENV": json.dumps({"TEAM": "platform", "REGION": "eu-1"})}
    with serve(["--shim-env"], env=container_env) as addr:
        env = env_of(addr)
    assert {k: env.get(k) for k in POD_FACTS} == POD_FACTS
    assert (env["TEAM"], env["REGION"]) == ("platform", "eu-1")


def rendered_app_container(*helm_args: str) -> dict:
    """The app container of the chart's Deployment, as `helm template` renders it."""
    out = subprocess.run(["helm", "template", "envapp", str(ROOT / "chart" / "internal-service"), *helm_args],
                         capture_output=True, text=True, check=True).stdout
    deployment = next(d for d in yaml.safe_load_all(out) if d and d["kind"] == "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]


def test_a_pods_answers_are_byte_for_byte_those_of_its_variables_read_one_by_one():
    # The pod's env as the kubelet expands the chart's (pod_variables, one read) against the same values as
    # separate variables (PROD, EXTRA_ENV and the facts: the reads `spin up` and the old chart made).
    extra = {"TEAM": "platform", "REF": "$(POD_NAME)", "DOLLARS": "$$", "DB_PASSWORD": "x",
             "URL": "postgres://u:p@h/db", "POD_NAME": "spoofed"}
    container = rendered_app_container("-f", str(ROOT / "chart" / "values-prod.yaml"),
                                       "--set-json", f"env={json.dumps(extra)}")
    downward = {e["name"]: POD_FACTS[e["name"]] for e in container["env"] if "valueFrom" in e}
    service_env = {k: POD_FACTS[k] for k in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")}
    # containerd adds HOSTNAME, the sandbox's hostname: the pod's name.
    pod_env = {**container_env(container, downward, service_env), "HOSTNAME": POD_FACTS["POD_NAME"]}
    one_by_one = {**POD_FACTS, "PROD": "true", "EXTRA_ENV": json.dumps(extra)}
    paths = ["/env", "/", "/env/PROD", "/env/POD_NAME", "/env/HOSTNAME", "/env/CPU_LIMIT_MILLICORES",
             "/env/REF", "/env/DOLLARS", "/env/DB_PASSWORD", "/env/URL", "/env/NOPE", "/healthz"]
    with serve(["--shim-env"], env=pod_env) as pod, serve(["--shim-env"], env=one_by_one) as variables:
        for path in paths:
            got, want = request(pod, "GET", path), request(variables, "GET", path)
            got.headers.pop("date", None), want.headers.pop("date", None)
            assert (got.status, got.headers, got.body) == (want.status, want.headers, want.body), path
        env = env_of(pod)
    assert {k: env[k] for k in POD_FACTS} == POD_FACTS
    assert (env["PROD"], env["REF"], env["DOLLARS"], env["DB_PASSWORD"]) == ("true", "$(POD_NAME)", "$$", "[redacted]")


def test_pod_facts_arrive_as_spin_variables_too_like_spin_up():
    with serve(env={f"SPIN_VARIABLE_{k}": v for k, v in POD_FACTS.items()}) as addr:
        env = env_of(addr)
    assert {k: env.get(k) for k in POD_FACTS} == POD_FACTS


def test_unset_pod_facts_are_left_out(default_app):
    env = env_of(default_app)
    assert not set(POD_FACTS) & env.keys()


def test_wasi_env_from_the_command_line_like_spin_up_e():
    with serve(["--env", "GREETING=hello", "--env", "EMPTY="]) as addr:
        env = env_of(addr)
    assert env["GREETING"] == "hello" and env["EMPTY"] == ""


def test_a_bad_extra_env_gives_a_500_naming_it_and_health_stays_up():
    with serve(["--shim-env"], env={"EXTRA_ENV": "{not json"}) as addr:
        resp = request(addr, "GET", "/env")
        assert resp.status == 500 and "extra_env" in resp.json()["error"]
        assert request(addr, "GET", "/healthz").status == 200


@pytest.mark.parametrize("depth", [100, 127, 128, 129, 5000])
def test_deeply_nested_extra_env_is_a_json_error_not_a_crash(depth):
    # The component's stack is 128 KiB (build.rs): serde_json's nesting limit (128) must hit first.
    nested = '{"A":' * depth + '"x"' + "}" * depth
    with serve(["--shim-env"], env={"EXTRA_ENV": nested}) as addr:
        resp = request(addr, "GET", "/env")
        assert resp.status == 500 and "extra_env" in resp.json()["error"]
        assert request(addr, "GET", "/healthz").status == 200


# --- redaction -----------------------------------------------------------------------------------

SECRETS = ["--env", "DB_PASSWORD=hunter2", "--env", "API_KEY=k-123", "--env", "MONKEY=banana"]


def test_secret_looking_values_are_redacted_by_default():
    with serve(SECRETS) as addr:
        env = env_of(addr)
        one = request(addr, "GET", "/env/DB_PASSWORD").json()
    assert env["DB_PASSWORD"] == env["API_KEY"] == "[redacted]" and env["MONKEY"] == "banana"
    assert one == {"DB_PASSWORD": "[redacted]"}
    assert b"hunter2" not in json.dumps(env).encode()


def test_credentials_inside_values_and_camel_case_names_are_hidden():
    extra = {"DATABASE_URL": "postgres://app:hunter2@db:5432/app", "dbPassword": "hunter2",
             "CONNECTION_STRING": "Server=db;User Id=sa;Password=hunter2;", "TEAM": "platform"}
    with serve(["--shim-env"], env={"EXTRA_ENV": json.dumps(extra)}) as addr:
        env = env_of(addr)
    assert env["DATABASE_URL"] == "postgres://app:[redacted]@db:5432/app"
    assert env["CONNECTION_STRING"] == "Server=db;User Id=sa;Password=[redacted];"
    assert env["dbPassword"] == "[redacted]" and env["TEAM"] == "platform"
    assert "hunter2" not in json.dumps(env)


@pytest.mark.parametrize("value", ["False", "FALSE", " false", "0", "no", "off"])
def test_only_exactly_false_turns_redaction_off(value):
    with serve(["--shim-env", *SECRETS], env={"REDACT_SECRETS": value}) as addr:
        assert env_of(addr)["DB_PASSWORD"] == "[redacted]"


def test_redaction_is_turned_off_only_by_the_spin_variable():
    with serve(["--shim-env", *SECRETS], env={"REDACT_SECRETS": "false"}) as addr:
        env = env_of(addr)
    assert env["DB_PASSWORD"] == "hunter2" and env["API_KEY"] == "k-123"


# --- routes, methods, errors ---------------------------------------------------------------------

def test_one_entry_by_name(default_app):
    resp = request(default_app, "GET", "/env/PROD")
    assert (resp.status, resp.json()) == (200, {"PROD": "false"})


def test_missing_entry_is_404_with_a_json_error(default_app):
    resp = request(default_app, "GET", "/env/NO_SUCH_THING")
    assert resp.status == 404 and resp.header("content-type") == JSON
    assert "NO_SUCH_THING" in resp.json()["error"]


def test_healthz_and_spins_own_health_endpoint(default_app):
    resp = request(default_app, "GET", "/healthz")
    assert (resp.status, resp.json()) == (200, {"status": "ok"})
    assert request(default_app, "GET", "/.well-known/spin/health").status == 200


@pytest.mark.parametrize("path", ["/nope", "/env/", "/env/A/B", "/healthz/extra", "/%ff%fe"])
def test_unknown_paths_get_404_json(default_app, path):
    resp = request(default_app, "GET", path)
    assert resp.status == 404 and resp.header("content-type") == JSON
    assert isinstance(resp.json()["error"], str)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"])
def test_unknown_method_gets_405_with_allow(default_app, method):
    resp = request(default_app, method, "/env", body=b"x" * 1024)
    assert resp.status == 405 and resp.header("allow") == "GET, HEAD"
    assert "error" in resp.json()


@pytest.mark.parametrize("path", ["/", "/env", "/env/PROD", "/env/NOPE", "/healthz", "/nope"])
def test_head_has_the_status_and_headers_of_get_and_no_body(default_app, path):
    framing = {"date", "content-length", "transfer-encoding"}
    get, head = request(default_app, "GET", path), request(default_app, "HEAD", path)
    assert head.status == get.status and head.body == b""
    assert {k: v for k, v in head.headers.items() if k not in framing} == \
        {k: v for k, v in get.headers.items() if k not in framing}


# --- nothing a client sends may crash it ---------------------------------------------------------

def test_64_kib_of_headers_are_answered(default_app):
    headers = {f"x-filler-{i}": "a" * 4000 for i in range(16)}  # 16 x 4 KB = 64 KB of values
    assert sum(len(k) + len(v) for k, v in headers.items()) >= 64_000
    resp = request(default_app, "GET", "/env", headers=headers)
    assert resp.status == 200 and resp.json()["PROD"] == "false"


def test_a_request_with_a_body_on_get_is_answered(default_app):
    assert request(default_app, "GET", "/healthz", body=b"{" * 100_000).status == 200


def test_malformed_requests_get_4xx_and_the_service_keeps_serving(default_app):
    for raw in [b"NOT HTTP AT ALL\r\n\r\n", b"GET /env HTTP/9.9\r\n\r\n", b"GET /env HTTP/1.1\r\nBad Header\r\n\r\n",
                b"\x00\xff\xfe garbage\r\n\r\n"]:
        with socket.create_connection(default_app, timeout=10) as sock:
            sock.sendall(raw)
            reply = sock.recv(4096)
        assert reply == b"" or reply.split(b" ")[1].startswith((b"4", b"5")), (raw, reply[:80])
    # A client that connects and goes away without a word.
    socket.create_connection(default_app, timeout=10).close()
    assert request(default_app, "GET", "/healthz").status == 200


def test_2000_requests_over_32_connections_have_zero_errors(default_app):
    def worker(n):
        conn = http.client.HTTPConnection(*default_app, timeout=30)
        errors = 0
        try:
            for _ in range(n):
                resp = request(default_app, "GET", "/env", conn=conn)
                errors += resp.status != 200 or resp.json().get("PROD") != "false"
        finally:
            conn.close()
        return errors

    shares = [2000 // 32 + (i < 2000 % 32) for i in range(32)]
    assert sum(shares) == 2000
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        assert sum(pool.map(worker, shares)) == 0


# --- the served file and `make up` ---------------------------------------------------------------

def test_the_host_serves_the_wasm_file_unmodified():
    before = hashlib.sha256(WASM.read_bytes()).hexdigest()
    with serve() as addr:
        env_of(addr)
    assert hashlib.sha256(WASM.read_bytes()).hexdigest() == before
    assert f'source = "{WASM.relative_to(ROOT)}"' in MANIFEST.read_text()


def test_make_up_with_prod_true_serves_prod_true():
    port = free_port()
    env = {**os.environ, "PROD": "true", "LISTEN": f"127.0.0.1:{port}"}
    env.pop("MAKEFLAGS", None)
    # scripts/up.sh is what `make up` runs after `make build`; Spin is used when installed.
    proc = subprocess.Popen([str(ROOT / "scripts/up.sh")], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert env_of(("127.0.0.1", port))["PROD"] == "true"
                break
            except (ConnectionError, OSError):
                assert proc.poll() is None and time.monotonic() < deadline, "make up did not serve"
                time.sleep(0.2)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=10)
