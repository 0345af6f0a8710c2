"""What the chart renders for a wasm pod under containerd-shim-spin, read from the parsed YAML."""

import json

import pytest
import yaml
from chartlib import (
    FULLNAME,
    POD,
    POD_FACTS,
    SELECTOR,
    SERVICE_ENV,
    CHART,
    RELEASE,
    VALUES_DEV,
    VALUES_PROD,
    app_container,
    app_pod,
    env_of,
    hook_pod,
    kinds,
    one,
    pod_variables,
    refusals,
    render,
    run_script,
    spin_variables,
)

CHART_META = yaml.safe_load((CHART / "Chart.yaml").read_text())
DIGEST = "sha256:" + "0123456789abcdef" * 4


def test_default_render_has_one_object_of_each_kind_and_no_networkpolicy(dev_docs):
    assert kinds(dev_docs) == [
        "Deployment",
        "HorizontalPodAutoscaler",
        "Pod",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    ]


# Runtime


def test_pods_run_on_the_spin_runtime_class_with_the_shims_command(dev_docs):
    assert app_pod(dev_docs)["runtimeClassName"] == "wasmtime-spin-v2"
    assert app_container(dev_docs)["command"] == ["/"]


def test_runtime_class_name_is_a_value():
    docs = render(sets={"runtimeClassName": "spin-other"})
    assert app_pod(docs)["runtimeClassName"] == "spin-other"


def test_component_listens_on_unprivileged_port_8080_named_http(dev_docs):
    container = app_container(dev_docs)
    assert env_of(container)["SPIN_HTTP_LISTEN_ADDR"]["value"] == "0.0.0.0:8080"
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]


def test_service_is_cluster_ip_port_80_to_the_http_port(dev_docs):
    service = one(dev_docs, "Service")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert service["spec"]["selector"] == SELECTOR


# Image


def test_image_tag_defaults_to_app_version_which_equals_the_crate_version(dev_docs):
    cargo = (CHART.parents[1] / "Cargo.toml").read_text()
    crate_version = next(line.split('"')[1] for line in cargo.splitlines() if line.startswith("version"))
    assert CHART_META["appVersion"] == crate_version
    assert app_container(dev_docs)["image"] == f"registry.example.com/envapp/envapp:{crate_version}"


def test_digest_pins_the_image_by_content_instead_of_the_tag():
    docs = render(sets={"hub": "localhost:5001", "digest": DIGEST, "tag": "ignored"})
    assert app_container(docs)["image"] == f"localhost:5001/envapp@{DIGEST}"


def test_hub_image_and_tag_compose_the_reference():
    docs = render(sets={"hub": "localhost:5001/team", "image": "envapp", "tag": "1.2.3"})
    assert app_container(docs)["image"] == "localhost:5001/team/envapp:1.2.3"


# What reaches the component as Spin variables


@pytest.mark.parametrize("values, want", [(VALUES_DEV, "false"), (VALUES_PROD, "true")])
def test_prod_value_becomes_the_prod_variable(values, want):
    assert pod_variables(app_container(render(values)))["prod"] == want


def test_env_map_reaches_the_component_as_one_json_object():
    entries = {"GREETING": "hello world", "TEAM": "platform", "QUOTE": 'say "hi"', "EMPTY": ""}
    docs = render(set_json={"env": json.dumps(entries)})
    assert json.loads(pod_variables(app_container(docs))["extra_env"]) == entries


def test_env_values_reach_the_component_as_written_not_expanded_by_kubernetes():
    # Kubernetes expands $(NAME) and $$ in every env value; the chart writes each $ of `env` as $$.
    entries = {"REF": "$(POD_NAME)", "ESCAPED": "$$(POD_NAME)", "DOLLARS": "$$", "PRICE": "5$", "OPEN": "$(x",
               "SHELL": "${HOME}", "MIXED": "a$(KUBERNETES_SERVICE_HOST)b$c$$d$"}
    docs = render(set_json={"env": json.dumps(entries)})
    assert json.loads(pod_variables(app_container(docs))["extra_env"]) == entries


