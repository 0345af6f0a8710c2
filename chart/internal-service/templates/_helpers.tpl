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

{{/* Labels on every object. */}}
{{- define "internal-service.labels" -}}
helm.sh/chart: {{ include "internal-service.chart" . }}
{{ include "internal-service.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: server
app.kubernetes.io/part-of: envapp
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels: stable for the life of a release (a Deployment's selector is immutable). */}}
{{- define "internal-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "internal-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
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
Checks across values that the JSON schema cannot express; called from deployment.yaml so they run on every
render. The schema already checks each value on its own.
*/}}
{{- define "internal-service.validate" -}}
{{- if and .Values.autoscaling.enabled (lt (int .Values.autoscaling.maxReplicas) (int .Values.autoscaling.minReplicas)) }}
{{- fail (printf "autoscaling.maxReplicas (%d) must be at least autoscaling.minReplicas (%d)" (int .Values.autoscaling.maxReplicas) (int .Values.autoscaling.minReplicas)) }}
{{- end }}
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
