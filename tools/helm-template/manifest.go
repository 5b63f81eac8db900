package main

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
)

// installOrder is Helm's releaseutil.InstallOrder; unknown kinds go last, sorted by kind.
var installOrder = []string{
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
	"PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
	"ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding",
	"RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
	"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
}

var manifestSep = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

type manifest struct {
	name    string
	content string
	kind    string
	hook    bool
	seq     int
}

// splitManifests is Helm's releaseutil.SplitManifests: documents trimmed, empty ones dropped.
func splitManifests(s string) []string {
	var out []string
	for _, d := range manifestSep.Split(s, -1) {
		if strings.TrimSpace(d) == "" {
			continue
		}
		out = append(out, strings.TrimSpace(d))
	}
	return out
}

func assemble(ch *chart, subs []*chart, o *options, rendered map[string]string) (string, error) {
	files := make([]string, 0, len(rendered))
	for k := range rendered {
		files = append(files, k)
	}
	sort.Strings(files)
	var manifests []manifest
	seq := 0
	for _, f := range files {
		if strings.HasSuffix(f, "NOTES.txt") || strings.HasPrefix(path.Base(f), "_") {
			continue
		}
		content := rendered[f]
		if strings.TrimSpace(content) == "" {
			continue
		}
		for _, doc := range splitManifests(content) {
			parsed, err := parseYAML([]byte(doc))
			if err != nil {
				return "", fmt.Errorf("YAML parse error on %s: %s", f, err)
			}
			m := manifest{name: f, content: doc, seq: seq}
			seq++
			if head, ok := parsed.(map[string]interface{}); ok {
				m.kind, _ = head["kind"].(string)
				if md, ok := head["metadata"].(map[string]interface{}); ok {
					if ann, ok := md["annotations"].(map[string]interface{}); ok {
						_, m.hook = ann["helm.sh/hook"]
					}
				}
			} else if parsed != nil {
				return "", fmt.Errorf("YAML parse error on %s: error unmarshaling JSON: json: cannot unmarshal %s into Go value of type releaseutil.SimpleHead", f, jsonKind(parsed))
			}
			manifests = append(manifests, m)
		}
	}
	order := map[string]int{}
	for i, k := range installOrder {
		order[k] = i
	}
	sort.SliceStable(manifests, func(i, j int) bool {
		a, aok := order[manifests[i].kind]
		b, bok := order[manifests[j].kind]
		switch {
		case !aok && !bok:
			if manifests[i].kind != manifests[j].kind {
				return manifests[i].kind < manifests[j].kind
			}
			return false
		case !aok:
			return false
		case !bok:
			return true
		}
		return a < b
	})
	var b strings.Builder
	if o.includeCRDs {
		for _, c := range ch.crds {
			fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", ch.meta["name"].(string)+"/"+c, string(ch.files[c]))
		}
		for _, sub := range subs {
			for _, c := range sub.crds {
				fmt.Fprintf(&b, "---\n# Source: %s/charts/%s/%s\n%s\n", ch.meta["name"].(string), sub.meta["name"].(string), c, string(sub.files[c]))
			}
		}
	}
	var hooks []manifest
	shown := map[string]bool{}
	for _, m := range manifests {
		if m.hook {
			hooks = append(hooks, m)
			continue
		}
		if !selected(o, m.name, shown) {
			continue
		}
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.name, m.content)
	}
	for _, m := range hooks {
		if !selected(o, m.name, shown) {
			continue
		}
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.name, m.content)
	}
	for _, s := range o.showOnly {
		if !shown[normalizeShowOnly(ch, s)] {
			return "", fmt.Errorf("could not find template %s in chart", s)
		}
	}
	return b.String(), nil
}

func normalizeShowOnly(ch *chart, s string) string {
	s = path.Clean(strings.ReplaceAll(s, "\\", "/"))
	name := ch.meta["name"].(string)
	if !strings.HasPrefix(s, name+"/") {
		s = name + "/" + s
	}
	return s
}

func selected(o *options, name string, shown map[string]bool) bool {
	if len(o.showOnly) == 0 {
		return true
	}
	for _, s := range o.showOnly {
		s = path.Clean(s)
		if name == s || strings.HasSuffix(name, "/"+s) {
			shown[name] = true
			return true
		}
	}
	return false
}
