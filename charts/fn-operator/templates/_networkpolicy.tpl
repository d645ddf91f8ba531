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
# The Kubernetes API server: selected by port only (host network or an endpoint outside the pod network), or also by
# address when networkPolicy.apiServerCidrs is set.
- ports:
    {{- range .Values.networkPolicy.apiServerPorts }}
    - {port: {{ . }}, protocol: TCP}
    {{- end }}
  {{- with .Values.networkPolicy.apiServerCidrs }}
  to:
    {{- range . }}
    - ipBlock: {cidr: {{ . | quote }}}
    {{- end }}
  {{- end }}
{{- end -}}
{{- define "fnop.np.scrapers" -}}
{{- if .Values.networkPolicy.monitoringNamespace }}
from:
  - namespaceSelector:
      matchLabels: {kubernetes.io/metadata.name: {{ .Values.networkPolicy.monitoringNamespace }}}
{{- end }}
{{- end -}}
