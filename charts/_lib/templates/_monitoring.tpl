{{/*
ServiceMonitor, PrometheusRule (the chart's alerts/*.yaml plus monitoring.rules.groups)
and the Grafana dashboards ConfigMap (the chart's dashboards/*.json after the shared RED
panels of _dashboard.tpl). `.Files` is the
service chart's: the library is always called with the parent's root context.
*/}}

{{- define "bulwark.lib.serviceMonitor" -}}
{{- if .v.monitoring.serviceMonitor.enabled -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  {{- include "bulwark.lib.metadata" (dict "ctx" .) | nindent 2 }}
spec:
  namespaceSelector:
    matchNames: [{{ .root.Release.Namespace }}]
  selector:
    matchLabels:
      {{- include "bulwark.lib.selectorLabels" . | nindent 6 }}
      bulwark.dev/scrape: "true"
  {{- if .v.canary.enabled }}
  # Lets the canary analysis tell the new ReplicaSet's series from the stable ones.
  podTargetLabels: [rollouts-pod-template-hash]
  {{- end }}
  endpoints:
    - port: http
      path: /metrics
      interval: {{ .v.monitoring.serviceMonitor.interval }}
      # The kit labels every series with service="<name>"; keep it instead of exported_service.
      honorLabels: true
      {{- if and .v.istio.enabled .v.monitoring.serviceMonitor.istioMtls }}
      # STRICT mTLS: Prometheus presents the workload certificate its Istio sidecar writes
      # to /etc/prom-certs (manifests/observability/kube-prometheus-stack.values.yaml).
      scheme: https
      tlsConfig:
        caFile: /etc/prom-certs/root-cert.pem
        certFile: /etc/prom-certs/cert-chain.pem
        keyFile: /etc/prom-certs/key.pem
        insecureSkipVerify: true
      {{- end }}
{{- end -}}
{{- end -}}

{{- define "bulwark.lib.prometheusRule" -}}
{{- if .v.monitoring.rules.enabled -}}
{{- $groups := list -}}
{{- range $path, $_ := .root.Files.Glob "alerts/*.yaml" -}}
{{- $file := $.root.Files.Get $path | fromYaml -}}
{{- if hasKey $file "Error" -}}
{{- fail (printf "%s: %s" $path (get $file "Error")) -}}
{{- end -}}
{{- $groups = concat $groups ($file.groups | default list) -}}
{{- end -}}
{{- $groups = concat $groups .v.monitoring.rules.groups -}}
{{- if $groups -}}
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  {{- include "bulwark.lib.metadata" (dict "ctx" .) | nindent 2 }}
spec:
  groups:
    {{- toYaml $groups | nindent 4 }}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "bulwark.lib.dashboards" -}}
{{- if .v.monitoring.dashboard.enabled -}}
{{- $files := .root.Files.Glob "dashboards/*.json" -}}
{{- if $files -}}
apiVersion: v1
kind: ConfigMap
metadata:
  {{- include "bulwark.lib.metadata" (dict "ctx" . "suffix" "-dashboards" "labels" (dict "grafana_dashboard" "1")) | nindent 2 }}
  annotations:
    # kube-prometheus-stack's Grafana sidecar files dashboards into this folder (folderAnnotation).
    grafana_folder: {{ .v.monitoring.dashboard.folder | quote }}
data:
  {{- range $path, $_ := $files }}
  {{ base $path }}: |-
    {{- include "bulwark.lib.dashboardJson" (dict "ctx" $ "path" $path) | nindent 4 }}
  {{- end }}
{{- end -}}
{{- end -}}
{{- end -}}
