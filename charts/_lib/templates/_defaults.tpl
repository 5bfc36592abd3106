{{/*
Defaults of every value a service chart may set. The service chart's values.yaml
holds only what differs (image, port, config, alerts); "bulwark.lib.values"
merges it over these. Documented in charts/_lib/README.md and typed in
charts/_lib/values.schema.json.
*/}}
{{- define "bulwark.lib.defaults" -}}
nameOverride: ""
image:
  repository: ""
  tag: ""
  pullPolicy: IfNotPresent
imagePullSecrets: []
port: 8080
replicas: 2
command: []
args: []
logLevel: info
config: {}
envFrom:
  configMaps: []
  secrets: []
shutdown:
  timeoutMs: 10000
  delayMs: 3000
terminationGracePeriodSeconds: null
resources:
  requests: { cpu: 100m, memory: 128Mi }
  limits: { cpu: "1", memory: 256Mi }
probes:
  startup: { path: /healthz, periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 30 }
  readiness: { path: /readyz, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2 }
  liveness: { path: /healthz, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 }
securityContext:
  runAsUser: 10001
  runAsGroup: 10001
  # Only the Tiltfile turns this off, so live_update can write synced files into the container.
  readOnlyRootFilesystem: true
tmp:
  sizeLimit: 64Mi
# Secrets mounted read-only as files (one file per key) at mountPath: a changed Secret reaches the
# Pod without a restart (e.g. a DatabaseCredential's credentials.json, read on each new connection).
secretFiles: []
serviceAccount:
  create: true
  name: ""
  automountToken: false
  annotations: {}
podAnnotations: {}
podLabels: {}
nodeSelector: {}
tolerations: []
affinity: {}
topologySpread:
  enabled: true
  maxSkew: 1
  zone: ScheduleAnyway
  hostname: ScheduleAnyway
autoscaling:
  enabled: true
  minReplicas: 2
  maxReplicas: 6
  targetCPUUtilization: 70
  targetMemoryUtilization: null
pdb:
  enabled: true
  maxUnavailable: 1
service:
  type: ClusterIP
  port: 80
monitoring:
  serviceMonitor:
    enabled: true
    interval: 15s
    istioMtls: true
  rules:
    enabled: true
    groups: []
  dashboard:
    enabled: true
    folder: Bulwark
    # The shared RED panels (_dashboard.tpl) before the chart's own; off for a chart that serves no API.
    red: true
slo:
  successRate: 0.99
  p99LatencySeconds: 0.5
istio:
  enabled: true
  mtls: STRICT
  proxyConfig: true
  virtualService:
    timeout: 15s
    retries:
      attempts: 2
      perTryTimeout: 5s
      retryOn: connect-failure,refused-stream,unavailable,cancelled,reset
  ingress:
    enabled: false
    gateway: istio-ingress/bulwark
    hosts: ["*"]
    prefix: /
  destinationRule:
    connectionPool:
      tcp: { maxConnections: 200, connectTimeout: 2s }
      http: { http1MaxPendingRequests: 200, http2MaxRequests: 1000, maxRetries: 3, idleTimeout: 60s }
    outlierDetection:
      consecutive5xxErrors: 5
      consecutiveGatewayErrors: 3
      interval: 10s
      baseEjectionTime: 30s
      maxEjectionPercent: 50
  authorization:
    enabled: true
    allowNamespaces: []
    allowPrincipals: []
    ingressGatewayPrincipal: cluster.local/ns/istio-ingress/sa/istio-ingressgateway
    prometheusPrincipal: cluster.local/ns/monitoring/sa/kube-prometheus-stack-prometheus
# Objects of a workload to leave out whatever their own switches say (see "bulwark.lib.partNames").
parts:
  serviceAccount: true
  configMap: true
  deployment: true
  service: true
  hpa: true
  pdb: true
  serviceMonitor: true
  prometheusRule: true
  dashboards: true
  istio: true
  canary: true
# Further workloads of the chart, by name: { enabled, inherit: [keys of these values], values: {...} }.
controllers: {}
canary:
  enabled: false
  steps:
    - setWeight: 10
    - pause: { duration: 1m }
    - setWeight: 30
    - pause: { duration: 1m }
    - setWeight: 60
    - pause: { duration: 1m }
  analysis:
    startingStep: 1
    interval: 30s
    failureLimit: 2
    window: 2m
    prometheusAddress: http://kube-prometheus-stack-prometheus.monitoring.svc:9090
{{- end -}}
