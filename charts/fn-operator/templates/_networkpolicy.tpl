{{/* Rule fragments shared by the NetworkPolicies. */}}
{{- define "fnop.np.dns" -}}
# DNS (kube-dns / CoreDNS in kube-system).
- to:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: kube-system}
  ports:
    - {port: 53, protocol: UDP}
    - {port: 53, protocol: TCP}
{{- end -}}
{{- define "fnop.np.apiserver" -}}
# The Kubernetes API server (host network or an endpoint outside the pod network: selected by port only).
- ports:
    {{- range .Values.networkPolicy.apiServerPorts }}
    - {port: {{ . }}, protocol: TCP}
    {{- end }}
{{- end -}}
{{- define "fnop.np.scrapers" -}}
{{- if .Values.networkPolicy.monitoringNamespace }}
from:
  - namespaceSelector:
      matchLabels: {kubernetes.io/metadata.name: {{ .Values.networkPolicy.monitoringNamespace }}}
{{- end }}
{{- end -}}
