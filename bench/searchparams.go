package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gonomaly/gonomaly/detector"
)

// GridParam is one parameter of a grid search and the values it takes, in order. Values are
// typed as the parameter's kind stores them (int, float64, bool or string).
type GridParam struct {
	Name   string `json:"name" yaml:"name"`
	Values []any  `json:"values" yaml:"values"`
}

// ParamRange is one parameter of a random search: a number drawn uniformly from [Min, Max]
// (log-uniformly with Log; whole numbers with Integer), or, when Choices is set, one of them,
// each equally likely.
type ParamRange struct {
	Name    string  `json:"name" yaml:"name"`
	Min     float64 `json:"min,omitempty" yaml:"min,omitempty"`
	Max     float64 `json:"max,omitempty" yaml:"max,omitempty"`
	Integer bool    `json:"integer,omitempty" yaml:"integer,omitempty"`
	Log     bool    `json:"log,omitempty" yaml:"log,omitempty"`
	Choices []any   `json:"choices,omitempty" yaml:"choices,omitempty"`
}

// paramSpec is the named parameter's definition, or an error listing the valid names.
func paramSpec(alg *detector.Algorithm, name string) (*detector.ParamSpec, error) {
	for i := range alg.Params {
		if alg.Params[i].Name == name {
			return &alg.Params[i], nil
		}
	}
	if name == "contamination" {
		return nil, searchErr("contamination is not searched: it sets only the threshold, and ROC-AUC and average precision rank the scores, which it does not change; set it with --contamination")
	}
	valid := "none: it has no parameters to search"
	if len(alg.Params) > 0 {
		valid = strings.Join(alg.ParamNames(), ", ")
	}
	return nil, searchErr("%s has no parameter %q (valid: %s)", alg.Name, name, valid)
}

// parseValue checks v as a value of the named parameter and returns it typed.
func parseValue(alg *detector.Algorithm, name string, v any) (any, error) {
	p, err := alg.ParseParams(map[string]any{name: v})
	if err != nil {
		return nil, searchErr("%v", err)
	}
	return p[name], nil
}

func (r *ParamRange) check(alg *detector.Algorithm, s *detector.ParamSpec) error {
	if len(r.Choices) > 0 {
		for _, v := range r.Choices {
			if _, err := parseValue(alg, r.Name, v); err != nil {
				return err
			}
		}
		return nil
	}
	if s.Kind != detector.Int && s.Kind != detector.Float && s.Kind != detector.FloatOrChoice {
		return searchErr("range of %s: a %s parameter takes choices (name=a,b,...), not lo:hi", r.Name, s.Kind)
	}
	if s.Kind == detector.Int && !r.Integer {
		return searchErr("range of %s: an integer parameter needs whole-number ends", r.Name)
	}
	for _, v := range []float64{r.Min, r.Max} {
		if _, err := parseValue(alg, r.Name, v); err != nil {
			return err
		}
		if r.Integer && v != math.Trunc(v) {
			return searchErr("range of %s: %v is not a whole number", r.Name, v)
		}
	}
	switch {
	case r.Min > r.Max:
		return searchErr("range of %s: %v:%v is empty (low end above high end)", r.Name, r.Min, r.Max)
	case r.Log && r.Min <= 0:
		return searchErr("range of %s: a log scale needs a positive low end, not %v", r.Name, r.Min)
	}
	return nil
}

// first is a value of the range, for checking that it makes a model.
func (r *ParamRange) first() any {
	if len(r.Choices) > 0 {
		return r.Choices[0]
	}
	return r.Min
}

// draw draws one value of the range.
func (r *ParamRange) draw(rng *rand.Rand, kind detector.Kind) any {
	if len(r.Choices) > 0 {
		return r.Choices[rng.IntN(len(r.Choices))]
	}
	lo, hi := r.Min, r.Max
	var v float64
	switch {
	case r.Integer && r.Log:
		v = math.Floor(math.Exp(math.Log(lo) + rng.Float64()*(math.Log(hi+1)-math.Log(lo))))
	case r.Integer && hi-lo < 1<<53:
		v = lo + float64(rng.Int64N(int64(hi-lo)+1))
	case r.Integer:
		v = math.Floor(lo + rng.Float64()*(hi-lo))
	case r.Log:
		v = math.Exp(math.Log(lo) + rng.Float64()*(math.Log(hi)-math.Log(lo)))
	default:
		v = lo + rng.Float64()*(hi-lo)
	}
	v = min(max(v, lo), hi)
	if kind == detector.Int {
		return int(v)
	}
	return v
}

