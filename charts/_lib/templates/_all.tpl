{{/*
Entry point of the library: a service chart's only template is

  {{ include "bulwark.lib.all" . }}

It merges the values once and renders every object the service needs, each
behind its own switch in values.
*/}}
{{- define "bulwark.lib.all" -}}
{{- $ctx := dict "root" . "v" (include "bulwark.lib.values" . | fromJson) -}}
{{- $templates := list
  "bulwark.lib.serviceAccount"
  "bulwark.lib.configMap"
  "bulwark.lib.deployment"
  "bulwark.lib.service"
  "bulwark.lib.hpa"
  "bulwark.lib.pdb"
  "bulwark.lib.serviceMonitor"
  "bulwark.lib.prometheusRule"
  "bulwark.lib.dashboards"
  "bulwark.lib.istio"
  "bulwark.lib.canary"
-}}
{{- range $templates }}
{{- $out := include . $ctx | trim }}
{{- if $out }}
---
{{ $out }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "bulwark.lib.serviceAccount" -}}
{{- if .v.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  {{- include "bulwark.lib.metadata" (dict "ctx" .) | nindent 2 }}
  {{- with .v.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: {{ .v.serviceAccount.automountToken }}
{{- end -}}
{{- end -}}

{{/* Environment of the container: the kit's base keys from values, then the service's `config`. */}}
{{- define "bulwark.lib.configData" -}}
NODE_ENV: production
HOST: 0.0.0.0
PORT: {{ .v.port | int | quote }}
LOG_LEVEL: {{ .v.logLevel | quote }}
OTEL_SERVICE_NAME: {{ include "bulwark.lib.name" . | quote }}
SHUTDOWN_TIMEOUT_MS: {{ .v.shutdown.timeoutMs | int | quote }}
SHUTDOWN_DELAY_MS: {{ .v.shutdown.delayMs | int | quote }}
{{- range $k, $val := .v.config }}
{{ $k }}: {{ if kindIs "float64" $val }}{{ $val | int64 | quote }}{{ else }}{{ $val | toString | quote }}{{ end }}
{{- end }}
{{- end -}}

{{- define "bulwark.lib.configMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  {{- include "bulwark.lib.metadata" (dict "ctx" . "suffix" "-env") | nindent 2 }}
data:
  {{- include "bulwark.lib.configData" . | nindent 2 }}
{{- end -}}
