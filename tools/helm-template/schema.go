package main

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// validateSchema checks values against a JSON Schema (the draft-07 subset Helm charts use) and
// returns gojsonschema-style messages "field: description", field "(root)" for the top level.
func validateSchema(schema map[string]interface{}, vals map[string]interface{}) []string {
	v := &validator{root: schema}
	var plain interface{}
	raw, _ := json.Marshal(vals)
	_ = json.Unmarshal(raw, &plain)
	v.validate(schema, plain, "(root)")
	return v.errs
}

type validator struct {
	root map[string]interface{}
	errs []string
}

func fieldName(ctx string) string {
	if ctx == "(root)" {
		return ctx
	}
	return strings.TrimPrefix(ctx, "(root).")
}

func (v *validator) add(ctx, msg string) {
	v.errs = append(v.errs, fmt.Sprintf("%s: %s", fieldName(ctx), msg))
}

func (v *validator) resolve(s map[string]interface{}) map[string]interface{} {
	for i := 0; i < 32; i++ {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		if !strings.HasPrefix(ref, "#") {
			return s
		}
		var cur interface{} = v.root
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			if part == "" {
				continue
			}
			part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
			m, _ := cur.(map[string]interface{})
			cur = m[part]
		}
		next, ok := cur.(map[string]interface{})
		if !ok {
			return s
		}
		s = next
	}
	return s
}

func typeOf(x interface{}) string {
	switch t := x.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if t == math.Trunc(t) && !math.IsInf(t, 0) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []interface{}:
		return "array"
	case map[string]interface{}:
		return "object"
	}
	return "unknown"
}

func typeMatches(want, got string) bool {
	return want == got || (want == "number" && got == "integer")
}

func quoteList(l []interface{}) string {
	parts := make([]string, len(l))
	for i, x := range l {
		b, _ := json.Marshal(x)
		parts[i] = string(b)
	}
	return strings.Join(parts, ", ")
}

func num(x interface{}) (float64, bool) {
	f, ok := x.(float64)
	return f, ok
}

// valid reports whether x satisfies s without recording errors.
func (v *validator) valid(s map[string]interface{}, x interface{}, ctx string) bool {
	sub := &validator{root: v.root}
	sub.validate(s, x, ctx)
	return len(sub.errs) == 0
}