def test_empty_env_map_is_an_empty_json_object_and_redaction_stays_on(dev_docs):
    variables = pod_variables(app_container(dev_docs))
    assert variables["extra_env"] == "{}"
    assert "redact_secrets" not in variables and "REDACT_SECRETS" not in env_of(app_container(dev_docs))


def test_pod_variables_is_complete_at_pod_start_with_every_fact_of_the_pod(dev_docs):
    # Every $(NAME) in it names an env var set before it or by the kubelet: none is left unexpanded.
    facts = {name.lower(): value for name, value in {**POD, **SERVICE_ENV}.items()}
    # containerd sets HOSTNAME to the sandbox's hostname: the pod's name, for a pod without spec.hostname.
    assert "hostname" not in app_pod(dev_docs) and "subdomain" not in app_pod(dev_docs)
    assert pod_variables(app_container(dev_docs)) == {
        **facts, "hostname": POD["POD_NAME"], "prod": "false", "extra_env": "{}",
    }


def test_pod_variables_holds_every_declared_variable_but_itself_and_the_redaction_switch(dev_docs):
    declared = set(spin_variables()) - {"pod_variables", "redact_secrets"}
    assert set(pod_variables(app_container(dev_docs))) == declared


def test_container_env_is_exactly_the_contract(dev_docs):
    env = env_of(app_container(dev_docs))
    assert list(env) == ["SPIN_HTTP_LISTEN_ADDR", *POD_FACTS, "POD_VARIABLES"]
    for name, source in POD_FACTS.items():
        assert env[name] == {"name": name, "valueFrom": source}, name


def test_every_env_var_for_the_component_is_a_declared_spin_variable(dev_docs):
    # The shim copies only env named like a declared variable (upper case); anything else would never arrive.
    declared = {name.upper() for name in spin_variables()}
    sent = set(env_of(app_container(dev_docs))) - {"SPIN_HTTP_LISTEN_ADDR"}
    assert sent <= declared, sorted(sent - declared)


def test_chart_leaves_what_the_kubelet_and_containerd_set_alone(dev_docs):
    assert not {"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "HOSTNAME"} & set(env_of(app_container(dev_docs)))


def test_host_env_may_not_set_any_declared_spin_variable():
    # One source of truth: spin.toml's [variables]. Each upper-case name is refused in hostEnv, naming the clash.
    names = sorted(name.upper() for name in spin_variables())
    host_env = [{"name": name, "value": "x"} for name in names]
    output = refusals(set_json={"hostEnv": json.dumps(host_env)})["template"]
    for i, name in enumerate(names):
        assert f"hostEnv[{i}].name {name} clashes with a name the chart owns" in output, name


def test_host_env_reaches_the_spin_host_after_the_charts_own_env():
    host_env = [
        {"name": "RUST_LOG", "value": "spin=debug"},
        {"name": "OTEL_EXPORTER_OTLP_HEADERS", "valueFrom": {"secretKeyRef": {"name": "otel", "key": "headers"}}},
    ]
    container = app_container(render(set_json={"hostEnv": json.dumps(host_env)}))
    assert container["env"][-2:] == host_env
    assert pod_variables(container)["prod"] == "false"


def test_otel_is_off_by_default(dev_docs):
    assert not [name for name in env_of(app_container(dev_docs)) if name.startswith("OTEL_")]


def test_otel_block_renders_the_variables_spin_reads():
    env = env_of(app_container(render(sets={"otel.enabled": "true", "otel.endpoint": "http://collector.obs:4318"})))
    otel = {name: e["value"] for name, e in env.items() if name.startswith("OTEL_")}
    assert otel == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.obs:4318",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_SERVICE_NAME": FULLNAME,
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
    }


def test_otel_ratio_sampler_gets_its_argument():
    env = env_of(app_container(render(sets={
        "otel.enabled": "true", "otel.endpoint": "https://collector:4317", "otel.protocol": "grpc",
        "otel.serviceName": "envapp-dev", "otel.sampler": "parentbased_traceidratio", "otel.samplerRatio": "0.25"})))
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"]["value"] == "grpc"
    assert env["OTEL_SERVICE_NAME"]["value"] == "envapp-dev"
    assert env["OTEL_TRACES_SAMPLER"]["value"] == "parentbased_traceidratio"
    assert env["OTEL_TRACES_SAMPLER_ARG"]["value"] == "0.25"


