{{/* Name prefix: the release name, or "fn-operator" when the release name already contains it. */}}
{{- define "fnop.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object: include with (list $ "operator") for a component's objects, (list $ "") otherwise. */}}
{{- define "fnop.labels" -}}
{{- $root := index . 0 -}}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: fn-operator
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
{{- if index . 1 }}
{{ include "fnop.selector" . }}
{{- else }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
{{- end }}
{{- with $root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: include with (list $ "operator"). */}}
{{- define "fnop.selector" -}}
app.kubernetes.io/name: fn-operator
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "fnop.image" -}}
{{- $root := index . 0 -}}
{{- printf "%s%s:%s" $root.Values.imageRegistry (index . 1).repository ($root.Values.imageTag | default $root.Chart.AppVersion) -}}
{{- end -}}

{{- define "fnop.operatorName" -}}{{ include "fnop.fullname" . }}{{- end -}}
{{- define "fnop.gatewayName" -}}{{ include "fnop.fullname" . }}-gateway{{- end -}}
{{- define "fnop.natsName" -}}{{ include "fnop.fullname" . }}-nats{{- end -}}
{{- define "fnop.operatorSA" -}}{{ .Values.serviceAccount.operator.name | default (include "fnop.operatorName" .) }}{{- end -}}
{{- define "fnop.gatewaySA" -}}{{ .Values.serviceAccount.gateway.name | default (include "fnop.gatewayName" .) }}{{- end -}}

{{/* The gateway Service's in-cluster URL: FNOP_SOURCE_URL of every shim. */}}
{{- define "fnop.gatewayUrl" -}}
{{- printf "http://%s.%s.svc.cluster.local:%d" .Values.gateway.serviceName .Release.Namespace (int .Values.gateway.service.port) -}}
{{- end -}}

{{/* The NATS URL the gateway uses, empty for the in-process queue. */}}
{{- define "fnop.natsUrl" -}}
{{- if and .Values.nats.enabled .Values.nats.externalUrl -}}
{{- fail "nats.enabled and nats.externalUrl are mutually exclusive: run the chart's NATS or point at an existing one, not both" -}}
{{- else if .Values.nats.enabled -}}
{{- printf "nats://%s.%s.svc.cluster.local:4222" (include "fnop.natsName" .) .Release.Namespace -}}
{{- else -}}
{{- .Values.nats.externalUrl -}}
{{- end -}}
{{- end -}}

{{/* Pod Security Standards "restricted": pod level. */}}
{{- define "fnop.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Pod Security Standards "restricted": container level, plus a read-only root filesystem. */}}
{{- define "fnop.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The Secret holding the cluster key (key "cluster-key"), mounted into the gateway (and the operator, which mints per-Deployment pull credentials from it). */}}
{{- define "fnop.clusterKeySecret" -}}{{ .Values.gateway.clusterKey.existingSecret | default (printf "%s-cluster-key" (include "fnop.fullname" .)) }}{{- end -}}

{{/* The Secret holding the gateway's NATS credential (keys "user", "password"). */}}
{{- define "fnop.natsAuthSecret" -}}{{ .Values.nats.auth.existingSecret | default (printf "%s-nats-auth" (include "fnop.fullname" .)) }}{{- end -}}

{{/* GOMEMLIMIT for NATS: 90 % of its memory limit (Mi or Gi), so the Go runtime collects before the kernel kills. */}}
{{- define "fnop.natsGoMemLimit" -}}
{{- $limit := toString (dig "limits" "memory" "" .Values.nats.resources) -}}
{{- if hasSuffix "Gi" $limit -}}{{ div (mul (trimSuffix "Gi" $limit | int) 9216) 10 }}MiB
{{- else if hasSuffix "Mi" $limit -}}{{ div (mul (trimSuffix "Mi" $limit | int) 9) 10 }}MiB
{{- end -}}
{{- end -}}
