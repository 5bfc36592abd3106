{{/* Deployment (scaled to 0 and driven by the Rollout when canary.enabled), Service, HPA, PDB. */}}

{{- define "bulwark.lib.probe" -}}
httpGet:
  path: {{ .probe.path }}
  port: http
periodSeconds: {{ .probe.periodSeconds }}
timeoutSeconds: {{ .probe.timeoutSeconds }}
failureThreshold: {{ .probe.failureThreshold }}
{{- end -}}

{{- define "bulwark.lib.podTemplate" -}}
{{- $v := .v -}}
metadata:
  labels:
    {{- include "bulwark.lib.labels" . | nindent 4 }}
    app: {{ include "bulwark.lib.name" . }}
    version: {{ .root.Chart.AppVersion | default .root.Chart.Version | quote }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include "bulwark.lib.configData" . | sha256sum }}
    {{- if $v.istio.enabled }}
    {{- if $v.istio.proxyConfig }}
    # The app starts after its sidecar, and the sidecar keeps serving while the app drains.
    proxy.istio.io/config: {{ dict "holdApplicationUntilProxyStarts" true "terminationDrainDuration" (printf "%ds" (div (add (int $v.shutdown.timeoutMs) (int $v.shutdown.delayMs) 999) 1000)) | toJson | quote }}
    {{- end }}
    {{- end }}
    {{- with $v.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "bulwark.lib.serviceAccountName" . }}
  automountServiceAccountToken: {{ $v.serviceAccount.automountToken }}
  terminationGracePeriodSeconds: {{ include "bulwark.lib.terminationGracePeriod" . }}
  {{- with $v.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    runAsNonRoot: true
    runAsUser: {{ $v.securityContext.runAsUser | int }}
    runAsGroup: {{ $v.securityContext.runAsGroup | int }}
    fsGroup: {{ $v.securityContext.runAsGroup | int }}
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: {{ include "bulwark.lib.name" . }}
      image: {{ include "bulwark.lib.image" . | quote }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      {{- with $v.command }}
      command:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.args }}
      args:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      ports:
        - name: http
          containerPort: {{ $v.port | int }}
          protocol: TCP
      envFrom:
        - configMapRef:
            name: {{ include "bulwark.lib.name" . }}{{ include "bulwark.lib.envSuffix" . }}
        {{- range $v.envFrom.configMaps }}
        - configMapRef:
            name: {{ . }}
        {{- end }}
        {{- range $v.envFrom.secrets }}
        - secretRef:
            name: {{ .name }}
            optional: {{ .optional | default false }}
        {{- end }}
      startupProbe:
        {{- include "bulwark.lib.probe" (dict "probe" $v.probes.startup) | nindent 8 }}
      readinessProbe:
        {{- include "bulwark.lib.probe" (dict "probe" $v.probes.readiness) | nindent 8 }}
      livenessProbe:
        {{- include "bulwark.lib.probe" (dict "probe" $v.probes.liveness) | nindent 8 }}
      resources:
        {{- toYaml $v.resources | nindent 8 }}
      securityContext:
        runAsNonRoot: true
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: {{ $v.securityContext.readOnlyRootFilesystem }}
        privileged: false
        capabilities:
          drop: ["ALL"]
        seccompProfile:
          type: RuntimeDefault
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- range $i, $f := $v.secretFiles }}
        - name: secret-file-{{ $i }}
          mountPath: {{ $f.mountPath }}
          readOnly: true
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: {{ $v.tmp.sizeLimit }}
    {{- range $i, $f := $v.secretFiles }}
    - name: secret-file-{{ $i }}
      secret:
        secretName: {{ $f.secret }}
        optional: {{ $f.optional | default false }}
        defaultMode: 0444
    {{- end }}
  {{- if $v.topologySpread.enabled }}
  topologySpreadConstraints:
    {{- range $key, $policy := dict "topology.kubernetes.io/zone" $v.topologySpread.zone "kubernetes.io/hostname" $v.topologySpread.hostname }}
    - topologyKey: {{ $key }}
      maxSkew: {{ $v.topologySpread.maxSkew | int }}
      whenUnsatisfiable: {{ $policy }}
      labelSelector:
        matchLabels:
          {{- include "bulwark.lib.selectorLabels" $ | nindent 10 }}
      matchLabelKeys:
        - {{ if $v.canary.enabled }}rollouts-pod-template-hash{{ else }}pod-template-hash{{ end }}
    {{- end }}
  {{- end }}
  {{- with $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{- define "bulwark.lib.deployment" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  {{- include "bulwark.lib.metadata" (dict "ctx" .) | nindent 2 }}
spec:
  {{- if .v.canary.enabled }}
  # The Rollout (workloadRef) owns the Pods; this Deployment only carries their template.
  replicas: 0
  {{- else if not .v.autoscaling.enabled }}
  replicas: {{ .v.replicas | int }}
  {{- end }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      {{- include "bulwark.lib.selectorLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  template:
    {{- include "bulwark.lib.podTemplate" . | nindent 4 }}
{{- end -}}

{{/* A Service of this chart; `suffix` "" is the main one (scraped), "-stable"/"-canary" are the Rollout's. */}}
{{- define "bulwark.lib.serviceObject" -}}
apiVersion: v1
kind: Service
metadata:
  {{- include "bulwark.lib.metadata" (dict "ctx" .ctx "suffix" .suffix "labels" .labels) | nindent 2 }}
spec:
  type: {{ .ctx.v.service.type }}
  selector:
    {{- include "bulwark.lib.selectorLabels" .ctx | nindent 4 }}
  ports:
    - name: http
      port: {{ .ctx.v.service.port | int }}
      targetPort: http
      protocol: TCP
      appProtocol: http
{{- end -}}

{{- define "bulwark.lib.service" -}}
{{ include "bulwark.lib.serviceObject" (dict "ctx" . "suffix" "" "labels" (dict "bulwark.dev/scrape" "true")) }}
{{- end -}}

{{- define "bulwark.lib.hpa" -}}
{{- if .v.autoscaling.enabled -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  {{- include "bulwark.lib.metadata" (dict "ctx" .) | nindent 2 }}
spec:
  scaleTargetRef:
    {{- if .v.canary.enabled }}
    apiVersion: argoproj.io/v1alpha1
    kind: Rollout
    {{- else }}
    apiVersion: apps/v1
    kind: Deployment
    {{- end }}
    name: {{ include "bulwark.lib.name" . }}
  minReplicas: {{ .v.autoscaling.minReplicas | int }}
  maxReplicas: {{ .v.autoscaling.maxReplicas | int }}
  metrics:
    {{- if .v.autoscaling.targetCPUUtilization }}
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .v.autoscaling.targetCPUUtilization | int }}
    {{- end }}
    {{- if .v.autoscaling.targetMemoryUtilization }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ .v.autoscaling.targetMemoryUtilization | int }}
    {{- end }}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
{{- end -}}
{{- end -}}

{{- define "bulwark.lib.pdb" -}}
{{- if .v.pdb.enabled -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  {{- include "bulwark.lib.metadata" (dict "ctx" .) | nindent 2 }}
spec:
  maxUnavailable: {{ .v.pdb.maxUnavailable }}
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "bulwark.lib.selectorLabels" . | nindent 6 }}
{{- end -}}
{{- end -}}
