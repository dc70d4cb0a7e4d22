package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzStreamLine checks the stream's row decoder against encoding/json: a line it accepts is
// a JSON array of exactly cols numbers, with the values encoding/json reads; a line that is
// such an array of finite numbers it accepts; anything else is an error with a short, valid
// message and a documented code, and nothing appended. Seeds: testdata/fuzz/FuzzStreamLine
// and below.
func FuzzStreamLine(f *testing.F) {
	for _, s := range []string{
		"[1,2,3]", " [ 1 , -2.5e3 , 0 ] ", "[0.1,1E+2,-0]", "[]", "[1,2]", "[1,2,3,4]", "[1,2,3,]",
		"[NaN,1,2]", "[Infinity,1,2]", "[1e999,0,0]", "[1e-999,0,0]", "[01,2,3]", "[+1,2,3]", "[.5,1,2]",
		"[1.,2,3]", "[1e,2,3]", `[1,"2",3]`, "[1,null,3]", "[[1],2,3]", `{"data":[1,2,3]}`, "[1,2,3][1]",
		"[1 2 3]", "[1,2,3", "1,2,3", "", "\x00", "[\xff,1,2]", "[1,2,3]\r", "[\t1,\t2,\t3\t]",
		"[-,1,2]", "[--1,2,3]", "[1e+,2,3]", "[0e0,0E-0,-0.0e+00]", strings.Repeat("[", 1000),
		"[" + strings.Repeat("1,", 200) + "1]", "[123456789012345678901234567890,1,2]",
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, line []byte, c uint8) {
		cols := int(c % 12)
		prefix := []float64{42}
		got, e := parseRow(line, prefix, cols)
		want, ok := jsonRow(line)
		if e != nil {
			if len(got) != 1 || got[0] != 42 {
				t.Fatalf("%q: error %q, and the row's values were appended: %v", line, e.msg, got)
			}
			if e.code != CodeBadRequest && e.code != CodeInvalidData {
				t.Fatalf("%q: code %q", line, e.code)
			}
			if len(e.msg) > 200 || !utf8.ValidString(e.msg) || e.msg == "" {
				t.Fatalf("%q: message %q", line, e.msg)
			}
			if ok && len(want) == cols {
				t.Fatalf("%q: refused (%s) a row of %d finite numbers that encoding/json reads", line, e.msg, cols)
			}
			return
		}
		if !ok || len(want) != cols || len(got) != cols+1 {
			t.Fatalf("%q: accepted %v as a row of %d; encoding/json reads %v (%v)", line, got[1:], cols, want, ok)
		}
		for i, v := range want {
			if got[i+1] != v || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%q: value %d is %v, encoding/json reads %v", line, i, got[i+1], v)
			}
		}
	})
}

// jsonRow reads line with encoding/json: an array of numbers, each finite as a float64.
func jsonRow(line []byte) ([]float64, bool) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var vs []any
	if err := dec.Decode(&vs); err != nil || vs == nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	out := make([]float64, len(vs))
	for i, v := range vs {
		n, ok := v.(json.Number)
		if !ok {
			return nil, false
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, false
		}
		out[i] = f
	}
	return out, true
}

// FuzzStreamLines checks the stream's line splitter: each line it gives is at most the limit,
// holds no newline and is not blank, its number grows with every line (blank ones counted),
// and when no line is too long the lines are exactly the body's non-blank ones.
func FuzzStreamLines(f *testing.F) {
	for _, s := range []string{
		"[1,2,3]\n[4,5,6]\n", "[1]\r\n\r\n[2]", "\n\n\n", "", "no newline at the end", strings.Repeat("x", 70_000) + "\n[1]\n",
		" \t \n[1]\n", "a\rb\nc", strings.Repeat("[1,2,3]\n", 2000),
	} {
		f.Add([]byte(s), uint16(100))
	}
	f.Fuzz(func(t *testing.T, body []byte, limit uint16) {
		maxLine := int(limit)%(1<<15) + 1
		lr := newLineReader(bytes.NewReader(body), maxLine)
		var got []string
		last := 0
		for range len(body) + 2 {
			l, err := lr.next()
			if err == io.EOF {
				break
			}
			if errors.Is(err, errLineTooLong) {
				return // a line past the limit: the stream ends there
			}
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if len(l) > maxLine || bytes.IndexByte(l, '\n') >= 0 || len(bytes.Trim(l, " \t\r")) == 0 || lr.line <= last {
				t.Fatalf("line %d %q (limit %d, previous number %d)", lr.line, l, maxLine, last)
			}
			last = lr.line
			got = append(got, string(l))
		}
		var want []string
		for _, l := range strings.Split(string(body), "\n") {
			l = strings.TrimSuffix(l, "\r")
			if strings.Trim(l, " \t\r") != "" {
				want = append(want, l)
			}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) != len(want) {
			t.Fatalf("lines %q, want %q", got, want)
		}
	})
}