func (v *validator) validate(s map[string]interface{}, x interface{}, ctx string) {
	s = v.resolve(s)
	got := typeOf(x)
	if t, ok := s["type"]; ok {
		var wants []string
		switch tt := t.(type) {
		case string:
			wants = []string{tt}
		case []interface{}:
			for _, w := range tt {
				wants = append(wants, fmt.Sprint(w))
			}
		}
		matched := false
		for _, w := range wants {
			if typeMatches(w, got) {
				matched = true
			}
		}
		if !matched {
			v.add(ctx, fmt.Sprintf("Invalid type. Expected: %s, given: %s", strings.Join(wants, ", "), got))
			return
		}
	}
	if e, ok := s["enum"].([]interface{}); ok {
		found := false
		for _, c := range e {
			if reflect.DeepEqual(c, x) {
				found = true
			}
		}
		if !found {
			v.add(ctx, fmt.Sprintf("%s must be one of the following: %s", fieldName(ctx), quoteList(e)))
		}
	}
	if c, ok := s["const"]; ok && !reflect.DeepEqual(c, x) {
		v.add(ctx, fmt.Sprintf("%s does not match: %s", fieldName(ctx), quoteList([]interface{}{c})))
	}
	if l, ok := s["allOf"].([]interface{}); ok {
		for _, sub := range l {
			if sm, ok := sub.(map[string]interface{}); ok {
				v.validate(sm, x, ctx)
			}
		}
	}
	if l, ok := s["anyOf"].([]interface{}); ok {
		any := false
		for _, sub := range l {
			if sm, ok := sub.(map[string]interface{}); ok && v.valid(sm, x, ctx) {
				any = true
			}
		}
		if !any {
			v.add(ctx, "Must validate at least one schema (anyOf)")
		}
	}
	if l, ok := s["oneOf"].([]interface{}); ok {
		n := 0
		for _, sub := range l {
			if sm, ok := sub.(map[string]interface{}); ok && v.valid(sm, x, ctx) {
				n++
			}
		}
		if n != 1 {
			v.add(ctx, "Must validate one and only one schema (oneOf)")
		}
	}
	if n, ok := s["not"].(map[string]interface{}); ok && v.valid(n, x, ctx) {
		v.add(ctx, "Must not validate the schema (not)")
	}
	if ifs, ok := s["if"].(map[string]interface{}); ok {
		if v.valid(ifs, x, ctx) {
			if th, ok := s["then"].(map[string]interface{}); ok {
				v.validate(th, x, ctx)
			}
		} else if el, ok := s["else"].(map[string]interface{}); ok {
			v.validate(el, x, ctx)
		}
	}
	switch t := x.(type) {
	case string:
		n := float64(len([]rune(t)))
		if m, ok := num(s["minLength"]); ok && n < m {
			v.add(ctx, fmt.Sprintf("String length must be greater than or equal to %v", m))
		}
		if m, ok := num(s["maxLength"]); ok && n > m {
			v.add(ctx, fmt.Sprintf("String length must be less than or equal to %v", m))
		}
		if p, ok := s["pattern"].(string); ok {
			if re, err := regexp.Compile(p); err == nil && !re.MatchString(t) {
				v.add(ctx, fmt.Sprintf("Does not match pattern '%s'", p))
			}
		}
	case float64:
		if m, ok := num(s["minimum"]); ok && t < m {
			v.add(ctx, fmt.Sprintf("Must be greater than or equal to %v", m))
		}
		if m, ok := num(s["maximum"]); ok && t > m {
			v.add(ctx, fmt.Sprintf("Must be less than or equal to %v", m))
		}
		if m, ok := num(s["exclusiveMinimum"]); ok && t <= m {
			v.add(ctx, fmt.Sprintf("Must be greater than %v", m))
		}
		if m, ok := num(s["exclusiveMaximum"]); ok && t >= m {
			v.add(ctx, fmt.Sprintf("Must be less than %v", m))
		}
		if m, ok := num(s["multipleOf"]); ok && m != 0 && math.Mod(t, m) != 0 {
			v.add(ctx, fmt.Sprintf("Must be a multiple of %v", m))
		}
	case []interface{}:
		n := float64(len(t))
		if m, ok := num(s["minItems"]); ok && n < m {
			v.add(ctx, fmt.Sprintf("Array must have at least %v items", m))
		}
		if m, ok := num(s["maxItems"]); ok && n > m {
			v.add(ctx, fmt.Sprintf("Array must have at most %v items", m))
		}
		if u, ok := s["uniqueItems"].(bool); ok && u {
			for i := range t {
				for j := i + 1; j < len(t); j++ {
					if reflect.DeepEqual(t[i], t[j]) {
						v.add(ctx, fmt.Sprintf("array items[%d,%d] must be unique", i, j))
					}
				}
			}
		}
		switch items := s["items"].(type) {
		case map[string]interface{}:
			for i, el := range t {
				v.validate(items, el, fmt.Sprintf("%s.%d", ctx, i))
			}
		case []interface{}:
			for i, el := range t {
				if i < len(items) {
					if sm, ok := items[i].(map[string]interface{}); ok {
						v.validate(sm, el, fmt.Sprintf("%s.%d", ctx, i))
					}
				}
			}
		}
	case map[string]interface{}:
		if req, ok := s["required"].([]interface{}); ok {
			for _, r := range req {
				if _, present := t[fmt.Sprint(r)]; !present {
					v.add(ctx, fmt.Sprintf("%s is required", r))
				}
			}
		}
		if m, ok := num(s["minProperties"]); ok && float64(len(t)) < m {
			v.add(ctx, fmt.Sprintf("Must have at least %v properties", m))
		}
		if m, ok := num(s["maxProperties"]); ok && float64(len(t)) > m {
			v.add(ctx, fmt.Sprintf("Must have at most %v properties", m))
		}
		props, _ := s["properties"].(map[string]interface{})
		patterns, _ := s["patternProperties"].(map[string]interface{})
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			child := ctx + "." + k
			matched := false
			if ps, ok := props[k].(map[string]interface{}); ok {
				v.validate(ps, t[k], child)
				matched = true
			}
			for p, ps := range patterns {
				if re, err := regexp.Compile(p); err == nil && re.MatchString(k) {
					if psm, ok := ps.(map[string]interface{}); ok {
						v.validate(psm, t[k], child)
					}
					matched = true
				}
			}
			if matched {
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					v.add(ctx, fmt.Sprintf("Additional property %s is not allowed", k))
				}
			case map[string]interface{}:
				v.validate(ap, t[k], child)
			}
		}
	}
}
