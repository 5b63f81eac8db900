package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/Masterminds/semver"
)

// chart is a loaded chart directory: metadata, default values, schema, templates and other files.
type chart struct {
	dir       string
	meta      map[string]interface{}
	values    map[string]interface{}
	schema    map[string]interface{}
	templates map[string]string // "templates/x.yaml" -> source
	files     Files             // every other file (chart-relative path)
	crds      []string          // chart-relative paths under crds/
	subcharts map[string]*chart // charts/<name>/ directories
}

func loadChart(dir string) (*chart, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("path %q not found", dir)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("chart %q is not a directory (packaged .tgz charts need real helm)", dir)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, fmt.Errorf("Chart.yaml file is missing")
	}
	metaAny, err := parseYAML(raw)
	if err != nil {
		return nil, fmt.Errorf("cannot load Chart.yaml: %s", err)
	}
	meta, _ := metaAny.(map[string]interface{})
	if meta == nil {
		return nil, fmt.Errorf("cannot load Chart.yaml: not a mapping")
	}
	if meta["apiVersion"] == nil {
		return nil, fmt.Errorf("validation: chart.metadata.apiVersion is required")
	}
	if s, _ := meta["name"].(string); s == "" {
		return nil, fmt.Errorf("validation: chart.metadata.name is required")
	}
	ver, _ := meta["version"].(string)
	if ver == "" {
		return nil, fmt.Errorf("validation: chart.metadata.version is required")
	}
	if _, err := semver.StrictNewVersion(ver); err != nil {
		return nil, fmt.Errorf("validation: chart.metadata.version %q is invalid", ver)
	}
	ch := &chart{dir: dir, meta: meta, values: map[string]interface{}{}, templates: map[string]string{}, files: Files{}, subcharts: map[string]*chart{}}
	ignore := loadHelmignore(dir)
	err = filepath.Walk(dir, func(p string, info os.FileInfo, werr error) error {
		if werr != nil {
			return werr
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if ignore.ignored(rel, info.IsDir()) {
			if info.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if info.IsDir() {
			if rel == "charts" {
				entries, _ := os.ReadDir(p)
				for _, e := range entries {
					if !e.IsDir() {
						return fmt.Errorf("chart %q has a packaged subchart charts/%s; the helm-template stand-in only loads subchart directories (install helm)", dir, e.Name())
					}
					sub, err := loadChart(filepath.Join(p, e.Name()))
					if err != nil {
						return fmt.Errorf("subchart charts/%s: %s", e.Name(), err)
					}
					ch.subcharts[sub.meta["name"].(string)] = sub
				}
				return filepath.SkipDir
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		switch {
		case rel == "Chart.yaml" || rel == "Chart.lock" || rel == "requirements.yaml" || rel == "requirements.lock":
		case rel == "values.yaml":
			v, err := parseYAML(data)
			if err != nil {
				return fmt.Errorf("cannot load values.yaml: %s", err)
			}
			if m, ok := v.(map[string]interface{}); ok {
				ch.values = m
			}
		case rel == "values.schema.json":
			var s interface{}
			if err := json.Unmarshal(data, &s); err != nil {
				return fmt.Errorf("cannot load values.schema.json: %s", err)
			}
			m, ok := s.(map[string]interface{})
			if !ok {
				return fmt.Errorf("cannot load values.schema.json: not a JSON object")
			}
			ch.schema = m
		case strings.HasPrefix(rel, "templates/"):
			ch.templates[rel] = string(data)
		default:
			if strings.HasPrefix(rel, "crds/") {
				ch.crds = append(ch.crds, rel)
			}
			ch.files[rel] = data
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(ch.crds)
	return ch, nil
}

// helmignore holds .helmignore rules (glob per line, trailing "/" for directories, "!" negation).
type helmignore struct {
	rules []ignoreRule
}

type ignoreRule struct {
	pattern string
	dirOnly bool
	negate  bool
}

func loadHelmignore(dir string) helmignore {
	h := helmignore{}
	data, err := os.ReadFile(filepath.Join(dir, ".helmignore"))
	if err != nil {
		return h
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{}
		if strings.HasPrefix(line, "!") {
			r.negate, line = true, line[1:]
		}
		if strings.HasSuffix(line, "/") {
			r.dirOnly, line = true, strings.TrimSuffix(line, "/")
		}
		r.pattern = strings.TrimPrefix(line, "/")
		h.rules = append(h.rules, r)
	}
	return h
}

func (h helmignore) ignored(rel string, isDir bool) bool {
	if rel == ".helmignore" {
		return true
	}
	out := false
	for _, r := range h.rules {
		if r.dirOnly && !isDir {
			continue
		}
		target := path.Base(rel)
		if strings.Contains(r.pattern, "/") {
			target = rel
		}
		if ok, _ := path.Match(r.pattern, target); ok {
			out = !r.negate
		}
	}
	return out
}

// Files is Helm's .Files: chart-relative path -> contents of every non-template file.
type Files map[string][]byte

// Get returns a file's contents as a string, or "" when it does not exist.
func (f Files) Get(name string) string { return string(f[name]) }

// GetBytes returns a file's contents, or nil when it does not exist.
func (f Files) GetBytes(name string) []byte { return f[name] }

// Lines returns a file's lines (without line endings).
func (f Files) Lines(name string) []string {
	s := string(f[name])
	if s == "" {
		return []string{}
	}
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}

// Glob returns the files whose path matches a gobwas-style glob ("**" crosses "/").
func (f Files) Glob(pattern string) Files {
	re := globToRegexp(pattern)
	out := Files{}
	for name, data := range f {
		if re.MatchString(name) {
			out[name] = data
		}
	}
	return out
}

// AsConfig renders the files as a ConfigMap `data` body keyed by base name.
func (f Files) AsConfig() string {
	if len(f) == 0 {
		return ""
	}
	m := map[string]interface{}{}
	for name, data := range f {
		m[path.Base(name)] = string(data)
	}
	return toYAML(m)
}

// AsSecrets renders the files as a Secret `data` body (base64) keyed by base name.
func (f Files) AsSecrets() string {
	if len(f) == 0 {
		return ""
	}
	m := map[string]interface{}{}
	for name, data := range f {
		m[path.Base(name)] = base64.StdEncoding.EncodeToString(data)
	}
	return toYAML(m)
}

func globToRegexp(glob string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		c := glob[i]
		switch c {
		case '*':
			if i+1 < len(glob) && glob[i+1] == '*' {
				b.WriteString(".*")
				i++
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '{':
			b.WriteString("(?:")
		case '}':
			b.WriteString(")")
		case ',':
			b.WriteString("|")
		case '[', ']':
			b.WriteByte(c)
		case '\\':
			if i+1 < len(glob) {
				i++
				b.WriteString(regexp.QuoteMeta(string(glob[i])))
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return regexp.MustCompile(`^\b$`)
	}
	return re
}

// enabledSubcharts applies Chart.yaml dependency conditions (Helm: the first condition path that
// resolves to a bool decides; none resolving means enabled) and returns the enabled subcharts.
// Only CRD-only subcharts are supported: a subchart with templates needs real helm.
func enabledSubcharts(ch *chart, vals map[string]interface{}) ([]*chart, error) {
	conditions := map[string]string{}
	if deps, ok := ch.meta["dependencies"].([]interface{}); ok {
		for _, d := range deps {
			dm, _ := d.(map[string]interface{})
			name, _ := dm["name"].(string)
			if alias, ok := dm["alias"].(string); ok && alias != "" {
				return nil, fmt.Errorf("dependency %q uses an alias; the helm-template stand-in does not support aliases (install helm)", name)
			}
			if _, ok := ch.subcharts[name]; !ok {
				return nil, fmt.Errorf("found in Chart.yaml, but missing in charts/ directory: %s", name)
			}
			cond, _ := dm["condition"].(string)
			conditions[name] = cond
		}
	}
	names := make([]string, 0, len(ch.subcharts))
	for n := range ch.subcharts {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []*chart
	for _, n := range names {
		enabled := true
		for _, path := range strings.Split(conditions[n], ",") {
			path = strings.TrimSpace(path)
			if path == "" {
				continue
			}
			var cur interface{} = vals
			for _, part := range strings.Split(path, ".") {
				m, _ := cur.(map[string]interface{})
				cur = m[part]
			}
			if b, ok := cur.(bool); ok {
				enabled = b
				break
			}
		}
		if !enabled {
			continue
		}
		sub := ch.subcharts[n]
		if len(sub.templates) > 0 || len(sub.subcharts) > 0 {
			return nil, fmt.Errorf("subchart %q has templates or subcharts; the helm-template stand-in only supports CRD-only subcharts (install helm)", n)
		}
		out = append(out, sub)
	}
	return out, nil
}
