package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/Masterminds/semver"
	"github.com/Masterminds/sprig"
	yaml3 "gopkg.in/yaml.v3"
)

// Metadata mirrors Helm's *chart.Metadata so `.Chart.X` resolves (and fails) the same way.
type Metadata struct {
	Name         string
	Home         string
	Sources      []string
	Version      string
	Description  string
	Keywords     []string
	Maintainers  []interface{}
	Icon         string
	APIVersion   string
	Condition    string
	Tags         string
	AppVersion   string
	Deprecated   bool
	Annotations  map[string]string
	KubeVersion  string
	Dependencies []interface{}
	Type         string
	IsRoot       bool
}

func newMetadata(m map[string]interface{}) *Metadata {
	str := func(k string) string {
		if v, ok := m[k]; ok && v != nil {
			return fmt.Sprint(v)
		}
		return ""
	}
	strs := func(k string) []string {
		var out []string
		if l, ok := m[k].([]interface{}); ok {
			for _, x := range l {
				out = append(out, fmt.Sprint(x))
			}
		}
		return out
	}
	md := &Metadata{
		Name: str("name"), Home: str("home"), Sources: strs("sources"), Version: str("version"),
		Description: str("description"), Keywords: strs("keywords"), Icon: str("icon"),
		APIVersion: str("apiVersion"), Condition: str("condition"), Tags: str("tags"),
		AppVersion: str("appVersion"), KubeVersion: str("kubeVersion"), Type: str("type"),
		Annotations: map[string]string{}, IsRoot: true,
	}
	if md.Type == "" {
		md.Type = "application"
	}
	if d, ok := m["deprecated"].(bool); ok {
		md.Deprecated = d
	}
	if l, ok := m["maintainers"].([]interface{}); ok {
		md.Maintainers = l
	}
	if l, ok := m["dependencies"].([]interface{}); ok {
		md.Dependencies = l
	}
	if a, ok := m["annotations"].(map[string]interface{}); ok {
		for k, v := range a {
			md.Annotations[k] = fmt.Sprint(v)
		}
	}
	return md
}

// KubeVersion is .Capabilities.KubeVersion.
type KubeVersion struct {
	Version string
	Major   string
	Minor   string
}

// String returns the version ("v1.31.0").
func (k KubeVersion) String() string { return k.Version }

// GitVersion is the deprecated alias of Version kept by Helm.
func (k KubeVersion) GitVersion() string { return k.Version }

// VersionSet is .Capabilities.APIVersions.
type VersionSet []string

// Has reports whether the API version ("apps/v1") or resource ("apps/v1/Deployment") is known.
func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

// HelmVersion is .Capabilities.HelmVersion.
type HelmVersion struct {
	Version      string
	GitCommit    string
	GitTreeState string
	GoVersion    string
}

// Capabilities is .Capabilities.
type Capabilities struct {
	APIVersions VersionSet
	KubeVersion KubeVersion
	HelmVersion HelmVersion
}

