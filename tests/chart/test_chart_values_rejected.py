"""Bad values are refused by `helm template`, `helm install` and `helm lint --strict` alike, naming the field.

Each row must fail all three commands with the field (or the clash) named in each one's output: per-value rules
come from values.schema.json, rules across values from the chart's validate helper, which also fails under
`helm lint` (where Helm's own `fail` does nothing).
"""

import json

import pytest
from chartlib import VALUES_SPINAPP, refusals

APPARMOR = "container.apparmor.security.beta.kubernetes.io/internal-service"

# (id, sets, set_json, what each command's output must name)
BAD_VALUES = [
    # Pod Security Standards "restricted" (and the baseline rules it includes)
    ("privileged", {"securityContext.privileged": "true"}, None, "/securityContext/privileged"),
    ("privilege-escalation", {"securityContext.allowPrivilegeEscalation": "true"}, None,
     "/securityContext/allowPrivilegeEscalation"),
    ("pod-uid-0", {"podSecurityContext.runAsUser": "0"}, None, "/podSecurityContext/runAsUser"),
    ("container-uid-0", {"securityContext.runAsUser": "0"}, None, "/securityContext/runAsUser"),
    ("pod-gid-0", {"podSecurityContext.runAsGroup": "0"}, None, "/podSecurityContext/runAsGroup"),
    ("pod-run-as-root-allowed", {"podSecurityContext.runAsNonRoot": "false"}, None, "/podSecurityContext/runAsNonRoot"),
    ("container-run-as-root-allowed", {"securityContext.runAsNonRoot": "false"}, None, "/securityContext/runAsNonRoot"),
    ("pod-security-context-removed", {"podSecurityContext": "null"}, None, "podSecurityContext'"),
    ("container-security-context-removed", {"securityContext": "null"}, None, "securityContext'"),
    ("capability-added", {"securityContext.capabilities.add": "{SYS_ADMIN}"}, None, "/securityContext/capabilities/add"),
    ("capability-add-emptied", None, {"securityContext.capabilities.add": "[]"}, "/securityContext/capabilities/add"),
    ("capability-add-removed", {"securityContext.capabilities.add": "null"}, None, "'add'"),
    ("capability-drop-emptied", None, {"securityContext.capabilities.drop": "[]"}, "/securityContext/capabilities/drop"),
    ("capability-drop-partial", {"securityContext.capabilities.drop": "{NET_RAW}"}, None,
     "/securityContext/capabilities/drop"),
    ("pod-seccomp-unconfined", {"podSecurityContext.seccompProfile.type": "Unconfined"}, None,
     "/podSecurityContext/seccompProfile/type"),
    ("container-seccomp-unconfined", {"securityContext.seccompProfile.type": "Unconfined"}, None,
     "/securityContext/seccompProfile/type"),
    ("seccomp-localhost-without-profile", {"podSecurityContext.seccompProfile.type": "Localhost"}, None,
     "localhostProfile"),
    ("selinux-options", None, {"securityContext.seLinuxOptions": '{"type": "spc_t"}'}, "seLinuxOptions"),
    ("sysctls", None, {"podSecurityContext.sysctls": '[{"name": "kernel.shm_rmid_forced", "value": "0"}]'}, "sysctls"),
    ("proc-mount", {"securityContext.procMount": "Unmasked"}, None, "procMount"),
    ("windows-host-process", None, {"securityContext.windowsOptions": '{"hostProcess": true}'}, "windowsOptions"),
    ("apparmor-annotation-unconfined", None, {"podAnnotations": json.dumps({APPARMOR: "unconfined"})},
     "/podAnnotations/container.apparmor.security.beta.kubernetes.io~1internal-service"),
    ("seccomp-annotation-unconfined", None,
     {"podAnnotations": json.dumps({"seccomp.security.alpha.kubernetes.io/pod": "unconfined"})},
     "/podAnnotations/seccomp.security.alpha.kubernetes.io~1pod"),
    ("read-only-root-as-a-value", {"securityContext.readOnlyRootFilesystem": "false"}, None, "readOnlyRootFilesystem"),
    # Disruption budgets that allow no disruption
    ("pdb-zero", {"podDisruptionBudget.maxUnavailable": "0"}, None, "/podDisruptionBudget/maxUnavailable"),
    ("pdb-zero-percent", {"podDisruptionBudget.maxUnavailable": "0%"}, None, "/podDisruptionBudget/maxUnavailable"),
    ("pdb-over-100-percent", {"podDisruptionBudget.maxUnavailable": "150%"}, None, "/podDisruptionBudget/maxUnavailable"),
    ("pdb-without-budget", {"podDisruptionBudget.maxUnavailable": "null"}, None, "maxUnavailable"),
    # Quantities
    ("negative-cpu", {"resources.requests.cpu": "-100m"}, None, "/resources/requests/cpu"),
    ("memory-suffix-garbage", {"resources.requests.memory": "10kkk"}, None, "/resources/requests/memory"),
    ("memory-two-points", {"resources.limits.memory": "1.5.5Gi"}, None, "/resources/limits/memory"),
    ("ephemeral-storage-words", {"resources.limits.ephemeral-storage": "lots"}, None,
     "/resources/limits/ephemeral-storage"),
    ("size-limit-in-mb", {"spinDirs.sizeLimit": "64MB"}, None, "/spinDirs/sizeLimit"),
    ("cpu-request-removed", {"resources.requests.cpu": "null"}, None, "cpu"),
    ("unknown-resource", {"resources.requests.gpu": "1"}, None, "'gpu'"),
    # Integers outside int32 (and below their floors)
    ("replicas-over-int32", {"replicaCount": "10000000000"}, None, "/replicaCount"),
    ("replicas-below-3", {"replicaCount": "1"}, None, "/replicaCount"),
    ("max-replicas-over-int32", {"autoscaling.maxReplicas": "2147483648"}, None, "/autoscaling/maxReplicas"),
    ("min-replicas-below-3", {"autoscaling.minReplicas": "2"}, None, "/autoscaling/minReplicas"),
    ("cpu-target-over-int32", {"autoscaling.targetCPUUtilizationPercentage": "3000000000"}, None,
     "/autoscaling/targetCPUUtilizationPercentage"),
    ("service-port-over-65535", {"service.port": "70000"}, None, "/service/port"),
    ("max-skew-zero", {"topologySpread.maxSkew": "0"}, None, "/topologySpread/maxSkew"),
    ("probe-period-over-int32", {"livenessProbe.periodSeconds": "3000000000"}, None, "/livenessProbe/periodSeconds"),
    # DNS names, label keys and values
    ("runtime-class-name", {"runtimeClassName": "Bad_Name!"}, None, "/runtimeClassName"),
    ("topology-key", {"topologySpread.topologyKey": "bad key!"}, None, "/topologySpread/topologyKey"),
    ("service-account-name", {"serviceAccount.name": "Bad_Account"}, None, "/serviceAccount/name"),
    ("pull-secret-name", None, {"imagePullSecrets": '[{"name": "UPPER"}]'}, "/imagePullSecrets/0/name"),
    ("fullname-starts-with-digit", {"fullnameOverride": "9lives"}, None, "/fullnameOverride"),
    ("name-with-underscore", {"nameOverride": "under_score"}, None, "/nameOverride"),
    ("executor-name", {"spinapp.executor": "Bad_Exec"}, None, "/spinapp/executor"),
    ("pod-label-value", None, {"podLabels": '{"team": "has space"}'}, "/podLabels/team"),
    ("pod-label-key", None, {"podLabels": '{"bad key": "x"}'}, "'bad key'"),
    ("pod-label-over-selector-name", None, {"podLabels": '{"app.kubernetes.io/name": "other"}'},
     "/podLabels/app.kubernetes.io~1name"),
    ("pod-label-over-selector-instance", None, {"podLabels": '{"app.kubernetes.io/instance": "other"}'},
     "/podLabels/app.kubernetes.io~1instance"),
    ("node-selector-value", None, {"nodeSelector": '{"wasm": "yes please"}'}, "/nodeSelector/wasm"),
    ("annotation-key", None, {"podAnnotations": '{"-bad-": "x"}'}, "'-bad-'"),
    ("toleration-operator", None, {"tolerations": '[{"key": "wasm", "operator": "Sometimes"}]'},
     "/tolerations/0/operator"),
    # Other single values
    ("prod-not-boolean", {"prod": "maybe"}, None, "/prod"),
    ("workload", {"workload": "statefulset"}, None, "/workload"),
    ("image-format", {"imageFormat": "docker"}, None, "/imageFormat"),
    ("spin-artifact-without-root-consent", {"imageFormat": "spin"}, None, "allowRootForSpinArtifact=true"),
    ("root-consent-without-spin-artifact", {"allowRootForSpinArtifact": "true"}, None,
     "allowRootForSpinArtifact=true applies to imageFormat=spin only"),
    ("root-consent-not-a-boolean", {"allowRootForSpinArtifact": "yes"}, None, "/allowRootForSpinArtifact"),
    ("digest-short", {"digest": "sha256:abc"}, None, "/digest"),
    ("hub-with-scheme", {"hub": "https://registry.example.com"}, None, "/hub"),
    ("anti-affinity-mode", {"podAntiAffinity": "sometimes"}, None, "/podAntiAffinity"),
    ("env-not-string", None, {"env": '{"COUNT": 3}'}, "/env/COUNT"),
    ("exec-probe", None, {"readinessProbe": '{"exec": {"command": ["true"]}}'}, "/readinessProbe"),
    ("probe-other-port", {"startupProbe.httpGet.port": "9090"}, None, "/startupProbe/httpGet/port"),
    ("test-image-latest", {"test.image": "curlimages/curl:latest"}, None, "/test/image"),
    ("test-image-untagged", {"test.image": "curlimages/curl"}, None, "/test/image"),
    ("unknown-top-level-key", {"replicaCont": "3"}, None, "'replicaCont'"),
    ("host-env-value-and-value-from", None,
     {"hostEnv": '[{"name": "A", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]'},
     "/hostEnv/0"),
    ("host-env-name", None, {"hostEnv": '[{"name": "1BAD", "value": "x"}]'}, "/hostEnv/0/name"),
    ("otel-without-endpoint", {"otel.enabled": "true"}, None, "/otel/endpoint"),
    ("otel-endpoint-not-url", {"otel.endpoint": "collector:4318"}, None, "/otel/endpoint"),
    ("otel-http-json", {"otel.protocol": "http/json"}, None, "/otel/protocol"),
    ("otel-ratio-over-1", {"otel.samplerRatio": "2"}, None, "/otel/samplerRatio"),
    ("pre-stop-negative", {"preStopSleepSeconds": "-1"}, None, "/preStopSleepSeconds"),
    ("grace-period-zero", {"terminationGracePeriodSeconds": "0"}, None, "/terminationGracePeriodSeconds"),
    ("hpa-behavior-typo", None, {"autoscaling.behavior": '{"scaleDwn": {}}'}, "/autoscaling/behavior"),
    # Rules across values (the chart's validate helper)
    ("max-below-min-replicas", {"autoscaling.minReplicas": "6", "autoscaling.maxReplicas": "4"}, None,
     "autoscaling.maxReplicas (4) must be at least autoscaling.minReplicas (6)"),
    ("host-env-prod", None, {"hostEnv": '[{"name": "PROD", "value": "true"}]'}, "hostEnv[0].name PROD clashes"),
    ("host-env-redact-secrets", None, {"hostEnv": '[{"name": "REDACT_SECRETS", "value": "false"}]'},
     "hostEnv[0].name REDACT_SECRETS clashes"),
    ("host-env-listen-addr", None, {"hostEnv": '[{"name": "SPIN_HTTP_LISTEN_ADDR", "value": "0.0.0.0:80"}]'},
     "hostEnv[0].name SPIN_HTTP_LISTEN_ADDR clashes"),
    ("host-env-spin-variable", None, {"hostEnv": '[{"name": "SPIN_VARIABLE_PROD", "value": "true"}]'},
     "hostEnv[0].name SPIN_VARIABLE_PROD clashes"),
    ("host-env-otel-name", None, {"hostEnv": '[{"name": "OTEL_SERVICE_NAME", "value": "x"}]'},
     "hostEnv[0].name OTEL_SERVICE_NAME clashes"),
    ("host-env-repeated", None, {"hostEnv": '[{"name": "RUST_LOG", "value": "a"}, {"name": "RUST_LOG", "value": "b"}]'},
     "hostEnv[1].name RUST_LOG repeats hostEnv[0]"),
    ("deployment-without-runtime-class", {"runtimeClassName": ""}, None, "runtimeClassName is empty"),
    ("grace-period-not-longer-than-the-sleep", {"preStopSleepSeconds": "30", "terminationGracePeriodSeconds": "30"},
     None, "terminationGracePeriodSeconds (30) must be longer than preStopSleepSeconds (30)"),
    ("host-env-pod-variables", None, {"hostEnv": '[{"name": "POD_VARIABLES", "value": "{}"}]'},
     "hostEnv[0].name POD_VARIABLES clashes"),
]


