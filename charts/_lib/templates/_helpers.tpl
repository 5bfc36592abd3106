{{/*
Names, labels and the merged values every other template reads. Templates take
a context `dict "root" $ "v" <merged values>` built once by "bulwark.lib.all".
*/}}

{{/*
Deep merge of two maps as JSON, the second winning. Unlike sprig's
mergeOverwrite this keeps explicit `false`, `0` and `""` from the service
values (mergo treats them as empty and would keep the default).
*/}}
{{- define "bulwark.lib.merge" -}}
{{- $base := index . 0 -}}
{{- $over := index . 1 -}}
{{- $out := dict -}}
{{- range $k, $v := $base }}{{ $_ := set $out $k $v }}{{ end -}}
{{- range $k, $v := $over -}}
{{- $cur := get $out $k -}}
{{- if and (kindIs "map" $v) (kindIs "map" $cur) -}}
{{- $_ := set $out $k (include "bulwark.lib.merge" (list $cur $v) | fromJson) -}}
{{- else -}}
{{- $_ := set $out $k $v -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* The service's values merged over the library defaults, as JSON. */}}
{{- define "bulwark.lib.values" -}}
{{- include "bulwark.lib.merge" (list (include "bulwark.lib.defaults" . | fromYaml) .Values) -}}
{{- end -}}

{{/* Object name: the service name (chart name unless nameOverride); DNS name of its Service. */}}
{{- define "bulwark.lib.name" -}}
{{- default .root.Chart.Name .v.nameOverride | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "bulwark.lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bulwark.lib.name" . }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "bulwark.lib.labels" -}}
{{ include "bulwark.lib.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | default .root.Chart.Version | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: bulwark
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* metadata: name, namespace and labels; pass `dict "ctx" $ctx "suffix" "-x"`. */}}
{{- define "bulwark.lib.metadata" -}}
name: {{ include "bulwark.lib.name" .ctx }}{{ .suffix | default "" }}
namespace: {{ .ctx.root.Release.Namespace }}
labels:
  {{- include "bulwark.lib.labels" .ctx | nindent 2 }}
  {{- with .labels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{- define "bulwark.lib.serviceAccountName" -}}
{{- if .v.serviceAccount.create -}}
{{- default (include "bulwark.lib.name" .) .v.serviceAccount.name -}}
{{- else -}}
{{- default "default" .v.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "bulwark.lib.image" -}}
{{- $repo := default (printf "bulwark/%s" (include "bulwark.lib.name" .)) .v.image.repository -}}
{{- printf "%s:%s" $repo (default .root.Chart.AppVersion .v.image.tag | toString) -}}
{{- end -}}

{{/* Seconds Kubernetes waits after SIGTERM: the kit's delay + drain deadline + 5 s to close dependencies. */}}
{{- define "bulwark.lib.terminationGracePeriod" -}}
{{- $shutdown := add (int .v.shutdown.timeoutMs) (int .v.shutdown.delayMs) -}}
{{- $minimum := add (div (add $shutdown 999) 1000) 0 -}}
{{- if kindIs "invalid" .v.terminationGracePeriodSeconds -}}
{{- add $minimum 5 -}}
{{- else if le (int .v.terminationGracePeriodSeconds) (int $minimum) -}}
{{- fail (printf "terminationGracePeriodSeconds=%v must exceed shutdown.delayMs + shutdown.timeoutMs (%d ms)" .v.terminationGracePeriodSeconds $shutdown) -}}
{{- else -}}
{{- int .v.terminationGracePeriodSeconds -}}
{{- end -}}
{{- end -}}

{{/* FQDN of a Service of this chart (suffix "", "-stable" or "-canary"). */}}
{{- define "bulwark.lib.host" -}}
{{- printf "%s%s.%s.svc.cluster.local" (include "bulwark.lib.name" .ctx) (.suffix | default "") .ctx.root.Release.Namespace -}}
{{- end -}}
