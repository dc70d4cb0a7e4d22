package detector

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"
)

// FuzzParseParams checks every algorithm (or the one named) against any JSON object of
// parameters: ParseParams returns parameters or an error wrapping ErrBadParameter, never a
// panic or another error, and NewModel does not panic; what ParseParams accepts has every
// parameter, typed per its spec and in range; and accepted parameters written as JSON and
// read again parse to the same values. numbers selects json.Number values (as model headers
// and bench configs decode them) or float64 (as the server does).
func FuzzParseParams(f *testing.F) {
	// The seeds are in testdata/fuzz/FuzzParseParams (see TestFuzzCorpus).
	f.Fuzz(func(t *testing.T, algorithm, in string, numbers bool) {
		raw, ok := decodeParams(in, numbers)
		if !ok {
			return
		}
		algs := Algorithms()
		if a, err := Lookup(algorithm); err == nil {
			algs = []*Algorithm{a}
		}
		for _, a := range algs {
			p, err := a.ParseParams(raw)
			if err != nil {
				if !errors.Is(err, ErrBadParameter) {
					t.Fatalf("%s: error %v does not wrap ErrBadParameter", a.Name, err)
				}
				continue
			}
			checkParams(t, a, p)
			// The constructor may refine what the specs say: isolation_forest takes a
			// max_samples or max_features above 1 only as a whole count. Such a refusal is a
			// parameter error too.
			if _, err := NewModel(a.Name, raw, DefaultContamination); err != nil && !errors.Is(err, ErrBadParameter) {
				t.Fatalf("%s: NewModel(%v): error %v does not wrap ErrBadParameter", a.Name, raw, err)
			}
			out, err := json.Marshal(p)
			if err != nil {
				t.Fatalf("%s: parameters %v do not encode: %v", a.Name, p, err)
			}
			back, ok := decodeParams(string(out), numbers)
			if !ok {
				t.Fatalf("%s: %s does not decode", a.Name, out)
			}
			p2, err := a.ParseParams(back)
			if err != nil || !reflect.DeepEqual(p, p2) {
				t.Fatalf("%s: %v written as %s reads back as %v, %v", a.Name, p, out, p2, err)
			}
		}
	})
}

// decodeParams reads a JSON object the way the server (float64) or a model header
// (json.Number) does; ok is false when in is not an object.
func decodeParams(in string, numbers bool) (map[string]any, bool) {
	var raw map[string]any
	d := json.NewDecoder(bytes.NewReader([]byte(in)))
	if numbers {
		d.UseNumber()
	}
	if err := d.Decode(&raw); err != nil {
		return nil, false
	}
	return raw, true
}

// checkParams checks that p holds exactly a's parameters, each of its kind's type and in range.
func checkParams(t *testing.T, a *Algorithm, p Params) {
	t.Helper()
	if len(p) != len(a.Params) {
		t.Fatalf("%s: %d values for %d parameters: %v", a.Name, len(p), len(a.Params), p)
	}
	inRange := func(s ParamSpec, f float64) bool {
		return !math.IsNaN(f) && !math.IsInf(f, 0) && f >= s.Min && !(s.MinOpen && f == s.Min) && (s.Max == 0 || f <= s.Max)
	}
	for _, s := range a.Params {
		v, present := p[s.Name]
		ok := present
		switch x := v.(type) {
		case int:
			ok = ok && s.Kind == Int && inRange(s, float64(x))
		case float64:
			ok = ok && (s.Kind == Float || s.Kind == FloatOrChoice) && inRange(s, x)
		case bool:
			ok = ok && s.Kind == Bool
		case string:
			ok = ok && (s.Kind == Choice || s.Kind == FloatOrChoice) && slices.Contains(s.Choices, x)
		default:
			ok = false
		}
		if !ok {
			t.Fatalf("%s: parameter %s (%v, %s) holds %T %v", a.Name, s.Name, s.Kind, s.Range(), v, v)
		}
	}
}

// paramSeed is one input of FuzzParseParams.
type paramSeed struct {
	name, algorithm, json string
	numbers               bool
}

// paramSeeds are, for every algorithm, its defaults, each parameter at and past its bounds,
// and values of the wrong type; plus objects no algorithm accepts.
func paramSeeds() []paramSeed {
	var seeds []paramSeed
	// Half the seeds decode numbers as json.Number, half as float64.
	add := func(name, alg, js string) {
		seeds = append(seeds, paramSeed{name, alg, js, len(seeds)%2 == 0})
	}
	for _, a := range Algorithms() {
		def, _ := json.Marshal(defaultsOf(a))
		add(a.Name+"-defaults", a.Name, string(def))
		add(a.Name+"-defaults-float64", a.Name, string(def))
		add(a.Name+"-empty", a.Name, `{}`)
		for _, s := range a.Params {
			pre := a.Name + "-" + s.Name
			switch s.Kind {
			case Int, Float, FloatOrChoice:
				add(pre+"-min", a.Name, `{"`+s.Name+`": `+jsonNum(s.Min)+`}`)
				add(pre+"-below", a.Name, `{"`+s.Name+`": `+jsonNum(s.Min-0.5)+`}`)
				if s.Max != 0 {
					add(pre+"-max", a.Name, `{"`+s.Name+`": `+jsonNum(s.Max)+`}`)
					add(pre+"-above", a.Name, `{"`+s.Name+`": `+jsonNum(s.Max+1)+`}`)
				}
				add(pre+"-string", a.Name, `{"`+s.Name+`": " 7 "}`)
				add(pre+"-overflow", a.Name, `{"`+s.Name+`": 1e400}`)
				add(pre+"-fraction", a.Name, `{"`+s.Name+`": 2.5}`)
				add(pre+"-huge", a.Name, `{"`+s.Name+`": 9223372036854775808}`)
			case Bool:
				add(pre+"-true", a.Name, `{"`+s.Name+`": true}`)
				add(pre+"-string", a.Name, `{"`+s.Name+`": "false"}`)
				add(pre+"-number", a.Name, `{"`+s.Name+`": 1}`)
			}
			for _, c := range s.Choices {
				add(pre+"-"+c, a.Name, `{"`+s.Name+`": "`+c+`"}`)
			}
			add(pre+"-null", a.Name, `{"`+s.Name+`": null}`)
			add(pre+"-object", a.Name, `{"`+s.Name+`": {"a": [1]}}`)
		}
	}
	add("unknown-name", "", `{"no_such": 1}`)
	add("duplicate-key", "knn", `{"n_neighbors": 3, "n_neighbors": 0}`)
	add("nan-string", "hbos", `{"alpha": "NaN", "tol": "Inf"}`)
	add("not-an-object", "", `[1, 2]`)
	add("unknown-algorithm", "no_such", `{}`)
	return seeds
}

func defaultsOf(a *Algorithm) map[string]any {
	m := map[string]any{}
	for _, s := range a.Params {
		m[s.Name] = s.Default
	}
	return m
}

func jsonNum(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}