# Scaling and availability


def test_hpa_scales_the_deployment_on_cpu_from_3_to_10(dev_docs):
    hpa = one(dev_docs, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": FULLNAME}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 10)
    assert hpa["spec"]["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}
    ]


def test_hpa_behavior_is_a_value_and_kubernetes_defaults_apply_without_it(dev_docs):
    assert "behavior" not in one(dev_docs, "HorizontalPodAutoscaler")["spec"]
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 30}}
    docs = render(set_json={"autoscaling.behavior": json.dumps(behavior)})
    assert one(docs, "HorizontalPodAutoscaler")["spec"]["behavior"] == behavior


def test_a_stopping_pod_serves_on_while_kube_proxy_stops_sending_it_connections(dev_docs):
    # The kubelet's own sleep action (no binary in a wasm pod), within the grace period.
    pod = app_pod(dev_docs)
    assert app_container(dev_docs)["lifecycle"] == {"preStop": {"sleep": {"seconds": 10}}}
    assert pod["terminationGracePeriodSeconds"] == 30
    docs = render(sets={"preStopSleepSeconds": "0"})
    assert "lifecycle" not in app_container(docs)


def test_deployment_leaves_replicas_to_the_hpa(dev_docs):
    assert "replicas" not in one(dev_docs, "Deployment")["spec"]


def test_without_autoscaling_the_deployment_runs_replica_count_pods():
    docs = render(sets={"autoscaling.enabled": "false"})
    assert "HorizontalPodAutoscaler" not in kinds(docs)
    assert one(docs, "Deployment")["spec"]["replicas"] == 3


