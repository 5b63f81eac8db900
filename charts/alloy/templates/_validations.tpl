{{/*
Validations, evaluated by templates/validations.yaml. Each `fail`s with a message that names the
offending value and says what to set instead. Upstream keys this chart does not support yet fail
here rather than being silently ignored.
*/}}

{{- define "alloy.validations.controllerType" -}}
{{- $t := .Values.controller.type -}}
{{- if not (has $t (list "daemonset" "deployment" "statefulset")) -}}
{{- fail (printf "controller.type %q is not supported.\nSet controller.type to one of: daemonset, deployment, statefulset." (toString $t)) -}}
{{- end -}}
{{- end -}}

{{- define "alloy.validations.configMap" -}}
{{- $values := include "alloy.values" . | fromYaml -}}
{{- if and (not $values.configMap.create) (not $values.configMap.name) (ne (include "alloy.config-source.use-secret" .) "true") -}}
{{- fail "alloy.configMap.create is false but alloy.configMap.name is empty.\nSet alloy.configMap.name to an existing ConfigMap (and alloy.configMap.key to its key, default config.alloy), for example:\n  kubectl create configmap --namespace <NAMESPACE> alloy-config \"--from-file=config.alloy=./config.alloy\"\n  alloy:\n    configMap:\n      create: false\n      name: alloy-config\n      key: config.alloy" -}}
{{- end -}}
{{- end -}}

{{- define "alloy.validations.pdb" -}}
{{- $pdb := .Values.controller.podDisruptionBudget -}}
{{- if and $pdb.enabled (not (kindIs "invalid" $pdb.minAvailable)) (not (kindIs "invalid" $pdb.maxUnavailable)) -}}
{{- fail "controller.podDisruptionBudget sets both minAvailable and maxUnavailable.\nSet only one of them (remove the other or set it to null)." -}}
{{- end -}}
{{- if and $pdb.enabled (eq .Values.controller.type "daemonset") -}}
{{- fail "controller.podDisruptionBudget.enabled is true but controller.type is daemonset.\nA PodDisruptionBudget protects deployment and statefulset pods: set controller.type to deployment or statefulset, or podDisruptionBudget.enabled: false." -}}
{{- end -}}
{{- end -}}

{{- define "alloy.validations.autoscaling" -}}
{{- $as := .Values.controller.autoscaling -}}
{{- if and (include "alloy.hpa" . | fromYaml).enabled (eq .Values.controller.type "daemonset") -}}
{{- fail "controller.autoscaling is enabled but controller.type is daemonset.\nA HorizontalPodAutoscaler scales deployment or statefulset pods: set controller.type to deployment or statefulset." -}}
{{- end -}}
{{- if and $as.horizontal $as.horizontal.externalHPA $as.horizontal.enabled -}}
{{- fail "controller.autoscaling.horizontal.externalHPA and controller.autoscaling.horizontal.enabled are both true.\nexternalHPA hands the replicas to a scaler outside the chart (KEDA, your own HPA): set horizontal.enabled: false, or externalHPA: false to let the chart render its HorizontalPodAutoscaler." -}}
{{- end -}}
{{- if and $as.horizontal $as.horizontal.externalHPA (eq .Values.controller.type "daemonset") -}}
{{- fail "controller.autoscaling.horizontal.externalHPA is true but controller.type is daemonset.\nA DaemonSet has no replicas to scale: set controller.type to deployment or statefulset." -}}
{{- end -}}
{{- if and $as.vertical $as.vertical.enabled (gt (len ($as.vertical.recommenders | default list)) 1) -}}
{{- fail "controller.autoscaling.vertical.recommenders lists more than one recommender.\nA VerticalPodAutoscaler takes none (the default recommender) or exactly one." -}}
{{- end -}}
{{- end -}}

{{- define "alloy.validations.unsupported" -}}
{{- $values := include "alloy.values" . | fromYaml -}}
{{- if and .Values.networkPolicy .Values.networkPolicy.enabled (ne (toString .Values.networkPolicy.flavor) "kubernetes") -}}
{{- fail (printf "networkPolicy.flavor %q is not supported by this chart yet.\nSet networkPolicy.flavor: kubernetes (a networking.k8s.io/v1 NetworkPolicy), or create a CiliumNetworkPolicy yourself with extraObjects." (toString .Values.networkPolicy.flavor)) -}}
{{- end -}}
{{- if and (kindIs "map" $values.windows) $values.windows.enabled -}}
{{- fail "alloy.windows.enabled is not supported: this chart's image (docker.io/alloyts/alloy) is built for Linux only.\nRemove alloy.windows and schedule the pods on Linux nodes." -}}
{{- end -}}
{{- range $key := list "prometheusRule" -}}
{{- $v := index $.Values $key -}}
{{- if and (kindIs "map" $v) $v.enabled -}}
{{- fail (printf "%s.enabled is not supported by this chart yet.\nSet %s.enabled: false; create the object yourself with extraObjects if you need it." $key $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "alloy.validations.gateway" -}}
{{- $g := .Values.gateway -}}
{{- if $g.enabled -}}
{{- if and $g.tls.enabled (not $g.tls.secretName) -}}
{{- fail "gateway.tls.enabled is true but gateway.tls.secretName is empty.\nName an existing kubernetes.io/tls Secret (keys tls.crt and tls.key) in gateway.tls.secretName." -}}
{{- end -}}
{{- if and $g.auth.enabled (not $g.auth.existingSecret) -}}
{{- fail "gateway.auth.enabled is true but gateway.auth.existingSecret is empty.\nName an existing Secret whose key `auth` is an htpasswd file (kubectl create secret generic NAME --from-file=auth=.htpasswd)." -}}
{{- end -}}
{{- if and $g.tls.enabled (eq (int $g.tls.port) (int $g.port)) -}}
{{- fail (printf "gateway.tls.port and gateway.port are both %d.\nGive the HTTPS listener its own port." (int $g.port)) -}}
{{- end -}}
{{- range $name, $u := $g.upstreams -}}
{{- if and (kindIs "map" $u) $u.enabled -}}
{{- if not (regexMatch "^[A-Za-z0-9_]+$" $name) -}}
{{- fail (printf "gateway.upstreams.%s: the key names an nginx upstream, so it may hold only letters, digits and _.\nRename the key." $name) -}}
{{- end -}}
{{- if not (and $u.path (hasPrefix "/" (toString $u.path))) -}}
{{- fail (printf "gateway.upstreams.%s.path must be a path starting with / (an nginx prefix location), got %q." $name (toString $u.path)) -}}
{{- end -}}
{{- if and (not $u.extraConfig) (not $u.targetPort) -}}
{{- fail (printf "gateway.upstreams.%s.targetPort is empty.\nSet the Alloy port the route forwards to (and expose it with alloy.extraPorts), or give extraConfig." $name) -}}
{{- end -}}
{{- if not (has (toString ($u.protocol | default "http")) (list "http" "grpc")) -}}
{{- fail (printf "gateway.upstreams.%s.protocol %q is not supported: use http or grpc." $name (toString $u.protocol)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "alloy.validations.all" -}}
{{- include "alloy.validations.controllerType" . -}}
{{- include "alloy.validations.configMap" . -}}
{{- include "alloy.validations.pdb" . -}}
{{- include "alloy.validations.autoscaling" . -}}
{{- include "alloy.validations.unsupported" . -}}
{{- include "alloy.validations.gateway" . -}}
{{- end -}}
