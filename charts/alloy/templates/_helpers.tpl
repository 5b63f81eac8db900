{{/*
Shared named templates. Names follow the upstream chart ("alloy.fullname", "alloy.labels", …) so
values and habits carry over.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "alloy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name, truncated to 63 characters (DNS label limit). */}}
{{- define "alloy.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version for the helm.sh/chart label. */}}
{{- define "alloy.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Namespace of every namespaced object. */}}
{{- define "alloy.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride }}
{{- end }}

{{/* The alloy values block, with the legacy "agent" block merged over it. */}}
{{- define "alloy.values" -}}
{{- toYaml (mustMergeOverwrite (deepCopy .Values.alloy) (deepCopy (or .Values.agent dict))) }}
{{- end }}

{{/* Common labels. */}}
{{- define "alloy.labels" -}}
helm.sh/chart: {{ include "alloy.chart" . }}
{{ include "alloy.selectorLabels" . }}
app.kubernetes.io/version: {{ (include "alloy.imageId" .) | trimPrefix "@sha256" | trimPrefix ":" | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels. */}}
{{- define "alloy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "alloy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Name of the service account the pods use. */}}
{{- define "alloy.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "alloy.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* ":tag" or "@sha256:digest" of the Alloy image. */}}
{{- define "alloy.imageId" -}}
{{- if .Values.image.digest }}
{{- $digest := .Values.image.digest }}
{{- if not (hasPrefix "sha256:" $digest) }}
{{- $digest = printf "sha256:%s" $digest }}
{{- end }}
{{- printf "@%s" $digest }}
{{- else if .Values.image.tag }}
{{- printf ":%s" (toString .Values.image.tag) }}
{{- else }}
{{- printf ":%s" .Chart.AppVersion }}
{{- end }}
{{- end }}

{{/* Full reference of the Alloy image. */}}
{{- define "alloy.image" -}}
{{- $registry := .Values.global.image.registry | default .Values.image.registry -}}
{{- if $registry }}{{ $registry }}/{{ end }}{{ .Values.image.repository }}{{ include "alloy.imageId" . }}
{{- end }}

{{/* Full reference of the config reloader image; empty fields fall back to the Alloy image. */}}
{{- define "config-reloader.image" -}}
{{- $img := .Values.configReloader.image -}}
{{- $registry := .Values.global.image.registry | default $img.registry | default .Values.image.registry -}}
{{- $repository := $img.repository | default .Values.image.repository -}}
{{- $id := include "alloy.imageId" . -}}
{{- if $img.digest }}
{{- $digest := $img.digest }}
{{- if not (hasPrefix "sha256:" $digest) }}
{{- $digest = printf "sha256:%s" $digest }}
{{- end }}
{{- $id = printf "@%s" $digest }}
{{- else if $img.tag }}
{{- $id = printf ":%s" (toString $img.tag) }}
{{- end }}
{{- if $registry }}{{ $registry }}/{{ end }}{{ $repository }}{{ $id }}
{{- end }}

{{/* Name of the ConfigMap holding the config: configMap.name, or the fullname when the chart creates it. */}}
{{- define "alloy.config-map.name" -}}
{{- $values := include "alloy.values" . | fromYaml -}}
{{- if $values.configMap.create -}}
{{- $values.configMap.name | default (include "alloy.fullname" .) }}
{{- else -}}
{{- required "alloy.configMap.name is required when alloy.configMap.create is false: set it to the name of the ConfigMap holding your config (for example one made with kubectl create configmap alloy-config --from-file=config.alloy=./config.alloy)" $values.configMap.name }}
{{- end }}
{{- end }}

{{/* Key of the config file inside the ConfigMap: config.alloy in the one the chart creates. */}}
{{- define "alloy.config-map.key" -}}
{{- $values := include "alloy.values" . | fromYaml -}}
{{- $values.configMap.key | default "config.alloy" }}
{{- end }}

{{/* Name and key of the config Secret (alloy.secret). */}}
{{- define "alloy.secret.name" -}}
{{- $values := include "alloy.values" . | fromYaml -}}
{{- $values.secret.name | default (include "alloy.fullname" .) }}
{{- end }}

{{- define "alloy.secret.key" -}}
{{- $values := include "alloy.values" . | fromYaml -}}
{{- $values.secret.key | default "config.alloy" }}
{{- end }}

{{/* "true" when the config comes from a Secret (created or named), which wins over the ConfigMap. */}}
{{- define "alloy.config-source.use-secret" -}}
{{- $values := include "alloy.values" . | fromYaml -}}
{{- if and $values.secret (or $values.secret.create $values.secret.name) -}}
true
{{- else -}}
false
{{- end }}
{{- end }}

{{/* Name and key of the config source (Secret or ConfigMap). */}}
{{- define "alloy.config-source.name" -}}
{{- if eq (include "alloy.config-source.use-secret" .) "true" -}}
{{- include "alloy.secret.name" . }}
{{- else -}}
{{- include "alloy.config-map.name" . }}
{{- end }}
{{- end }}

{{- define "alloy.config-source.key" -}}
{{- if eq (include "alloy.config-source.use-secret" .) "true" -}}
{{- include "alloy.secret.key" . }}
{{- else -}}
{{- include "alloy.config-map.key" . }}
{{- end }}
{{- end }}

{{/*
Restricted Pod Security defaults (the same as the operator's). Overrides from values replace
top-level keys; a null override removes the default.
*/}}
{{- define "alloy.mergeSecurityContext" -}}
{{- $out := deepCopy .defaults -}}
{{- range $k, $v := (.override | default dict) }}
{{- if kindIs "invalid" $v }}
{{- $_ := unset $out $k }}
{{- else }}
{{- $_ := set $out $k $v }}
{{- end }}
{{- end }}
{{- if $out }}{{ toYaml $out }}{{ end }}
{{- end }}

{{- define "alloy.defaultPodSecurityContext" -}}
runAsNonRoot: true
runAsUser: 473
runAsGroup: 473
fsGroup: 473
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "alloy.defaultContainerSecurityContext" -}}
allowPrivilegeEscalation: false
capabilities:
  drop:
    - ALL
readOnlyRootFilesystem: true
runAsNonRoot: true
{{- end }}

{{/* apiVersion of the Ingress. */}}
{{- define "alloy.ingress.apiVersion" -}}
{{- if and (.Capabilities.APIVersions.Has "networking.k8s.io/v1") (semverCompare ">= 1.19-0" .Capabilities.KubeVersion.Version) }}
{{- print "networking.k8s.io/v1" }}
{{- else }}
{{- print "networking.k8s.io/v1beta1" }}
{{- end }}
{{- end }}

{{/*
HorizontalPodAutoscaler settings: controller.autoscaling.horizontal when enabled, else the
deprecated flat controller.autoscaling keys.
*/}}
{{- define "alloy.hpa" -}}
{{- $as := .Values.controller.autoscaling -}}
{{- $h := $as.horizontal | default dict -}}
{{- toYaml (merge (dict "enabled" (or $h.enabled $as.enabled)) (omit $h "enabled")) }}
{{- end }}

{{/* "true" when controller.autoscaling.horizontal.externalHPA hands the replicas to a scaler outside the chart; else empty. */}}
{{- define "alloy.externalHPA" -}}
{{- $h := .Values.controller.autoscaling.horizontal | default dict -}}
{{- if $h.externalHPA }}true{{ end -}}
{{- end }}

{{/* spec.revisionHistoryLimit of the workload, rendered only when it differs from the Kubernetes default (10). */}}
{{- define "alloy.revisionHistoryLimit" -}}
{{- $l := .Values.controller.revisionHistoryLimit -}}
{{- if and (not (kindIs "invalid" $l)) (ne (int $l) 10) }}
  revisionHistoryLimit: {{ $l | int }}
{{- end }}
{{- end }}

{{/* HTTPRoute apiVersion: gateway.networking.k8s.io/v1, or v1beta1 where the cluster serves only that. */}}
{{- define "alloy.httpRoute.apiVersion" -}}
{{- if and (.Capabilities.APIVersions.Has "gateway.networking.k8s.io/v1beta1") (not (.Capabilities.APIVersions.Has "gateway.networking.k8s.io/v1")) -}}
gateway.networking.k8s.io/v1beta1
{{- else -}}
gateway.networking.k8s.io/v1
{{- end -}}
{{- end }}

{{/*
Selector labels of the gateway pods. Their name label differs from Alloy's (`<name>-gateway`) so
that Alloy's Service, PodDisruptionBudget and ServiceMonitor, which select on name and instance,
never pick up nginx pods.
*/}}
{{- define "alloy.gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-gateway" (include "alloy.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: gateway
{{- end }}

{{/* Labels of the gateway objects: the chart's common labels plus the gateway component. */}}
{{- define "alloy.gateway.labels" -}}
{{ include "alloy.labels" . }}
app.kubernetes.io/component: gateway
{{- end }}

{{/* Name of the gateway objects. */}}
{{- define "alloy.gateway.fullname" -}}
{{- printf "%s-gateway" (include "alloy.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The gateway's nginx.conf: `gateway.nginxConfig.file` through `tpl` when set, else generated from
`gateway.nginxConfig` and `gateway.upstreams`. Every path nginx writes is under /tmp (an emptyDir),
so the root filesystem stays read-only. Upstreams reach Alloy through its Service
(`<fullname>.<namespace>.svc`, resolved once at start; the Service's ClusterIP is stable).
*/}}
{{- define "alloy.gateway.nginxConf" -}}
{{- $g := .Values.gateway -}}
{{- $c := $g.nginxConfig -}}
{{- if $c.file -}}
{{- tpl $c.file . -}}
{{- else -}}
{{- $host := printf "%s.%s.svc" (include "alloy.fullname" .) (include "alloy.namespace" .) -}}
worker_processes {{ $c.workerProcesses }};
error_log /dev/stderr warn;
pid /tmp/nginx.pid;

events {
  worker_connections {{ $c.workerConnections }};
}

http {
  client_body_temp_path /tmp/client_temp;
  proxy_temp_path /tmp/proxy_temp;
  fastcgi_temp_path /tmp/fastcgi_temp;
  uwsgi_temp_path /tmp/uwsgi_temp;
  scgi_temp_path /tmp/scgi_temp;

  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  server_tokens off;

  client_max_body_size {{ $c.clientMaxBodySize }};
  proxy_connect_timeout {{ $c.proxyConnectTimeout }};
  proxy_send_timeout {{ $c.proxySendTimeout }};
  proxy_read_timeout {{ $c.proxyReadTimeout }};
  grpc_connect_timeout {{ $c.proxyConnectTimeout }};
  grpc_send_timeout {{ $c.proxySendTimeout }};
  grpc_read_timeout {{ $c.proxyReadTimeout }};

  {{- if $c.enableAccessLog }}
  log_format main {{ $c.logFormat | squote }};
  access_log /dev/stdout main;
  {{- else }}
  access_log off;
  {{- end }}
  {{- range $name, $u := $g.upstreams }}
  {{- if $u.enabled }}

  upstream alloy-{{ $name }} {
    server {{ $host }}:{{ $u.targetPort }};
    keepalive 32;
  }
  {{- end }}
  {{- end }}
  {{- with $c.extraHttpConfig }}

  {{- tpl . $ | nindent 2 }}
  {{- end }}

  server {
    listen {{ $g.port }};
    {{- if $g.tls.enabled }}
    listen {{ $g.tls.port }} ssl;
    ssl_certificate /etc/nginx/tls/tls.crt;
    ssl_certificate_key /etc/nginx/tls/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    {{- end }}
    {{- if $c.http2 }}
    http2 on;
    {{- end }}
    {{- if $g.auth.enabled }}

    auth_basic {{ $g.auth.realm | quote }};
    auth_basic_user_file /etc/nginx/auth/auth;
    {{- end }}

    location = /health {
      auth_basic off;
      access_log off;
      default_type text/plain;
      return 200 "ok\n";
    }

    location = /stub_status {
      auth_basic off;
      access_log off;
      stub_status;
      allow 127.0.0.1;
      allow ::1;
      deny all;
    }
    {{- range $name, $u := $g.upstreams }}
    {{- if $u.enabled }}

    location {{ $u.path }} {
      {{- if $u.extraConfig }}
      {{- tpl $u.extraConfig $ | trim | nindent 6 }}
      {{- else if eq (toString $u.protocol) "grpc" }}
      grpc_pass grpc://alloy-{{ $name }};
      grpc_set_header Host $host;
      grpc_set_header X-Real-IP $remote_addr;
      grpc_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      {{- else }}
      proxy_pass http://alloy-{{ $name }};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_request_buffering off;
      proxy_buffering off;
      {{- end }}
    }
    {{- end }}
    {{- end }}
    {{- with $c.extraServerConfig }}

    {{- tpl . $ | nindent 4 }}
    {{- end }}
  }
}
{{- end }}
{{- end }}

{{/* Restricted Pod Security defaults of the gateway pods (the nginx-unprivileged user, UID 101). */}}
{{- define "alloy.gateway.defaultPodSecurityContext" -}}
runAsNonRoot: true
runAsUser: 101
runAsGroup: 101
fsGroup: 101
seccompProfile:
  type: RuntimeDefault
{{- end }}