def test_rolling_update_never_drops_below_the_replica_count(dev_docs):
    strategy = one(dev_docs, "Deployment")["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


def test_required_anti_affinity_rolls_out_without_a_surge_pod():
    # With one pod per node required, a surge pod finds no node when nodes == replicas: stop one old pod first.
    strategy = one(render(sets={"podAntiAffinity": "required"}), "Deployment")["spec"]["strategy"]
    assert strategy["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}


def test_cpu_and_memory_requests_are_set_for_the_scheduler_and_the_hpa(dev_docs):
    requests = app_container(dev_docs)["resources"]["requests"]
    assert requests["cpu"] and requests["memory"]


def test_ephemeral_storage_is_requested_and_limited_above_the_spin_dirs(dev_docs):
    resources = app_container(dev_docs)["resources"]
    assert resources["requests"]["ephemeral-storage"] == "64Mi"
    assert resources["limits"]["ephemeral-storage"] == "256Mi"
    # Both emptyDirs full still fit under the limit, with room for the writable layer and logs.
    assert [v["emptyDir"]["sizeLimit"] for v in app_pod(dev_docs)["volumes"]] == ["64Mi", "64Mi"]


def test_pdb_limits_voluntary_evictions_of_the_apps_pods(dev_docs):
    pdb = one(dev_docs, "PodDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": SELECTOR}}


def test_pdb_budget_may_be_a_percentage():
    pdb = one(render(sets={"podDisruptionBudget.maxUnavailable": "34%"}), "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == "34%"


def test_pdb_can_be_turned_off():
    assert "PodDisruptionBudget" not in kinds(render(sets={"podDisruptionBudget.enabled": "false"}))


# Scheduling


def test_pods_prefer_different_nodes_by_default(dev_docs):
    anti = app_pod(dev_docs)["affinity"]["podAntiAffinity"]
    assert list(anti) == ["preferredDuringSchedulingIgnoredDuringExecution"]
    (term,) = anti["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"] == {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": SELECTOR}}


def test_pods_can_require_different_nodes():
    anti = app_pod(render(sets={"podAntiAffinity": "required"}))["affinity"]["podAntiAffinity"]
    assert anti == {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": SELECTOR}}
        ]
    }


def test_anti_affinity_can_be_left_out():
    assert "affinity" not in app_pod(render(sets={"podAntiAffinity": "none"}))


def test_pods_spread_over_zones_without_blocking_single_zone_clusters(dev_docs):
    (spread,) = app_pod(dev_docs)["topologySpreadConstraints"]
    assert spread == {
        "maxSkew": 1,
        "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": SELECTOR},
    }


# Security


def _assert_restricted(pod_spec: dict, capabilities: dict):
    """Pod Security Standards "restricted" (plus no host namespaces or hostPath)."""
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod_spec.get(host), host
    assert all(set(v) == {"name", "emptyDir"} for v in pod_spec.get("volumes", []))
    pod_sc = pod_spec["securityContext"]
    assert pod_sc["runAsNonRoot"] is True
    assert pod_sc["runAsUser"] > 0 and pod_sc["runAsGroup"] > 0
    assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in pod_spec["containers"]:
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == capabilities
        assert not sc.get("privileged")
        assert sc["runAsNonRoot"] is True and sc.get("runAsUser", 1) > 0
        assert not container.get("ports", [{}])[0].get("hostPort")


# What the app container gets: every capability dropped and NET_BIND_SERVICE, the only add "restricted" allows,
# added back, so the OCI capability sets are never empty (containerd-shim-spin's libcontainer treats an empty
# set as unset and leaves every capability).
APP_CAPABILITIES = {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}


def test_app_pod_meets_restricted_pod_security(dev_docs):
    _assert_restricted(app_pod(dev_docs), APP_CAPABILITIES)


def test_test_pod_meets_restricted_pod_security_with_a_read_only_root(dev_docs):
    pod = hook_pod(dev_docs)["spec"]
    _assert_restricted(pod, {"drop": ["ALL"]})
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


# What each image format ran with on containerd-shim-spin v0.24.0 (docs/deploy.md, "Proof on the real shim"):
# the FROM scratch image as uid 65534 with a read-only root; Spin's artifact as uid 0, because the shim creates
# /spin.json in the image's root-owned root; both with CapEff NET_BIND_SERVICE only.
@pytest.mark.parametrize("image_format, sets, uid, read_only", [
    ("scratch", {}, 65534, True),
    ("spin", {"allowRootForSpinArtifact": "true"}, 0, False),
])
def test_each_image_format_gets_its_security_context_and_the_spin_dirs(image_format, sets, uid, read_only):
    docs = render(sets={"imageFormat": image_format, **sets})
    pod, container = app_pod(docs), app_container(docs)
    assert pod["securityContext"] == {"runAsNonRoot": uid != 0, "runAsUser": uid, "runAsGroup": uid, "fsGroup": 65534,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False, "capabilities": APP_CAPABILITIES, "readOnlyRootFilesystem": read_only,
        "runAsNonRoot": uid != 0, "runAsUser": uid, "runAsGroup": uid, "seccompProfile": {"type": "RuntimeDefault"}}
    # Where the Spin host writes: its state directory (/.spin) and the shim's cache (/.cache), both emptyDirs
    # with a size limit, group-owned by fsGroup so uid/gid 65534 can write them without a capability.
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts == {"/.spin": "spin-state", "/.cache": "spin-cache"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes == {name: {"name": name, "emptyDir": {"sizeLimit": "64Mi"}} for name in mounts.values()}


def test_scratch_is_the_default_image_format_with_a_read_only_root(dev_docs):
    assert app_container(dev_docs)["securityContext"]["readOnlyRootFilesystem"] is True


def test_pods_get_no_service_account_token(dev_docs):
    assert app_pod(dev_docs)["automountServiceAccountToken"] is False
    assert hook_pod(dev_docs)["spec"]["automountServiceAccountToken"] is False
    account = one(dev_docs, "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    assert app_pod(dev_docs)["serviceAccountName"] == account["metadata"]["name"] == FULLNAME


def test_existing_service_account_can_be_used_instead():
    docs = render(sets={"serviceAccount.create": "false", "serviceAccount.name": "shared"})
    assert "ServiceAccount" not in kinds(docs)
    assert app_pod(docs)["serviceAccountName"] == "shared"


def test_network_policy_admits_only_same_namespace_clients_when_enabled():
    policy = one(render(sets={"networkPolicy.enabled": "true"}), "NetworkPolicy")
    assert policy["spec"]["podSelector"] == {"matchLabels": SELECTOR}
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    # An empty podSelector with no namespaceSelector: every pod of the policy's own namespace, nothing else.
    assert rule["from"] == [{"podSelector": {}}]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]


# Probes


def test_probes_are_http_gets_on_spin_health_and_the_components_healthz(dev_docs):
    container = app_container(dev_docs)
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert list(container[probe]) and "exec" not in container[probe], probe
        assert container[probe]["httpGet"]["port"] == "http", probe
    assert container["startupProbe"]["httpGet"]["path"] == "/.well-known/spin/health"
    assert container["livenessProbe"]["httpGet"]["path"] == "/.well-known/spin/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"


# helm test


@pytest.mark.parametrize("values, want", [(VALUES_DEV, "false"), (VALUES_PROD, "true")])
def test_helm_test_pod_curls_the_service_and_expects_this_releases_prod(values, want):
    pod = hook_pod(render(values))
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (container,) = pod["spec"]["containers"]
    env = env_of(container)
    assert env["BASE_URL"]["value"] == f"http://{FULLNAME}:80"
    assert env["WANT_PROD"]["value"] == want
    assert pod["spec"]["restartPolicy"] == "Never"


@pytest.mark.parametrize(
    "served_prod, want_prod, passes",
    [("true", "true", True), ("false", "false", True), ("false", "true", False), (None, "false", False)],
)
def test_helm_test_script_passes_only_when_the_service_reports_the_expected_prod(
    fake_component, served_prod, want_prod, passes
):
    # The test pod's own shell script, run here with sh, curl and grep against a stand-in for the component.
    (container,) = hook_pod(render(sets={"prod": want_prod}))["spec"]["containers"]
    assert container["command"] == ["/bin/sh", "-c"]
    env = {"BASE_URL": fake_component(served_prod), "WANT_PROD": env_of(container)["WANT_PROD"]["value"]}
    result = run_script(container["args"][0], env)
    assert (result.returncode == 0) is passes, result.stdout + result.stderr


def test_helm_test_pod_runs_a_pinned_curl_image_on_an_ordinary_node(dev_docs):
    pod = hook_pod(dev_docs)["spec"]
    assert "runtimeClassName" not in pod
    image = pod["containers"][0]["image"]
    assert image.startswith("curlimages/curl:") and not image.endswith(":latest")


def test_helm_test_pod_is_not_selected_by_the_service_or_the_pdb(dev_docs):
    labels = hook_pod(dev_docs)["metadata"]["labels"]
    assert not SELECTOR.items() <= labels.items()


# Labels and metadata


def test_every_object_carries_the_standard_labels_and_no_namespace(dev_docs):
    for doc in dev_docs:
        meta = doc["metadata"]
        labels = meta["labels"]
        where = f"{doc['kind']}/{meta['name']}"
        assert labels["app.kubernetes.io/instance"] == RELEASE, where
        assert labels["app.kubernetes.io/managed-by"] == "Helm", where
        assert labels["app.kubernetes.io/version"] == CHART_META["appVersion"], where
        assert labels["helm.sh/chart"] == f"internal-service-{CHART_META['version']}", where
        assert labels["app.kubernetes.io/name"].startswith("internal-service"), where
        assert "namespace" not in meta, where


def test_deployment_selector_matches_its_pod_template(dev_docs):
    deployment = one(dev_docs, "Deployment")
    assert deployment["spec"]["selector"] == {"matchLabels": SELECTOR}
    assert SELECTOR.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_chart_refuses_kubernetes_older_than_its_kube_version():
    from chartlib import helm

    result = helm("template", RELEASE, str(CHART), "--kube-version", "1.24.0")
    assert result.returncode != 0 and "kubeVersion" in result.stderr
