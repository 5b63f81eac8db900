{{- define "tricky.name" -}}{{ .Chart.Name }}-{{ .Release.Name }}{{- end }}
