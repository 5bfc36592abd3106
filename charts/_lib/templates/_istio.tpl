{{/*
Istio: VirtualService (mesh, and optionally ingress), DestinationRule per host,
PeerAuthentication (STRICT mTLS) and an ALLOW AuthorizationPolicy. With
canary.enabled the routes split between the -stable and -canary Services and
Argo Rollouts moves the weights.
*/}}

{{- define "bulwark.lib.routeDestinations" -}}
{{- $port := .v.service.port | int -}}
{{- if .v.canary.enabled -}}
- destination:
    host: {{ include "bulwark.lib.host" (dict "ctx" . "suffix" "-stable") }}
    port: { number: {{ $port }} }
  weight: 100
- destination:
    host: {{ include "bulwark.lib.host" (dict "ctx" . "suffix" "-canary") }}
    port: { number: {{ $port }} }
  weight: 0
{{- else -}}
- destination:
    host: {{ include "bulwark.lib.host" (dict "ctx" .) }}
    port: { number: {{ $port }} }
{{- end -}}
{{- end -}}

{{- define "bulwark.lib.httpRoute" -}}
- name: primary
  {{- with .match }}
  match:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  route:
    {{- include "bulwark.lib.routeDestinations" .ctx | nindent 4 }}
  timeout: {{ .ctx.v.istio.virtualService.timeout }}
  {{- with .ctx.v.istio.virtualService.retries }}
  {{- if eq (int .attempts) 0 }}
  retries:
    attempts: 0
  {{- else }}
  retries:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- end }}
{{- end -}}

{{- define "bulwark.lib.istio" -}}
{{- if .v.istio.enabled -}}
{{- $name := include "bulwark.lib.name" . -}}
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  {{- include "bulwark.lib.metadata" (dict "ctx" .) | nindent 2 }}
spec:
  hosts: [{{ include "bulwark.lib.host" (dict "ctx" .) }}]
  gateways: [mesh]
  http:
    {{- include "bulwark.lib.httpRoute" (dict "ctx" .) | nindent 4 }}
{{- if .v.istio.ingress.enabled }}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  {{- include "bulwark.lib.metadata" (dict "ctx" . "suffix" "-ingress") | nindent 2 }}
spec:
  hosts:
    {{- toYaml .v.istio.ingress.hosts | nindent 4 }}
  gateways: [{{ .v.istio.ingress.gateway }}]
  http:
    {{- include "bulwark.lib.httpRoute" (dict "ctx" . "match" (list (dict "uri" (dict "prefix" .v.istio.ingress.prefix)))) | nindent 4 }}
{{- end }}
{{- range $suffix := ternary (list "" "-stable" "-canary") (list "") .v.canary.enabled }}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  {{- include "bulwark.lib.metadata" (dict "ctx" $ "suffix" $suffix) | nindent 2 }}
spec:
  host: {{ include "bulwark.lib.host" (dict "ctx" $ "suffix" $suffix) }}
  trafficPolicy:
    tls:
      mode: ISTIO_MUTUAL
    connectionPool:
      {{- toYaml $.v.istio.destinationRule.connectionPool | nindent 6 }}
    outlierDetection:
      {{- toYaml $.v.istio.destinationRule.outlierDetection | nindent 6 }}
{{- end }}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  {{- include "bulwark.lib.metadata" (dict "ctx" .) | nindent 2 }}
spec:
  selector:
    matchLabels:
      {{- include "bulwark.lib.selectorLabels" . | nindent 6 }}
  mtls:
    mode: {{ .v.istio.mtls }}
{{- if .v.istio.authorization.enabled }}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  {{- include "bulwark.lib.metadata" (dict "ctx" .) | nindent 2 }}
spec:
  selector:
    matchLabels:
      {{- include "bulwark.lib.selectorLabels" . | nindent 6 }}
  action: ALLOW
  rules:
    # Workloads of this namespace and of the namespaces named in values.
    - from:
        - source:
            namespaces: {{ prepend .v.istio.authorization.allowNamespaces .root.Release.Namespace | uniq | toJson }}
    # Prometheus scrapes /metrics with its sidecar's certificate.
    - from:
        - source:
            principals: [{{ .v.istio.authorization.prometheusPrincipal | quote }}]
      to:
        - operation:
            methods: [GET]
            paths: [/metrics]
    {{- $principals := .v.istio.authorization.allowPrincipals }}
    {{- if .v.istio.ingress.enabled }}
    {{- $principals = append $principals .v.istio.authorization.ingressGatewayPrincipal }}
    {{- end }}
    {{- if $principals }}
    - from:
        - source:
            principals: {{ $principals | uniq | toJson }}
    {{- end }}
{{- end }}
{{- end -}}
{{- end -}}