// ParseGrid parses grid parameters written name=v1,v2,... (as --grid takes them) for the
// algorithm, checking each name and value against its parameter definitions: an unknown name
// is an error listing the valid ones. Values come back typed. Errors wrap ErrConfig.
func ParseGrid(algorithm string, kvs []string) ([]GridParam, error) {
	alg, err := detector.Lookup(algorithm)
	if err != nil {
		return nil, searchErr("%v", err)
	}
	var grid []GridParam
	for _, kv := range kvs {
		name, list, err := splitKV("grid", kv)
		if err != nil {
			return nil, err
		}
		if _, err := paramSpec(alg, name); err != nil {
			return nil, err
		}
		if slices.ContainsFunc(grid, func(g GridParam) bool { return g.Name == name }) {
			return nil, searchErr("grid %q: parameter %s given twice", kv, name)
		}
		g := GridParam{Name: name}
		for _, s := range strings.Split(list, ",") {
			if s = strings.TrimSpace(s); s == "" {
				return nil, searchErr("grid %q: an empty value", kv)
			}
			v, err := parseValue(alg, name, s)
			if err != nil {
				return nil, err
			}
			if slices.Contains(g.Values, v) {
				return nil, searchErr("grid %q: value %v given twice", kv, v)
			}
			g.Values = append(g.Values, v)
		}
		grid = append(grid, g)
	}
	return grid, nil
}

// ParseRanges parses random-search ranges (as --range takes them) for the algorithm:
// name=lo:hi draws a number uniformly from [lo, hi], whole numbers when both ends are written
// as whole numbers (an integer parameter needs them) and real numbers otherwise;
// name=lo:hi:log draws on a log scale (lo > 0); name=a,b,... draws one of the values. Names
// and values are checked against the algorithm's parameter definitions. Errors wrap
// ErrConfig.
func ParseRanges(algorithm string, kvs []string) ([]ParamRange, error) {
	alg, err := detector.Lookup(algorithm)
	if err != nil {
		return nil, searchErr("%v", err)
	}
	var ranges []ParamRange
	for _, kv := range kvs {
		name, spec, err := splitKV("range", kv)
		if err != nil {
			return nil, err
		}
		ps, err := paramSpec(alg, name)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(ranges, func(r ParamRange) bool { return r.Name == name }) {
			return nil, searchErr("range %q: parameter %s given twice", kv, name)
		}
		r := ParamRange{Name: name}
		parts := strings.Split(spec, ":")
		if len(parts) == 1 {
			for _, s := range strings.Split(spec, ",") {
				if s = strings.TrimSpace(s); s == "" {
					return nil, searchErr("range %q: an empty choice", kv)
				}
				v, err := parseValue(alg, name, s)
				if err != nil {
					return nil, err
				}
				if !slices.Contains(r.Choices, v) {
					r.Choices = append(r.Choices, v)
				}
			}
		} else {
			if len(parts) > 3 || len(parts) == 3 && strings.TrimSpace(parts[2]) != "log" {
				return nil, searchErr("range %q: want name=lo:hi, name=lo:hi:log or name=a,b,...", kv)
			}
			r.Log = len(parts) == 3
			lo, hi := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1])
			r.Integer = wholeNumber(lo) && wholeNumber(hi)
			if r.Min, err = strconv.ParseFloat(lo, 64); err == nil {
				r.Max, err = strconv.ParseFloat(hi, 64)
			}
			if err != nil {
				return nil, searchErr("range %q: the ends must be numbers", kv)
			}
		}
		if err := r.check(alg, ps); err != nil {
			return nil, err
		}
		ranges = append(ranges, r)
	}
	return ranges, nil
}

// wholeNumber reports whether s is written as a whole number: digits with an optional sign.
func wholeNumber(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// splitKV splits name=value of a --grid or --range.
func splitKV(what, kv string) (name, value string, err error) {
	// The values are echoed in errors: text that is not UTF-8 or holds control characters
	// goes no further.
	if !utf8.ValidString(kv) || strings.ContainsFunc(kv, unicode.IsControl) {
		return "", "", searchErr("%s %q: not printable text", what, kv)
	}
	name, value, ok := strings.Cut(kv, "=")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" || value == "" {
		return "", "", searchErr("%s %q: want name=values, e.g. n_neighbors=5,10,20 (grid) or n_neighbors=5:50 (range)", what, kv)
	}
	return name, value, nil
}
