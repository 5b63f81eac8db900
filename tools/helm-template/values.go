package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"

	yaml2 "gopkg.in/yaml.v2"
	yaml3 "gopkg.in/yaml.v3"
)

// parseYAML decodes YAML the way Helm does (sigs.k8s.io/yaml: YAML -> JSON -> Go), so maps are
// map[string]interface{} and every number is a float64 — Helm's well-known `1e+06` quirk included.
func parseYAML(data []byte) (interface{}, error) {
	var v interface{}
	dec := yaml3.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&v); err != nil {
		if err.Error() == "EOF" {
			return map[string]interface{}{}, nil
		}
		return nil, fmt.Errorf("error converting YAML to JSON: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return normalize(v)
}

func normalize(v interface{}) (interface{}, error) {
	switch t := v.(type) {
	case map[string]interface{}:
		out := make(map[string]interface{}, len(t))
		for k, x := range t {
			n, err := normalize(x)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case map[interface{}]interface{}:
		out := make(map[string]interface{}, len(t))
		for k, x := range t {
			n, err := normalize(x)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = n
		}
		return out, nil
	case []interface{}:
		out := make([]interface{}, len(t))
		for i, x := range t {
			n, err := normalize(x)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case int:
		return float64(t), nil
	case int64:
		return float64(t), nil
	case uint64:
		return float64(t), nil
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return nil, fmt.Errorf("json: unsupported value: %v", t)
		}
		return t, nil
	default:
		if s, ok := v.(fmt.Stringer); ok {
			return s.String(), nil
		}
		return v, nil
	}
}

// toYAML marshals like Helm's toYaml (sigs.k8s.io/yaml: Go -> JSON -> yaml.v2), without the
// trailing newline. Errors yield "".
func toYAML(v interface{}) string {
	out, err := marshalYAML(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(out, "\n")
}

func marshalYAML(v interface{}) (string, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var obj interface{}
	if err := yaml2.Unmarshal(j, &obj); err != nil {
		return "", err
	}
	out, err := yaml2.Marshal(obj)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

func readValuesFile(name string) (map[string]interface{}, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = readAllStdin()
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: no such file or directory", name)
	}
	v, err := parseYAML(data)
	if err != nil {
		return nil, fmt.Errorf("failed to parse %s: %s", name, err)
	}
	if v == nil {
		return map[string]interface{}{}, nil
	}
	m, ok := v.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("failed to parse %s: error unmarshaling JSON: json: cannot unmarshal %s into Go value of type map[string]interface {}", name, jsonKind(v))
	}
	return m, nil
}

func readAllStdin() ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(os.Stdin)
	return b.Bytes(), err
}

func jsonKind(v interface{}) string {
	switch v.(type) {
	case []interface{}:
		return "array"
	case map[string]interface{}:
		return "object"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "value"
}

// mergeUserValues applies, in Helm's order: -f files, --set, --set-string, --set-file, --set-json.
func mergeUserValues(o *options) (map[string]interface{}, error) {
	base := map[string]interface{}{}
	for _, f := range o.valueFiles {
		m, err := readValuesFile(f)
		if err != nil {
			return nil, err
		}
		base = mergeMaps(base, m)
	}
	for _, s := range o.setJSON {
		if err := parseJSONInto(s, base); err != nil {
			return nil, fmt.Errorf("failed parsing --set-json data %s", s)
		}
	}
	for _, s := range o.sets {
		if err := parseInto(s, base, typedReader); err != nil {
			return nil, fmt.Errorf("failed parsing --set data: %s", err)
		}
	}
	for _, s := range o.setStrings {
		if err := parseInto(s, base, stringReader); err != nil {
			return nil, fmt.Errorf("failed parsing --set-string data: %s", err)
		}
	}
	for _, s := range o.setFiles {
		if err := parseInto(s, base, fileReader); err != nil {
			return nil, fmt.Errorf("failed parsing --set-file data: %s", err)
		}
	}
	for _, s := range o.setLiterals {
		if err := parseLiteralInto(s, base); err != nil {
			return nil, fmt.Errorf("failed parsing --set-literal data: %s", err)
		}
	}
	return base, nil
}

// mergeMaps deep-merges b over a (Helm's values-file merge): maps recurse, everything else replaces.
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]interface{}); ok {
			if om, ok := out[k].(map[string]interface{}); ok {
				out[k] = mergeMaps(om, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// coalesceValues overlays user values on the chart defaults (Helm's CoalesceValues): maps merge
// recursively, a user `null` deletes the key, a scalar never overwrites a table with a warning.
func coalesceValues(ch *chart, user map[string]interface{}) map[string]interface{} {
	v := deepCopyMap(user)
	coalesceTables(v, deepCopyMap(ch.values), "")
	return v
}

func coalesceTables(dst, src map[string]interface{}, prefix string) {
	for key, val := range src {
		full := prefix + key
		dv, ok := dst[key]
		switch {
		case ok && dv == nil:
			delete(dst, key)
		case !ok:
			dst[key] = val
		default:
			if dm, isMap := dv.(map[string]interface{}); isMap {
				if sm, isMap := val.(map[string]interface{}); isMap {
					coalesceTables(dm, sm, full+".")
				} else if val != nil {
					fmt.Fprintf(os.Stderr, "coalesce.go:286: warning: cannot overwrite table with non table for %s (%v)\n", full, val)
				}
			} else if _, isMap := val.(map[string]interface{}); isMap {
				fmt.Fprintf(os.Stderr, "coalesce.go:237: warning: skipped value for %s: Not a table.\n", full)
			}
		}
	}
}

func deepCopyMap(m map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(m))
	for k, v := range m {
		out[k] = deepCopy(v)
	}
	return out
}

func deepCopy(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		return deepCopyMap(t)
	case []interface{}:
		out := make([]interface{}, len(t))
		for i, x := range t {
			out[i] = deepCopy(x)
		}
		return out
	}
	return v
}
