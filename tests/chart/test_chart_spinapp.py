"""workload=spinapp: a SpinKube SpinApp instead of the Deployment and Service, validated strictly against
spin-operator v0.6.1's CRD (../shared/crds), with the HPA, PDB and NetworkPolicy selecting the pods it makes."""

import copy
import json

import pytest
import yaml
from chartlib import (
    FULLNAME,
    POD,
    POD_FACTS,
    SELECTOR,
    SERVICE_ENV,
    VALUES_DEV,
    VALUES_PROD,
    VALUES_SPINAPP,
    env_of,
    hook_pod,
    kinds,
    one,
    refusals,
    render,
    spin_variables,
    spinapp_pod_variables,
)
from crdschema import crd_errors

DIGEST = "sha256:" + "fedcba9876543210" * 4


def spinapp_docs(*values, sets=None, set_json=None):
    return render(VALUES_SPINAPP, *values, sets=sets, set_json=set_json)


@pytest.fixture(scope="module")
def docs():
    return spinapp_docs(VALUES_DEV, sets={"hub": "localhost:5001", "digest": DIGEST})


@pytest.fixture(scope="module")
def spinapp(docs):
    return one(docs, "SpinApp")


def test_spinapp_replaces_the_deployment_and_the_service(docs):
    # spin-operator makes both, named like the SpinApp; a Service from the chart would fight over the name.
    assert kinds(docs) == ["HorizontalPodAutoscaler", "Pod", "PodDisruptionBudget", "ServiceAccount", "SpinApp"]
    assert one(docs, "SpinApp")["metadata"]["name"] == FULLNAME


@pytest.mark.parametrize(
    "values, sets, set_json",
    [
        ([VALUES_DEV], None, None),
        ([VALUES_PROD], None, None),
        ([VALUES_DEV], {"autoscaling.enabled": "false", "networkPolicy.enabled": "true", "imageFormat": "spin",
                        "allowRootForSpinArtifact": "true"},
         {"imagePullSecrets": '[{"name": "regcred"}]', "podLabels": '{"team": "platform"}',
          "podAnnotations": '{"example.com/owner": "platform"}', "env": '{"GREETING": "hi"}',
          "readinessProbe": '{"httpGet": {"path": "/healthz", "port": "http", "httpHeaders": [{"name": "X-Probe", "value": "1"}]}, "initialDelaySeconds": 1, "successThreshold": 1}'}),
    ],
    ids=["dev", "prod", "every-option"],
)
def test_rendered_spinapp_validates_strictly_against_the_crd(values, sets, set_json):
    spinapp = one(spinapp_docs(*values, sets=sets, set_json=set_json), "SpinApp")
    assert crd_errors(spinapp) == []


@pytest.mark.parametrize(
    "plant, field",
    [
        (lambda spec: spec.update(replica=3), "replica"),
        (lambda spec: spec["checks"]["readiness"]["httpGet"].update(port="http"), "checks.readiness.httpGet"),
        (lambda spec: spec["variables"][0].update(valueFrm={}), "variables.0"),
        (lambda spec: spec.update(replicas="three"), "replicas"),
    ],
    ids=["unknown-field", "probe-port", "variable-typo", "wrong-type"],
)
def test_a_planted_typo_fails_the_crd_check(spinapp, plant, field):
    planted = copy.deepcopy(spinapp)
    plant(planted["spec"])
    errors = crd_errors(planted)
    assert errors and any(field in e for e in errors), errors


def test_spinapp_runs_the_same_image(spinapp):
    assert spinapp["spec"]["image"] == f"localhost:5001/envapp@{DIGEST}"
    assert spinapp["spec"]["executor"] == "containerd-shim-spin"


