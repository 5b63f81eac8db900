package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"
)

// Helm's --set syntax (pkg/strvals): `a.b=c,d[0].e=f,list={x,y}`; `\` escapes the next rune.
// Behaviour mirrors Helm, including its error texts and its refusal to index into a value of the
// wrong type ("unable to parse key: interface conversion: ...").

var errNotList = errors.New("not a list")

const (
	maxIndex           = 65536
	maxNestedNameLevel = 30
)

type valueReader func([]rune) (interface{}, error)

func typedReader(rs []rune) (interface{}, error)  { return typedVal(string(rs)), nil }
func stringReader(rs []rune) (interface{}, error) { return string(rs), nil }
func fileReader(rs []rune) (interface{}, error) {
	name := strings.TrimSpace(string(rs))
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("open %s: no such file or directory", name)
	}
	return string(data), nil
}

// typedVal is Helm's typing of --set values: true/false/null, integers without a leading zero.
func typedVal(val string) interface{} {
	if strings.EqualFold(val, "true") {
		return true
	}
	if strings.EqualFold(val, "false") {
		return false
	}
	if strings.EqualFold(val, "null") {
		return nil
	}
	if strings.EqualFold(val, "0") {
		return int64(0)
	}
	if len(val) != 0 && val[0] != '0' {
		if iv, err := strconv.ParseInt(val, 10, 64); err == nil {
			return iv
		}
	}
	return val
}

type runeScanner struct {
	rs  []rune
	pos int
}

func (s *runeScanner) next() (rune, bool) {
	if s.pos >= len(s.rs) {
		return 0, false
	}
	r := s.rs[s.pos]
	s.pos++
	return r, true
}

func (s *runeScanner) unread() { s.pos-- }

func (s *runeScanner) rest() string { return string(s.rs[s.pos:]) }

type strParser struct {
	sc        *runeScanner
	reader    valueReader
	isJSONVal bool
}

func parseInto(s string, dest map[string]interface{}, reader valueReader) error {
	return runParser(&strParser{sc: &runeScanner{rs: []rune(s)}, reader: reader}, dest)
}

// parseJSONInto is --set-json: every value is a JSON document.
func parseJSONInto(s string, dest map[string]interface{}) error {
	return runParser(&strParser{sc: &runeScanner{rs: []rune(s)}, reader: typedReader, isJSONVal: true}, dest)
}

// parseLiteralInto is --set-literal: the key is parsed as usual, the value is the rest verbatim.
func parseLiteralInto(s string, dest map[string]interface{}) error {
	idx := strings.Index(s, "=")
	if idx < 0 {
		return fmt.Errorf("key %q has no value", s)
	}
	value := s[idx+1:]
	p := &strParser{sc: &runeScanner{rs: []rune(s[:idx] + "=x")}, reader: func([]rune) (interface{}, error) { return value, nil }}
	return runParser(p, dest)
}

func runParser(p *strParser, dest map[string]interface{}) error {
	for {
		err := p.key(dest, 0)
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
}

func set(data map[string]interface{}, key string, val interface{}) {
	if len(key) == 0 {
		return
	}
	data[key] = val
}

func goTypeName(v interface{}) string {
	switch v.(type) {
	case nil:
		return "nil"
	case string:
		return "interface {} is string"
	case bool:
		return "interface {} is bool"
	case int64:
		return "interface {} is int64"
	case float64:
		return "interface {} is float64"
	case []interface{}:
		return "interface {} is []interface {}"
	case map[string]interface{}:
		return "interface {} is map[string]interface {}"
	}
	return fmt.Sprintf("interface {} is %T", v)
}

func conversionError(v interface{}, want string) error {
	return fmt.Errorf("unable to parse key: interface conversion: %s, not %s", goTypeName(v), want)
}

// runesUntil reads up to (and consumes) the first unescaped rune in stop.
func (p *strParser) runesUntil(stop string) ([]rune, rune, error) {
	v := []rune{}
	for {
		r, ok := p.sc.next()
		if !ok {
			return v, 0, io.EOF
		}
		if strings.ContainsRune(stop, r) {
			return v, r, nil
		}
		if r == '\\' {
			n, ok := p.sc.next()
			if !ok {
				return v, 0, io.EOF
			}
			v = append(v, n)
			continue
		}
		v = append(v, r)
	}
}

// emptyVal consumes blanks up to a comma or the end (an empty JSON value) or stops before data.
func (p *strParser) emptyVal() bool {
	for {
		r, ok := p.sc.next()
		if !ok || r == ',' {
			return true
		}
		if !unicode.IsSpace(r) {
			p.sc.unread()
			return false
		}
	}
}

// jsonVal decodes one JSON document at the scanner and consumes it plus a following comma.
func (p *strParser) jsonVal() (interface{}, error) {
	dec := json.NewDecoder(strings.NewReader(p.sc.rest()))
	var v interface{}
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	consumed := len([]rune(p.sc.rest()[:dec.InputOffset()]))
	p.sc.pos += consumed
	p.emptyVal()
	return v, nil
}

func (p *strParser) key(data map[string]interface{}, nested int) error {
	k, last, err := p.runesUntil("=[,.")
	switch {
	case err != nil:
		if len(k) == 0 {
			return err
		}
		return fmt.Errorf("key %q has no value", string(k))
	case last == '[':
		i, err := p.keyIndex()
		if err != nil {
			return fmt.Errorf("error parsing index: %s", err)
		}
		kk := string(k)
		list := []interface{}{}
		if existing, ok := data[kk]; ok {
			l, ok := existing.([]interface{})
			if !ok {
				return conversionError(existing, "[]interface {}")
			}
			list = l
		}
		list, err = p.listItem(list, i, nested)
		set(data, kk, list)
		return err
	case last == '=':
		if p.isJSONVal {
			if p.emptyVal() {
				set(data, string(k), nil)
				return nil
			}
			v, err := p.jsonVal()
			if err != nil {
				return err
			}
			set(data, string(k), v)
			return nil
		}
		vl, e := p.valList()
		switch {
		case e == nil:
			set(data, string(k), vl)
			return nil
		case errors.Is(e, io.EOF):
			set(data, string(k), "")
			return e
		case errors.Is(e, errNotList):
			rs, e := p.val()
			if e != nil && !errors.Is(e, io.EOF) {
				return e
			}
			// Helm returns the reader's error here, so a value ending the input yields nil, not EOF.
			v, rerr := p.reader(rs)
			set(data, string(k), v)
			return rerr
		default:
			return e
		}
	case last == ',':
		set(data, string(k), "")
		return fmt.Errorf("key %q has no value (cannot end with ,)", string(k))
	default: // '.'
		nested++
		if nested > maxNestedNameLevel {
			return fmt.Errorf("value name nested level is greater than maximum supported nested level of %d", maxNestedNameLevel)
		}
		inner := map[string]interface{}{}
		if existing, ok := data[string(k)]; ok {
			m, ok := existing.(map[string]interface{})
			if !ok {
				return conversionError(existing, "map[string]interface {}")
			}
			inner = m
		}
		e := p.key(inner, nested)
		if e == nil && len(inner) == 0 {
			return fmt.Errorf("key map %q has no value", string(k))
		}
		if len(inner) != 0 {
			set(data, string(k), inner)
		}
		return e
	}
}

func (p *strParser) keyIndex() (int, error) {
	v, _, err := p.runesUntil("]")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(v))
}

