{{/* Chart name, truncated to the 63 characters of a label value. */}}
{{- define "leiosnet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-wide name prefix of every object (kept short: node StatefulSets append "-<node>"). */}}
{{- define "leiosnet.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 30 | trimSuffix "-" -}}
{{- else if contains (include "leiosnet.name" .) .Release.Name -}}
{{- .Release.Name | trunc 30 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "leiosnet.name" .) | trunc 30 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The run id of this testnet: the leiosnet.io/run label (the release name). */}}
{{- define "leiosnet.run" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "leiosnet.labels" -}}
app.kubernetes.io/name: {{ include "leiosnet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
leiosnet.io/run: {{ include "leiosnet.run" . }}
{{- end -}}

{{/* Selector labels of every node pod of the release. */}}
{{- define "leiosnet.runSelector" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
leiosnet.io/run: {{ include "leiosnet.run" . }}
{{- end -}}

{{/* StatefulSet of a node: (dict "root" $ "node" "pool-1"). Its one pod is "<this>-0". */}}
{{- define "leiosnet.nodeSts" -}}
{{- printf "%s-%s" (include "leiosnet.fullname" .root) .node | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{/* Headless Service of a group: (dict "root" $ "group" "pools"). */}}
{{- define "leiosnet.groupSvc" -}}
{{- printf "%s-%s" (include "leiosnet.fullname" .root) .group | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release a group runs. */}}
{{- define "leiosnet.groupRelease" -}}
{{- default .root.Values.nodeRelease .group.release -}}
{{- end -}}

{{/* Image of a group: its image, else the chart's, tag defaulting to the group's release. */}}
{{- define "leiosnet.groupImage" -}}
{{- $img := mergeOverwrite (deepCopy .root.Values.image) (default (dict) .group.image) -}}
{{- $tag := default (include "leiosnet.groupRelease" .) $img.tag -}}
{{- printf "%s:%s" (required "image.repository is required" $img.repository) $tag -}}
{{- end -}}

{{- define "leiosnet.groupPullPolicy" -}}
{{- $img := mergeOverwrite (deepCopy .root.Values.image) (default (dict) .group.image) -}}
{{- default "IfNotPresent" $img.pullPolicy -}}
{{- end -}}

{{/* Image of the genesis Job and the generator: the chart's image at nodeRelease. */}}
{{- define "leiosnet.toolImage" -}}
{{- printf "%s:%s" .Values.image.repository (default .Values.nodeRelease .Values.image.tag) -}}
{{- end -}}

{{/*
Every node of every group, checked: a node in two groups fails the render.
Result: JSON {"<node>": {"group", "release", "pod", "dns"}} (the pods read it as nodes.json).
*/}}
{{- define "leiosnet.nodes" -}}
{{- $root := . -}}
{{- $out := dict -}}
{{- range $g := .Values.groups -}}
{{- range $n := (required (printf "groups[%s].nodes is required" $g.name) $g.nodes) -}}
{{- if hasKey $out $n -}}
{{- fail (printf "node %s is in two groups (%s and %s): every node belongs to exactly one group" $n (get (get $out $n) "group") $g.name) -}}
{{- end -}}
{{- $pod := printf "%s-0" (include "leiosnet.nodeSts" (dict "root" $root "node" $n)) -}}
{{- $svc := include "leiosnet.groupSvc" (dict "root" $root "group" $g.name) -}}
{{- $dns := printf "%s.%s.%s.svc.%s" $pod $svc $root.Release.Namespace $root.Values.addressing.clusterDomain -}}
{{- $_ := set $out $n (dict "group" $g.name "release" (include "leiosnet.groupRelease" (dict "root" $root "group" $g)) "pod" $pod "dns" $dns) -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* The shared volume (genesis, keys, configs, address registry). */}}
{{- define "leiosnet.sharedVolume" -}}
- name: shared
{{- if .Values.shared.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ .Values.shared.existingClaim }}
{{- else }}
  hostPath:
    path: {{ printf "%s/%s/%s" (required "shared.hostPath or shared.existingClaim is required" .Values.shared.hostPath | trimSuffix "/") .Release.Namespace .Release.Name }}
    type: DirectoryOrCreate
{{- end }}
{{- end -}}

{{- define "leiosnet.sharedMount" -}}
- name: shared
  mountPath: /shared
{{- if .Values.shared.existingClaim }}
  subPath: {{ printf "%s/%s" .Release.Namespace .Release.Name }}
{{- end }}
{{- end -}}

{{/* Environment every chart container shares. */}}
{{- define "leiosnet.podEnv" -}}
- name: LEIOSNET_SHARED
  value: /shared
- name: LEIOSNET_CHART_DIR
  value: /chart
- name: LEIOSNET_ADDRESSING
  value: {{ .Values.addressing.mode | quote }}
- name: LEIOSNET_WAIT_S
  value: {{ .Values.addressing.waitS | quote }}
- name: LEIOSNET_WATCH_S
  value: {{ .Values.addressing.watchS | quote }}
- name: LEIOSNET_POD_NAME
  valueFrom: { fieldRef: { fieldPath: metadata.name } }
- name: LEIOSNET_POD_IP
  valueFrom: { fieldRef: { fieldPath: status.podIP } }
{{- end -}}

{{/* The profile argument of `leiosnet genesis`: the inline profile's file, else the library name. */}}
{{- define "leiosnet.profileArg" -}}
{{- if .Values.profile.inline -}}
/chart/profile.yaml
{{- else -}}
{{- required "profile.name or profile.inline is required" .Values.profile.name -}}
{{- end -}}
{{- end -}}

{{/* prometheus.io/* pod annotations (kubernetes_sd without the operator); the argument is the metrics port. */}}
{{- define "leiosnet.scrapeAnnotations" -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ . | quote }}
prometheus.io/path: /metrics
prometheus.io/scheme: http
{{- end -}}

{{/*
Prometheus Operator relabelings: pod labels → the labels every runtime's targets carry (run,
node, role, release, plus group), so the dashboards' queries work on a chart's testnet too.
*/}}
{{- define "leiosnet.monitorRelabelings" -}}
{{- range $label, $target := dict "leiosnet_io_run" "run" "leiosnet_io_node" "node" "leiosnet_io_metrics_role" "role" "leiosnet_io_release" "release" "leiosnet_io_group" "group" }}
- sourceLabels: [__meta_kubernetes_pod_label_{{ $label }}]
  targetLabel: {{ $target }}
  action: replace
{{- end }}
{{- end -}}
