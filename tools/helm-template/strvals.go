package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Helm's --set syntax (pkg/strvals): `a.b=c,d[0].e=f,list={x,y}`, `\` escapes the next rune.

var errNotList = errors.New("not a list")

const maxIndex = 65536

type valueReader func([]rune) (interface{}, error)

func typedReader(rs []rune) (interface{}, error)  { return typedVal(string(rs)), nil }
func stringReader(rs []rune) (interface{}, error) { return string(rs), nil }
func fileReader(rs []rune) (interface{}, error) {
	data, err := os.ReadFile(strings.TrimSpace(string(rs)))
	if err != nil {
		return nil, fmt.Errorf("open %s: no such file or directory", string(rs))
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

func (s *runeScanner) peek() (rune, bool) {
	if s.pos >= len(s.rs) {
		return 0, false
	}
	return s.rs[s.pos], true
}

type strParser struct {
	sc     *runeScanner
	reader valueReader
}

func parseInto(s string, dest map[string]interface{}, reader valueReader) error {
	p := &strParser{sc: &runeScanner{rs: []rune(s)}, reader: reader}
	for {
		err := p.key(dest)
		if err == nil {
			continue
		}
		if err == io.EOF {
			return nil
		}
		return err
	}
}

// runesUntil reads up to (and consumes) the first unescaped rune in stop.
func (p *strParser) runesUntil(stop string) ([]rune, rune, error) {
	var v []rune
	for {
		r, ok := p.sc.next()
		if !ok {
			return v, 0, io.EOF
		}
		if r == '\\' {
			n, ok := p.sc.next()
			if !ok {
				return v, 0, io.EOF
			}
			v = append(v, n)
			continue
		}
		if strings.ContainsRune(stop, r) {
			return v, r, nil
		}
		v = append(v, r)
	}
}

func (p *strParser) key(data map[string]interface{}) error {
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
			if l, ok := existing.([]interface{}); ok {
				list = l
			}
		}
		list, err = p.listItem(list, i)
		data[kk] = list
		return err
	case last == '=':
		vl, e := p.valList()
		switch e {
		case nil:
			data[string(k)] = vl
			return nil
		case io.EOF:
			data[string(k)] = ""
			return e
		case errNotList:
			rs, e := p.val()
			if e != nil && e != io.EOF {
				return e
			}
			v, rerr := p.reader(rs)
			if rerr != nil {
				return rerr
			}
			data[string(k)] = v
			return e
		default:
			return e
		}
	case last == ',':
		data[string(k)] = ""
		return fmt.Errorf("key %q has no value (cannot end with ,)", string(k))
	default: // '.'
		inner := map[string]interface{}{}
		if existing, ok := data[string(k)].(map[string]interface{}); ok {
			inner = existing
		}
		e := p.key(inner)
		if e == nil && len(inner) == 0 {
			return fmt.Errorf("key map %q has no value", string(k))
		}
		if len(inner) != 0 {
			data[string(k)] = inner
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

func (p *strParser) listItem(list []interface{}, i int) ([]interface{}, error) {
	if i < 0 {
		return list, fmt.Errorf("negative %d index not allowed", i)
	}
	stop := "[.="
	_, last, err := p.runesUntil(stop)
	if err != nil {
		return list, fmt.Errorf("error parsing index: %s", err)
	}
	switch last {
	case '=':
		vl, e := p.valList()
		switch e {
		case nil:
			return setIndex(list, i, vl)
		case io.EOF:
			return setIndex(list, i, "")
		case errNotList:
			rs, e := p.val()
			if e != nil && e != io.EOF {
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
	case '[':
		j, err := p.keyIndex()
		if err != nil {
			return list, fmt.Errorf("error parsing index: %s", err)
		}
		var crtList []interface{}
		if len(list) > i {
			if l, ok := list[i].([]interface{}); ok {
				crtList = l
			}
		}
		inner, err := p.listItem(crtList, j)
		if err != nil {
			return list, err
		}
		return setIndex(list, i, inner)
	default: // '.'
		inner := map[string]interface{}{}
		if len(list) > i {
			if m, ok := list[i].(map[string]interface{}); ok {
				inner = m
			}
		}
		e := p.key(inner)
		if e != nil && e != io.EOF {
			return list, e
		}
		l, err := setIndex(list, i, inner)
		if err != nil {
			return list, err
		}
		return l, e
	}
}

func (p *strParser) val() ([]rune, error) {
	v, _, err := p.runesUntil(",")
	return v, err
}

func (p *strParser) valList() ([]interface{}, error) {
	r, ok := p.sc.peek()
	if !ok {
		return []interface{}{}, io.EOF
	}
	if r != '{' {
		return []interface{}{}, errNotList
	}
	p.sc.next()
	list := []interface{}{}
	for {
		rs, last, err := p.runesUntil(",}")
		if err != nil {
			if err == io.EOF {
				err = errors.New("list must terminate with '}'")
			}
			return list, err
		}
		v, rerr := p.reader(rs)
		if rerr != nil {
			return list, rerr
		}
		list = append(list, v)
		if last == '}' {
			if r, ok := p.sc.peek(); ok && r == ',' {
				p.sc.next()
			}
			return list, nil
		}
	}
}