func setIndex(list []interface{}, index int, val interface{}) ([]interface{}, error) {
	if index < 0 {
		return list, fmt.Errorf("negative %d index not allowed", index)
	}
	if index > maxIndex {
		return list, fmt.Errorf("index of %d is greater than maximum supported index of %d", index, maxIndex)
	}
	if len(list) <= index {
		grown := make([]interface{}, index+1)
		copy(grown, list)
		list = grown
	}
	list[index] = val
	return list, nil
}

func (p *strParser) listItem(list []interface{}, i, nested int) ([]interface{}, error) {
	if i < 0 {
		return list, fmt.Errorf("negative %d index not allowed", i)
	}
	k, last, err := p.runesUntil("[.=")
	switch {
	case len(k) > 0:
		return list, fmt.Errorf("unexpected data at end of array index: %q", string(k))
	case err != nil:
		return list, err
	case last == '=':
		if p.isJSONVal {
			if p.emptyVal() {
				return setIndex(list, i, nil)
			}
			v, err := p.jsonVal()
			if err != nil {
				return list, err
			}
			return setIndex(list, i, v)
		}
		vl, e := p.valList()
		switch {
		case e == nil:
			return setIndex(list, i, vl)
		case errors.Is(e, io.EOF):
			return setIndex(list, i, "")
		case errors.Is(e, errNotList):
			rs, e := p.val()
			if e != nil && !errors.Is(e, io.EOF) {
				return list, e
			}
			v, rerr := p.reader(rs)
			if rerr != nil {
				return list, rerr
			}
			return setIndex(list, i, v)
		default:
			return list, e
		}
	case last == '[':
		j, err := p.keyIndex()
		if err != nil {
			return list, fmt.Errorf("error parsing index: %s", err)
		}
		var crtList []interface{}
		if len(list) > i && list[i] != nil {
			l, ok := list[i].([]interface{})
			if !ok {
				return list, conversionError(list[i], "[]interface {}")
			}
			crtList = l
		}
		inner, err := p.listItem(crtList, j, nested)
		if err != nil {
			return list, err
		}
		return setIndex(list, i, inner)
	default: // '.'
		inner := map[string]interface{}{}
		if len(list) > i {
			if m, ok := list[i].(map[string]interface{}); ok {
				inner = m
			} else {
				list[i] = inner
			}
		}
		if e := p.key(inner, nested); e != nil {
			return list, e
		}
		return setIndex(list, i, inner)
	}
}

func (p *strParser) val() ([]rune, error) {
	v, _, err := p.runesUntil(",")
	return v, err
}

func (p *strParser) valList() ([]interface{}, error) {
	r, ok := p.sc.next()
	if !ok {
		return []interface{}{}, io.EOF
	}
	if r != '{' {
		p.sc.unread()
		return []interface{}{}, errNotList
	}
	list := []interface{}{}
	for {
		rs, last, err := p.runesUntil(",}")
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("list must terminate with '}'")
			}
			return list, err
		}
		v, rerr := p.reader(rs)
		if last == '}' {
			if r, ok := p.sc.next(); ok && r != ',' {
				p.sc.unread()
			}
			list = append(list, v)
			return list, rerr
		}
		if rerr != nil {
			return list, rerr
		}
		list = append(list, v)
	}
}