@pytest.mark.parametrize("values, want", [(VALUES_DEV, "false"), (VALUES_PROD, "true")])
def test_the_pod_facts_then_pod_variables_are_spin_variables(values, want):
    variables = one(spinapp_docs(values), "SpinApp")["spec"]["variables"]
    names = [v["name"] for v in variables]
    # spin-operator keeps this order in the pod's env, so pod_variables can reference the facts before it.
    assert names == [name.lower() for name in POD_FACTS] + ["pod_variables"]
    for variable, (name, source) in zip(variables, POD_FACTS.items()):
        assert variable == {"name": name.lower(), "valueFrom": source}, name
    assert set(names) <= set(spin_variables())
    pod = spinapp_pod_variables(one(spinapp_docs(values), "SpinApp"))
    facts = {name.lower(): value for name, value in {**POD, **SERVICE_ENV}.items()}
    assert pod == {**facts, "hostname": POD["POD_NAME"], "prod": want, "extra_env": "{}"}


def test_env_map_reaches_the_component_as_written():
    entries = {"TEAM": "platform", "REF": "$(SPIN_VARIABLE_POD_NAME)", "DOLLARS": "$$"}
    spinapp = one(spinapp_docs(set_json={"env": json.dumps(entries)}), "SpinApp")
    assert json.loads(spinapp_pod_variables(spinapp)["extra_env"]) == entries


def test_checks_ask_the_same_paths_on_the_apps_port(spinapp):
    checks = spinapp["spec"]["checks"]
    assert checks["liveness"] == {"httpGet": {"path": "/.well-known/spin/health"}, "periodSeconds": 10,
                                  "timeoutSeconds": 2, "failureThreshold": 3}
    assert checks["readiness"]["httpGet"] == {"path": "/healthz"}


def test_autoscaling_leaves_replicas_to_the_charts_hpa_on_the_operators_deployment(docs, spinapp):
    assert spinapp["spec"]["enableAutoscaling"] is True and "replicas" not in spinapp["spec"]
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": FULLNAME}


def test_without_autoscaling_the_spinapp_runs_replica_count_pods():
    docs = spinapp_docs(sets={"autoscaling.enabled": "false"})
    assert "HorizontalPodAutoscaler" not in kinds(docs)
    spec = one(docs, "SpinApp")["spec"]
    assert spec["replicas"] == 3 and "enableAutoscaling" not in spec


def test_pdb_and_network_policy_select_the_operators_pods_by_the_charts_labels():
    docs = spinapp_docs(sets={"networkPolicy.enabled": "true"})
    pod_labels = one(docs, "SpinApp")["spec"]["podLabels"]
    assert SELECTOR.items() <= pod_labels.items()
    assert one(docs, "PodDisruptionBudget")["spec"]["selector"] == {"matchLabels": SELECTOR}
    policy = one(docs, "NetworkPolicy")["spec"]
    assert policy["podSelector"] == {"matchLabels": SELECTOR}
    # spin-operator names its container port http-app (port 80).
    assert policy["ingress"][0]["ports"] == [{"port": "http-app", "protocol": "TCP"}]


def test_resources_service_account_and_spin_dirs_carry_over(docs, spinapp):
    deployment_docs = render(VALUES_DEV)
    (container,) = one(deployment_docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert spinapp["spec"]["resources"] == container["resources"]
    assert spinapp["spec"]["serviceAccountName"] == one(docs, "ServiceAccount")["metadata"]["name"]
    assert {m["mountPath"] for m in spinapp["spec"]["volumeMounts"]} == {"/.spin", "/.cache"}


def test_helm_test_reaches_the_operators_service_on_port_80(docs):
    (container,) = hook_pod(docs)["spec"]["containers"]
    assert env_of(container)["BASE_URL"]["value"] == f"http://{FULLNAME}:80"


def test_values_spinapp_switches_off_exactly_what_a_spinapp_cannot_carry(tmp_path):
    # Every setting in values-spinapp.yaml is needed: without any one of them the chart refuses the values.
    settings = yaml.safe_load(VALUES_SPINAPP.read_text())
    leaves = [(key, sub) for key, value in settings.items() if key != "workload"
              for sub in (value if isinstance(value, dict) else [None])]
    for key, sub in leaves:
        reduced = copy.deepcopy(settings)
        if sub is None:
            del reduced[key]
        else:
            del reduced[key][sub]
        path = tmp_path / f"without-{key}-{sub}.yaml"
        path.write_text(yaml.safe_dump(reduced))
        output = refusals(path)["template"]
        assert "workload=spinapp: a SpinApp has no field for" in output, (key, sub)