@pytest.mark.parametrize("sets, set_json, field", [row[1:] for row in BAD_VALUES], ids=[row[0] for row in BAD_VALUES])
def test_template_install_and_lint_refuse_the_value_naming_the_field(sets, set_json, field):
    for command, output in refusals(sets=sets, set_json=set_json).items():
        assert field in output, f"helm {command} did not name {field!r}:\n{output}"


def test_the_table_is_at_least_forty_rows_with_unique_ids():
    ids = [row[0] for row in BAD_VALUES]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)


# workload=spinapp: values a SpinApp cannot carry, on top of values-spinapp.yaml (which switches the defaults off).
SPINAPP_REFUSED = [
    ("restricted-not-waived", {"spinapp.allowUnrestrictedPods": "false"}, None, "spinapp.allowUnrestrictedPods=true"),
    ("anti-affinity", {"podAntiAffinity": "required"}, None, "set podAntiAffinity=none (it is required)"),
    ("topology-spread", {"topologySpread.enabled": "true"}, None, "set topologySpread.enabled=false"),
    ("node-selector", None, {"nodeSelector": '{"wasm": "true"}'}, "nodeSelector"),
    ("tolerations", None, {"tolerations": '[{"key": "wasm", "operator": "Exists"}]'}, "tolerations"),
    ("runtime-class", {"runtimeClassName": "wasmtime-spin-v2"}, None, "set runtimeClassName to an empty string"),
    ("startup-probe", {"startupProbe.enabled": "true"}, None, "set startupProbe.enabled=false"),
    ("probe-grace-period", {"livenessProbe.terminationGracePeriodSeconds": "5"}, None,
     "livenessProbe.terminationGracePeriodSeconds"),
    ("host-env", None, {"hostEnv": '[{"name": "RUST_LOG", "value": "info"}]'}, "empty hostEnv"),
    ("otel", {"otel.enabled": "true", "otel.endpoint": "http://collector:4318"}, None, "set otel.enabled=false"),
    ("service-port", {"service.port": "8080"}, None, "set service.port=80"),
    ("pull-policy", {"imagePullPolicy": "Always"}, None, "set imagePullPolicy=IfNotPresent"),
    ("pre-stop-sleep", {"preStopSleepSeconds": "10"}, None, "set preStopSleepSeconds=0"),
    ("grace-period", {"terminationGracePeriodSeconds": "60"}, None, "set terminationGracePeriodSeconds=30"),
]


@pytest.mark.parametrize("sets, set_json, wanted", [r[1:] for r in SPINAPP_REFUSED], ids=[r[0] for r in SPINAPP_REFUSED])
def test_spinapp_workload_refuses_what_a_spinapp_cannot_carry(sets, set_json, wanted):
    for command, output in refusals(VALUES_SPINAPP, sets=sets, set_json=set_json).items():
        assert "workload=spinapp: a SpinApp has no field for" in output and wanted in output, (
            f"helm {command} did not refuse with {wanted!r}:\n{output}"
        )


def test_spinapp_workload_alone_lists_every_setting_to_switch_off_and_the_file_that_does():
    output = refusals(sets={"workload": "spinapp"})["template"]
    for wanted in ("spinapp.allowUnrestrictedPods=true", "podAntiAffinity=none", "topologySpread.enabled=false",
                   "runtimeClassName to an empty string", "startupProbe.enabled=false", "chart/values-spinapp.yaml"):
        assert wanted in output, wanted
