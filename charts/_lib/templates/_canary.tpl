{{/*
Argo Rollouts canary (canary.enabled): a Rollout that takes its Pod template from
the Deployment (workloadRef; the Deployment itself is rendered with replicas: 0),
the -stable/-canary Services the Rollout points at, Istio weights through the
VirtualServices (without Istio, as on the real node, the weights are replica counts), and an AnalysisTemplate that fails the canary on the kit's
http_server_request_duration_seconds: success rate below slo.successRate or p99
above slo.p99LatencySeconds, measured on the canary ReplicaSet only.
*/}}

{{/*
The suffix of the chart's env ConfigMap: "-env", and under canary.enabled "-env-<hash of its data>",
kept by Helm after an upgrade (helm.sh/resource-policy: keep). A Rollout keeps ReplicaSets of two
revisions alive, and every Pod reads the ConfigMap when it starts: with one name, a canary's config
reached the stable ReplicaSet's Pods started after it (an aborted canary left a stable Pod with the
bad config). Old ConfigMaps stay until deleted by hand (docs/RUNBOOK.md).
*/}}
{{- define "bulwark.lib.envSuffix" -}}
-env{{ if .v.canary.enabled }}-{{ include "bulwark.lib.configData" . | sha256sum | trunc 10 }}{{ end }}
{{- end -}}

{{- define "bulwark.lib.canaryQuerySelector" -}}
service="{{ include "bulwark.lib.name" . }}",namespace="{{ .root.Release.Namespace }}",rollouts_pod_template_hash="{{ "{{" }}args.canary-hash{{ "}}" }}"
{{- end -}}

{{- define "bulwark.lib.canary" -}}
{{- if .v.canary.enabled -}}
{{- $name := include "bulwark.lib.name" . -}}
{{- $sel := include "bulwark.lib.canaryQuerySelector" . -}}
{{- $a := .v.canary.analysis -}}
{{ include "bulwark.lib.serviceObject" (dict "ctx" . "suffix" "-stable") }}
---
{{ include "bulwark.lib.serviceObject" (dict "ctx" . "suffix" "-canary") }}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  {{- include "bulwark.lib.metadata" (dict "ctx" .) | nindent 2 }}
spec:
  {{- if not .v.autoscaling.enabled }}
  replicas: {{ .v.replicas | int }}
  {{- end }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      {{- include "bulwark.lib.selectorLabels" . | nindent 6 }}
  workloadRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $name }}
    # The chart keeps the Deployment at 0 replicas itself.
    scaleDown: never
  strategy:
    canary:
      stableService: {{ $name }}-stable
      canaryService: {{ $name }}-canary
      {{- if .v.istio.enabled }}
      trafficRouting:
        istio:
          virtualServices:
            - name: {{ $name }}
              routes: [primary]
            {{- if .v.istio.ingress.enabled }}
            - name: {{ $name }}-ingress
              routes: [primary]
            {{- end }}
      {{- end }}
      analysis:
        templates:
          - templateName: {{ $name }}-canary
        startingStep: {{ $a.startingStep | int }}
        args:
          - name: canary-hash
            valueFrom:
              podTemplateHashValue: Latest
      steps:
        {{- toYaml .v.canary.steps | nindent 8 }}
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  {{- include "bulwark.lib.metadata" (dict "ctx" . "suffix" "-canary") | nindent 2 }}
spec:
  args:
    - name: canary-hash
  metrics:
    # No traffic yet (empty or NaN result) is not a failure: the next measurement decides.
    - name: success-rate
      interval: {{ $a.interval }}
      failureLimit: {{ $a.failureLimit | int }}
      successCondition: "len(result) == 0 || isNaN(result[0]) || result[0] >= {{ .v.slo.successRate }}"
      provider:
        prometheus:
          address: {{ $a.prometheusAddress }}
          query: |
            sum(rate(http_server_request_duration_seconds_count{ {{- $sel }},status_code!~"5.."}[{{ $a.window }}]))
            /
            sum(rate(http_server_request_duration_seconds_count{ {{- $sel -}} }[{{ $a.window }}]))
    - name: p99-latency
      interval: {{ $a.interval }}
      failureLimit: {{ $a.failureLimit | int }}
      successCondition: "len(result) == 0 || isNaN(result[0]) || result[0] <= {{ .v.slo.p99LatencySeconds }}"
      provider:
        prometheus:
          address: {{ $a.prometheusAddress }}
          query: |
            histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{ {{- $sel -}} }[{{ $a.window }}])))
{{- end -}}
{{- end -}}
