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
{{- range $key := list "gateway" "prometheusRule" -}}
{{- $v := index $.Values $key -}}
{{- if and (kindIs "map" $v) $v.enabled -}}
{{- fail (printf "%s.enabled is not supported by this chart yet.\nSet %s.enabled: false; create the object yourself with extraObjects if you need it." $key $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "alloy.validations.all" -}}
{{- include "alloy.validations.controllerType" . -}}
{{- include "alloy.validations.configMap" . -}}
{{- include "alloy.validations.pdb" . -}}
{{- include "alloy.validations.autoscaling" . -}}
{{- include "alloy.validations.unsupported" . -}}
{{- end -}}