var defaultGVKs = map[string][]string{
	"v1": {"ConfigMap", "Endpoints", "Event", "LimitRange", "Namespace", "Node", "PersistentVolume",
		"PersistentVolumeClaim", "Pod", "PodTemplate", "ReplicationController", "ResourceQuota", "Secret",
		"Service", "ServiceAccount"},
	"apps/v1":                         {"ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"},
	"autoscaling/v1":                  {"HorizontalPodAutoscaler"},
	"autoscaling/v2":                  {"HorizontalPodAutoscaler"},
	"batch/v1":                        {"CronJob", "Job"},
	"policy/v1":                       {"PodDisruptionBudget", "Eviction"},
	"networking.k8s.io/v1":            {"Ingress", "IngressClass", "NetworkPolicy"},
	"rbac.authorization.k8s.io/v1":    {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"},
	"apiextensions.k8s.io/v1":         {"CustomResourceDefinition"},
	"admissionregistration.k8s.io/v1": {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"},
	"storage.k8s.io/v1":               {"CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"},
	"scheduling.k8s.io/v1":            {"PriorityClass"},
	"coordination.k8s.io/v1":          {"Lease"},
	"discovery.k8s.io/v1":             {"EndpointSlice"},
	"certificates.k8s.io/v1":          {"CertificateSigningRequest"},
	"apiregistration.k8s.io/v1":       {"APIService"},
	"node.k8s.io/v1":                  {"RuntimeClass"},
	"events.k8s.io/v1":                {"Event"},
	"flowcontrol.apiserver.k8s.io/v1": {"FlowSchema", "PriorityLevelConfiguration"},
	"authentication.k8s.io/v1":        {"TokenReview"},
	"authorization.k8s.io/v1":         {"SubjectAccessReview"},
}

func newCapabilities(kubeVersion string, extra []string) (*Capabilities, error) {
	sv, err := semver.NewVersion(kubeVersion)
	if err != nil {
		return nil, fmt.Errorf("invalid kube version %q: %s", kubeVersion, err)
	}
	var set VersionSet
	gvs := make([]string, 0, len(defaultGVKs))
	for gv := range defaultGVKs {
		gvs = append(gvs, gv)
	}
	sort.Strings(gvs)
	for _, gv := range gvs {
		set = append(set, gv)
		for _, k := range defaultGVKs[gv] {
			set = append(set, gv+"/"+k)
		}
	}
	for _, e := range extra {
		if e = strings.TrimSpace(e); e != "" {
			set = append(set, e)
		}
	}
	return &Capabilities{
		APIVersions: set,
		KubeVersion: KubeVersion{Version: "v" + sv.String(), Major: fmt.Sprint(sv.Major()), Minor: fmt.Sprint(sv.Minor())},
		HelmVersion: HelmVersion{Version: "v3.16.0", GitTreeState: "clean", GoVersion: "go1.19"},
	}, nil
}

func checkKubeVersion(constraint, version string) error {
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return fmt.Errorf("invalid kubeVersion constraint %q in Chart.yaml: %s", constraint, err)
	}
	v, err := semver.NewVersion(version)
	if err != nil {
		return err
	}
	if !c.Check(v) {
		return fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", constraint, version)
	}
	return nil
}

const (
	warnStart        = "HELM_ERR_START"
	warnEnd          = "HELM_ERR_END"
	recursionMaxNums = 1000
)

var warnRegex = regexp.MustCompile(warnStart + `((?s).*)` + warnEnd)

func warnWrap(s string) string { return warnStart + s + warnEnd }

func fromYAMLFunc(s string) map[string]interface{} {
	m := map[string]interface{}{}
	v, err := parseYAML([]byte(s))
	if err != nil {
		m["Error"] = err.Error()
		return m
	}
	if mm, ok := v.(map[string]interface{}); ok {
		return mm
	}
	if v != nil {
		m["Error"] = fmt.Sprintf("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal %s into Go value of type map[string]interface {}", jsonKind(v))
	}
	return m
}

func fromYAMLArrayFunc(s string) []interface{} {
	v, err := parseYAML([]byte(s))
	if err != nil {
		return []interface{}{err.Error()}
	}
	if l, ok := v.([]interface{}); ok {
		return l
	}
	return []interface{}{fmt.Sprintf("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal %s into Go value of type []interface {}", jsonKind(v))}
}

func toYAMLPretty(v interface{}) string {
	var b bytes.Buffer
	enc := yaml3.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func toJSONFunc(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func fromJSONFunc(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromJSONArrayFunc(s string) []interface{} {
	var a []interface{}
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

// funcMap is sprig minus env/expandenv plus Helm's functions; include and tpl are bound per set.
func funcMap() template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	extra := template.FuncMap{
		"toToml": func(interface{}) (string, error) {
			return "", errors.New("toToml is not supported by the helm-template stand-in (install helm)")
		},
		"fromToml": func(string) (map[string]interface{}, error) {
			return nil, errors.New("fromToml is not supported by the helm-template stand-in (install helm)")
		},
		"toYaml":        toYAML,
		"mustToYaml":    func(v interface{}) (string, error) { s, err := marshalYAML(v); return strings.TrimSuffix(s, "\n"), err },
		"toYamlPretty":  toYAMLPretty,
		"fromYaml":      fromYAMLFunc,
		"fromYamlArray": fromYAMLArrayFunc,
		"toJson":        toJSONFunc,
		"mustToJson":    func(v interface{}) (string, error) { b, err := json.Marshal(v); return string(b), err },
		"fromJson":      fromJSONFunc,
		"fromJsonArray": fromJSONArrayFunc,
		"include":       func(string, interface{}) string { return "not implemented" },
		"tpl":           func(string, interface{}) interface{} { return "not implemented" },
		"required": func(warn string, val interface{}) (interface{}, error) {
			if val == nil {
				return val, errors.New(warnWrap(warn))
			}
			if s, ok := val.(string); ok && s == "" {
				return val, errors.New(warnWrap(warn))
			}
			return val, nil
		},
		"fail": func(msg string) (string, error) { return "", errors.New(warnWrap(msg)) },
		// Helm renders without DNS unless --enable-dns is given.
		"getHostByName":  func(string) string { return "" },
		"toSeconds":      durationIn(time.Second),
		"toMilliSeconds": durationIn(time.Millisecond),
		// helm template talks to no cluster, so lookup finds nothing.
		"lookup": func(string, string, string, string) (map[string]interface{}, error) {
			return map[string]interface{}{}, nil
		},
	}
	for k, v := range extra {
		f[k] = v
	}
	return f
}

// durationIn converts a Go duration ("1h", or a number of seconds) to whole units.
func durationIn(unit time.Duration) func(interface{}) (int64, error) {
	return func(v interface{}) (int64, error) {
		switch t := v.(type) {
		case string:
			d, err := time.ParseDuration(t)
			if err != nil {
				return 0, err
			}
			return int64(d / unit), nil
		case float64:
			return int64(time.Duration(t*float64(time.Second)) / unit), nil
		case int64:
			return int64(time.Duration(t) * time.Second / unit), nil
		}
		return 0, fmt.Errorf("cannot convert %v (%T) to a duration", v, v)
	}
}

func includeFun(t *template.Template, included map[string]int) func(string, interface{}) (string, error) {
	return func(name string, data interface{}) (string, error) {
		var buf strings.Builder
		if included[name] > recursionMaxNums {
			return "", fmt.Errorf("rendering template has a nested reference name: %s: unable to execute template", name)
		}
		included[name]++
		err := t.ExecuteTemplate(&buf, name, data)
		included[name]--
		return buf.String(), err
	}
}

func tplFun(parent *template.Template, included map[string]int) func(string, interface{}) (string, error) {
	return func(tpl string, vals interface{}) (string, error) {
		t, err := parent.Clone()
		if err != nil {
			return "", fmt.Errorf("cannot clone template: %s", err)
		}
		t.Option("missingkey=zero")
		t.Funcs(template.FuncMap{"include": includeFun(t, included), "tpl": tplFun(t, included)})
		t, err = t.New(parent.Name()).Parse(tpl)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %s", tpl, err)
		}
		var buf strings.Builder
		if err := t.Execute(&buf, vals); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", tpl, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
}

func cleanupParseError(filename string, err error) error {
	tokens := strings.Split(err.Error(), ": ")
	if len(tokens) == 1 {
		return fmt.Errorf("parse error in (%s): %s", filename, err)
	}
	return fmt.Errorf("parse error at (%s): %s", tokens[1], tokens[len(tokens)-1])
}

func cleanupExecError(filename string, err error) error {
	var execErr template.ExecError
	if !errors.As(err, &execErr) {
		return err
	}
	tokens := strings.SplitN(err.Error(), ": ", 3)
	if len(tokens) != 3 {
		return fmt.Errorf("execution error in (%s): %s", filename, err)
	}
	if parts := warnRegex.FindStringSubmatch(tokens[2]); len(parts) >= 2 {
		return fmt.Errorf("execution error at (%s): %s", tokens[1], parts[1])
	}
	return err
}

type byPathLen []string

func (p byPathLen) Len() int      { return len(p) }
func (p byPathLen) Swap(i, j int) { p[j], p[i] = p[i], p[j] }
func (p byPathLen) Less(i, j int) bool {
	a, b := p[i], p[j]
	ca, cb := strings.Count(a, "/"), strings.Count(b, "/")
	if ca == cb {
		return strings.Compare(a, b) == -1
	}
	return ca < cb
}

// render executes every template; the result maps "<chart>/templates/x.yaml" to its output.
func render(ch *chart, o *options, vals map[string]interface{}, caps *Capabilities) (map[string]string, error) {
	name := ch.meta["name"].(string)
	meta := newMetadata(ch.meta)
	release := map[string]interface{}{
		"Name": o.release, "Namespace": o.namespace, "Service": "Helm",
		"IsInstall": !o.isUpgrade, "IsUpgrade": o.isUpgrade, "Revision": 1,
	}
	if o.isUpgrade {
		release["Revision"] = 2
	}
	keys := make([]string, 0, len(ch.templates))
	for k := range ch.templates {
		keys = append(keys, name+"/"+k)
	}
	sort.Sort(sort.Reverse(byPathLen(keys)))

	t := template.New("gotpl")
	t.Option("missingkey=zero")
	included := map[string]int{}
	fm := funcMap()
	fm["include"] = includeFun(t, included)
	fm["tpl"] = tplFun(t, included)
	t.Funcs(fm)
	for _, k := range keys {
		if _, err := t.New(k).Parse(ch.templates[strings.TrimPrefix(k, name+"/")]); err != nil {
			return nil, cleanupParseError(k, err)
		}
	}
	out := map[string]string{}
	for _, k := range keys {
		if strings.HasPrefix(path.Base(k), "_") {
			continue
		}
		data := map[string]interface{}{
			"Values":       vals,
			"Release":      release,
			"Chart":        meta,
			"Capabilities": caps,
			"Files":        ch.files,
			"Subcharts":    map[string]interface{}{},
			"Template":     map[string]interface{}{"Name": k, "BasePath": name + "/templates"},
		}
		var buf strings.Builder
		if err := t.ExecuteTemplate(&buf, k, data); err != nil {
			return nil, cleanupExecError(k, err)
		}
		out[k] = strings.ReplaceAll(buf.String(), "<no value>", "")
	}
	return out, nil
}
