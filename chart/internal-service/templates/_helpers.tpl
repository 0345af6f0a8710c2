{{/*
Names and labels, defined once (like `helm create`); every template uses these.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "internal-service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full object name: release name + chart name, unless the release name already contains the chart name.
Truncated to 63 characters, the DNS label limit some name fields have.
*/}}
{{- define "internal-service.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "internal-service.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. values.schema.json refuses podLabels with these keys. */}}
{{- define "internal-service.labels" -}}
helm.sh/chart: {{ include "internal-service.chart" . }}
{{ include "internal-service.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: server
app.kubernetes.io/part-of: envapp
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels: stable for the life of a release (a Deployment's selector is immutable). With
workload=spinapp the chart puts them on the pods through the SpinApp's podLabels, so the PDB, the
NetworkPolicy and the Service select the same pods in both modes.
*/}}
{{- define "internal-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "internal-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels of the `helm test` pod: the release's labels, but a different app.kubernetes.io/name, so the Service,
the PDB and the anti-affinity rules never select the test pod.
*/}}
{{- define "internal-service.testLabels" -}}
helm.sh/chart: {{ include "internal-service.chart" . }}
app.kubernetes.io/name: {{ include "internal-service.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: test
app.kubernetes.io/part-of: envapp
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The pod labels: the chart's labels plus podLabels. */}}
{{- define "internal-service.podLabels" -}}
{{ include "internal-service.labels" . }}
{{- with .Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The ServiceAccount the pods use. */}}
{{- define "internal-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "internal-service.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: hub/image@digest when a digest pins it, else hub/image:tag (tag defaults to appVersion). */}}
{{- define "internal-service.image" -}}
{{- if .Values.digest }}
{{- printf "%s/%s@%s" .Values.hub .Values.image .Values.digest }}
{{- else }}
{{- printf "%s/%s:%s" .Values.hub .Values.image (default .Chart.AppVersion .Values.tag) }}
{{- end }}
{{- end }}

{{/*
The name of the app container's port: the chart's Deployment names it http (8080); spin-operator names the
port of the pods it makes http-app (80, spin-operator pkg/spinapp/spinapp.go).
*/}}
{{- define "internal-service.portName" -}}
{{- ternary "http-app" "http" (eq .Values.workload "spinapp") }}
{{- end }}

{{/*
The pod facts the component reports, as Spin variables of spin.toml with their downward API source. One list
for both workloads: the Deployment sets each as container env named like the variable in upper case (the shim
copies it to SPIN_VARIABLE_<NAME>), the SpinApp as a variable (spin-operator sets SPIN_VARIABLE_<NAME>).
KUBERNETES_SERVICE_HOST/PORT (the kubelet) and HOSTNAME (containerd's CRI) are already in every container's env.
*/}}
{{- define "internal-service.podFacts" -}}
- {variable: pod_name, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
- {variable: pod_namespace, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
- {variable: pod_uid, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}
- {variable: node_name, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
- {variable: service_account, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}
- {variable: pod_ip, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
- {variable: host_ip, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
- {variable: cpu_request_millicores, valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}}
- {variable: cpu_limit_millicores, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}}
- {variable: memory_request_mib, valueFrom: {resourceFieldRef: {resource: requests.memory, divisor: 1Mi}}}
- {variable: memory_limit_mib, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
{{- end }}

{{/*
pod_variables: every Spin variable of the pod in one JSON object (variable name -> value), so the component reads
one variable per request instead of 17 (each read costs Spin a thread hand-off; src/pod.rs). Kubernetes completes
it at pod start by dependent variable expansion: each `$(NAME)` names a container env var set before it, or one
the kubelet sets (KUBERNETES_SERVICE_HOST/PORT). HOSTNAME, set by containerd, cannot be referenced; it is the pod's
name, as the kubelet names the sandbox of a pod without spec.hostname. Kubernetes would also expand `$(...)` and
`$$` inside the chart's `env` values: every `$` there is written `$$`, so they reach the component as written.
Called with (list . PREFIX): PREFIX is what the env var of a pod fact is named with before the upper-case variable
name ("" for the Deployment's env, "SPIN_VARIABLE_" for the variables spin-operator sets).
*/}}
{{- define "internal-service.podVariables" -}}
{{- $root := index . 0 }}
{{- $prefix := index . 1 }}
{{- $values := dict "prod" (ternary "true" "false" $root.Values.prod) }}
{{- $_ := set $values "extra_env" ($root.Values.env | toJson | replace "$" "$$") }}
{{- range include "internal-service.podFacts" $root | fromYamlArray }}
{{- $_ := set $values .variable (printf "$(%s%s)" $prefix (upper .variable)) }}
{{- end }}
{{- $_ := set $values "kubernetes_service_host" "$(KUBERNETES_SERVICE_HOST)" }}
{{- $_ := set $values "kubernetes_service_port" "$(KUBERNETES_SERVICE_PORT)" }}
{{- $_ := set $values "hostname" (printf "$(%sPOD_NAME)" $prefix) }}
{{- toJson $values }}
{{- end }}

{{/* The OTEL_* variables of the otel block, as an EnvVar list (empty when otel is off). */}}
{{- define "internal-service.otelEnv" -}}
{{- if .Values.otel.enabled }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.otel.endpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ .Values.otel.protocol | quote }}
- name: OTEL_SERVICE_NAME
  value: {{ default (include "internal-service.fullname" .) .Values.otel.serviceName | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ .Values.otel.sampler | quote }}
{{- if hasSuffix "traceidratio" .Values.otel.sampler }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ .Values.otel.samplerRatio | toString | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Container env names the chart owns, each with why, as a name -> reason map: hostEnv may not set them.
The envapp variables are spin.toml's [variables] in upper case (tests/chart checks this list covers them all):
containerd-shim-spin copies such env to the component, so only the chart may set them.
*/}}
{{- define "internal-service.reservedEnv" -}}
{{- $variable := "an envapp Spin variable (spin.toml): containerd-shim-spin would hand it to the component, which reports what the chart sets; use `prod` or `env`" }}
{{- $reserved := dict "SPIN_HTTP_LISTEN_ADDR" "the chart sets Spin's listen address to the container port http (8080)" }}
{{- range list "prod" "extra_env" "redact_secrets" "kubernetes_service_host" "kubernetes_service_port" "hostname" "pod_variables" }}
{{- $_ := set $reserved (upper .) $variable }}
{{- end }}
{{- range include "internal-service.podFacts" . | fromYamlArray }}
{{- $_ := set $reserved (upper .variable) $variable }}
{{- end }}
{{- range list "OTEL_EXPORTER_OTLP_ENDPOINT" "OTEL_EXPORTER_OTLP_PROTOCOL" "OTEL_SERVICE_NAME" "OTEL_TRACES_SAMPLER" "OTEL_TRACES_SAMPLER_ARG" }}
{{- $_ := set $reserved . "the otel block sets it (otel.endpoint, otel.protocol, otel.serviceName, otel.sampler, otel.samplerRatio)" }}
{{- end }}
{{- toYaml $reserved }}
{{- end }}

{{/*
Stops the render with a message. Helm's `fail` does nothing under `helm lint` (helm pkg/engine/engine.go,
"Don't fail when linting"), which let `helm lint --strict` pass values `helm template` refuses. So, only
reached under lint, the helper then includes a template that does not exist, named by the message: lint
reports that as an error carrying the message, and fails wherever `helm template` and `helm install` do.
*/}}
{{- define "internal-service.fail" -}}
{{- fail . }}
{{- include . nil }}
{{- end }}

{{/*
Rules that tie values together, which the JSON schema cannot express; templates/validate.yaml calls this on
every render. The schema checks each value on its own first.
*/}}
{{- define "internal-service.validate" -}}
{{- $v := .Values }}
{{- $errors := list }}
{{- if and $v.autoscaling.enabled (lt (int64 $v.autoscaling.maxReplicas) (int64 $v.autoscaling.minReplicas)) }}
{{- $errors = append $errors (printf "autoscaling.maxReplicas (%d) must be at least autoscaling.minReplicas (%d)" (int64 $v.autoscaling.maxReplicas) (int64 $v.autoscaling.minReplicas)) }}
{{- end }}
{{- $reserved := include "internal-service.reservedEnv" . | fromYaml }}
{{- $seen := dict }}
{{- range $i, $e := $v.hostEnv }}
{{- if hasKey $reserved $e.name }}
{{- $errors = append $errors (printf "hostEnv[%d].name %s clashes with a name the chart owns: %s" $i $e.name (get $reserved $e.name)) }}
{{- else if hasPrefix "SPIN_VARIABLE_" $e.name }}
{{- $errors = append $errors (printf "hostEnv[%d].name %s clashes with the chart's Spin variables: SPIN_VARIABLE_* reach the component; use `prod` or `env`" $i $e.name) }}
{{- end }}
{{- if hasKey $seen $e.name }}
{{- $errors = append $errors (printf "hostEnv[%d].name %s repeats hostEnv[%d]" $i $e.name (get $seen $e.name)) }}
{{- end }}
{{- $_ := set $seen $e.name $i }}
{{- end }}
{{- if and $v.preStopSleepSeconds (le (int64 $v.terminationGracePeriodSeconds) (int64 $v.preStopSleepSeconds)) }}
{{- $errors = append $errors (printf "terminationGracePeriodSeconds (%d) must be longer than preStopSleepSeconds (%d): Kubernetes kills the pod when the grace period ends, sleep or not" (int64 $v.terminationGracePeriodSeconds) (int64 $v.preStopSleepSeconds)) }}
{{- end }}
{{- if and (eq $v.imageFormat "spin") (not $v.allowRootForSpinArtifact) }}
{{- $errors = append $errors "imageFormat=spin: containerd-shim-spin writes /spin.json into the image's root, which with capabilities really dropped only uid 0 can do; set allowRootForSpinArtifact=true to run as uid 0 with no capability but NET_BIND_SERVICE (Pod Security baseline), or use imageFormat=scratch (restricted)" }}
{{- else if and $v.allowRootForSpinArtifact (ne $v.imageFormat "spin") }}
{{- $errors = append $errors (printf "allowRootForSpinArtifact=true applies to imageFormat=spin only (it is %s): remove it" $v.imageFormat) }}
{{- end }}
{{- if eq $v.workload "spinapp" }}
{{- with include "internal-service.spinappRefusals" . | fromYamlArray }}
{{- $errors = concat $errors . (list "workload=spinapp: chart/values-spinapp.yaml (envapp repository) switches all of these off") }}
{{- end }}
{{- else if not $v.runtimeClassName }}
{{- $errors = append $errors "runtimeClassName is empty: workload=deployment needs the RuntimeClass that runs Spin apps (runtime-class.yaml)" }}
{{- end }}
{{- with $errors }}
{{- include "internal-service.fail" (printf "values refused:\n- %s" (join "\n- " .)) }}
{{- end }}
{{- end }}

{{/*
Values a SpinApp (spin-operator v0.6.1, ../shared/crds) cannot carry, as a list of messages. The chart refuses
them rather than drop them; values-spinapp.yaml next to the chart switches each one off.
*/}}
{{- define "internal-service.spinappRefusals" -}}
{{- $v := .Values }}
{{- $no := "workload=spinapp: a SpinApp has no field for" }}
{{- if not $v.spinapp.allowUnrestrictedPods }}
- {{ printf "%s podSecurityContext or securityContext: spin-operator makes the pods with no security context, outside Pod Security restricted; set spinapp.allowUnrestrictedPods=true to accept that" $no | toJson }}
{{- end }}
{{- if ne $v.podAntiAffinity "none" }}
- {{ printf "%s affinity: set podAntiAffinity=none (it is %s)" $no $v.podAntiAffinity | toJson }}
{{- end }}
{{- if $v.topologySpread.enabled }}
- {{ printf "%s topology spread constraints: set topologySpread.enabled=false" $no | toJson }}
{{- end }}
{{- if $v.nodeSelector }}
- {{ printf "%s nodeSelector: empty it (the SpinAppExecutor's runtime class decides the nodes)" $no | toJson }}
{{- end }}
{{- if $v.tolerations }}
- {{ printf "%s tolerations: empty them" $no | toJson }}
{{- end }}
{{- if $v.runtimeClassName }}
- {{ printf "%s runtimeClassName (the SpinAppExecutor names it): set runtimeClassName to an empty string" $no | toJson }}
{{- end }}
{{- if $v.startupProbe.enabled }}
- {{ printf "%s a startup probe: set startupProbe.enabled=false" $no | toJson }}
{{- end }}
{{- if $v.preStopSleepSeconds }}
- {{ printf "%s a preStop hook: set preStopSleepSeconds=0" $no | toJson }}
{{- end }}
{{- if ne (int64 $v.terminationGracePeriodSeconds) 30 }}
- {{ printf "%s terminationGracePeriodSeconds (its pods get Kubernetes' default, 30): set terminationGracePeriodSeconds=30" $no | toJson }}
{{- end }}
{{- range $probe := list "livenessProbe" "readinessProbe" }}
{{- if hasKey (get $v $probe) "terminationGracePeriodSeconds" }}
- {{ printf "%s %s.terminationGracePeriodSeconds: remove it" $no $probe | toJson }}
{{- end }}
{{- end }}
{{- if $v.hostEnv }}
- {{ printf "%s container env: empty hostEnv" $no | toJson }}
{{- end }}
{{- if $v.otel.enabled }}
- {{ printf "%s OpenTelemetry: set otel.enabled=false and configure otel on the SpinAppExecutor" $no | toJson }}
{{- end }}
{{- if ne (int64 $v.service.port) 80 }}
- {{ printf "%s the Service port: spin-operator's Service listens on 80; set service.port=80" $no | toJson }}
{{- end }}
{{- if ne $v.imagePullPolicy "IfNotPresent" }}
- {{ printf "%s imagePullPolicy (Kubernetes' default applies: IfNotPresent for a tag or digest): set imagePullPolicy=IfNotPresent" $no | toJson }}
{{- end }}
{{- end }}

{{/*
A security context from values with the user the image format needs: the values' (65534) for the FROM scratch
image; uid/gid 0 for Spin's artifact, the only user that can create /spin.json in a root-owned image root once
capabilities are really dropped (allowRootForSpinArtifact, checked in validate). Called with (list . context).
*/}}
{{- define "internal-service.securityContext" -}}
{{- $root := index . 0 }}
{{- $context := deepCopy (index . 1) }}
{{- if eq $root.Values.imageFormat "spin" }}
{{- $_ := set $context "runAsUser" 0 }}
{{- $_ = set $context "runAsGroup" 0 }}
{{- $_ = set $context "runAsNonRoot" false }}
{{- end }}
{{- toYaml $context }}
{{- end }}

{{/*
The emptyDirs where the Spin host writes (spinDirs in values.yaml): /.spin, Spin's state directory for an app
run from / (containerd-shim-spin trigger.rs), and /.cache, the shim's loader cache (utils.rs).
*/}}
{{- define "internal-service.spinDirVolumes" -}}
- name: spin-state
  emptyDir:
    sizeLimit: {{ .Values.spinDirs.sizeLimit }}
- name: spin-cache
  emptyDir:
    sizeLimit: {{ .Values.spinDirs.sizeLimit }}
{{- end }}

{{- define "internal-service.spinDirMounts" -}}
- name: spin-state
  mountPath: /.spin
- name: spin-cache
  mountPath: /.cache
{{- end }}
