{{/*
Entry point of the library: a chart's only template is

  {{ include "bulwark.lib.all" . }}

It merges the values once and renders the chart's main controller (the
workload named after the chart) and then every enabled entry of
`controllers` (further workloads of the same chart, e.g. payments' PSP
simulator), each with every part (object) that `parts` does not switch off
and whose own switch in values is on.
*/}}
{{- define "bulwark.lib.all" -}}
{{- $main := include "bulwark.lib.values" . | fromJson -}}
{{- include "bulwark.lib.controller" (dict "root" . "v" $main) -}}
{{- range $name, $c := $main.controllers -}}
{{- if $c.enabled -}}
{{- include "bulwark.lib.controller" (dict "root" $ "v" (include "bulwark.lib.controllerValues" (dict "root" $ "main" $main "name" $name "controller" $c) | fromJson)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The parts of a workload, in rendering order; `parts.<name>: false` leaves one out
(the operator chart drops the mesh routing, HPA and canary this way).
*/}}
{{- define "bulwark.lib.partNames" -}}
{{- list "serviceAccount" "configMap" "deployment" "service" "hpa" "pdb" "serviceMonitor" "prometheusRule" "dashboards" "istio" "canary" | toJson -}}
{{- end -}}

{{- define "bulwark.lib.controller" -}}
{{- range $part := include "bulwark.lib.partNames" . | fromJsonArray -}}
{{- if ne (get $.v.parts $part) false -}}
{{- $out := include (printf "bulwark.lib.%s" $part) $ | trim -}}
{{- if $out }}
---
{{ $out }}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Values of an extra controller, as JSON: the library defaults, then what it
inherits from the main controller's merged values (`inherit`: image, hardening,
placement, log level by default; the image is the main controller's), then its
own `values`; named after its key. Its own `controllers` are ignored (one level).
*/}}
{{- define "bulwark.lib.controllerValues" -}}
{{- $inherited := dict -}}
{{- range $k := .controller.inherit | default (list "image" "imagePullSecrets" "securityContext" "nodeSelector" "tolerations" "affinity" "logLevel") -}}
{{- if hasKey $.main $k }}{{ $_ := set $inherited $k (deepCopy (index $.main $k)) }}{{ end -}}
{{- end -}}
{{- /* The same image means the main controller's image, also when its repository is the default bulwark/<name>. */ -}}
{{- if and (hasKey $inherited "image") (not $inherited.image.repository) -}}
{{- $_ := set $inherited.image "repository" (printf "bulwark/%s" (include "bulwark.lib.name" (dict "root" .root "v" .main))) -}}
{{- end -}}
{{- $over := include "bulwark.lib.merge" (list $inherited (.controller.values | default dict)) | fromJson -}}
{{- $v := include "bulwark.lib.merge" (list (include "bulwark.lib.defaults" .root | fromYaml) $over) | fromJson -}}
{{- $_ := set $v "nameOverride" (default .name $v.nameOverride) -}}
{{- $_ := set $v "controllers" dict -}}
{{- toJson $v -}}
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

{{/*
Environment of the container: the kit's base keys from values, then the service's `config`.
A `config` string holding "{{" is rendered as a template against the release
(e.g. POD_NAMESPACE: "{{ .Release.Namespace }}").
*/}}
{{- define "bulwark.lib.configData" -}}
NODE_ENV: production
HOST: 0.0.0.0
PORT: {{ .v.port | int | quote }}
LOG_LEVEL: {{ .v.logLevel | quote }}
OTEL_SERVICE_NAME: {{ include "bulwark.lib.name" . | quote }}
SHUTDOWN_TIMEOUT_MS: {{ .v.shutdown.timeoutMs | int | quote }}
SHUTDOWN_DELAY_MS: {{ .v.shutdown.delayMs | int | quote }}
{{- range $k, $val := .v.config }}
{{ $k }}: {{ if kindIs "float64" $val }}{{ $val | int64 | quote }}{{ else if and (kindIs "string" $val) (contains "{{" $val) }}{{ tpl $val $.root | quote }}{{ else }}{{ $val | toString | quote }}{{ end }}
{{- end }}
{{- end -}}

{{- define "bulwark.lib.configMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  {{- include "bulwark.lib.metadata" (dict "ctx" . "suffix" (include "bulwark.lib.envSuffix" .)) | nindent 2 }}
  {{- if .v.canary.enabled }}
  annotations:
    helm.sh/resource-policy: keep
  {{- end }}
data:
  {{- include "bulwark.lib.configData" . | nindent 2 }}
{{- end -}}
