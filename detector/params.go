package detector

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Kind is the type of a parameter's value.
type Kind int

const (
	Int           Kind = iota // an integer; stored as int
	Float                     // a real number; stored as float64
	Bool                      // true/false; stored as bool
	Choice                    // one of ParamSpec.Choices; stored as string
	FloatOrChoice             // one of Choices (stored as string) or a number (stored as float64)
)

func (k Kind) String() string {
	return [...]string{"int", "float", "bool", "choice", "float or choice"}[k]
}

// ParamSpec describes one parameter of an algorithm.
type ParamSpec struct {
	Name    string
	Kind    Kind
	Default any      // int, float64, bool or string, per Kind
	Min     float64  // inclusive lower bound of a number
	Max     float64  // inclusive upper bound of a number; 0 with Min 0 means unbounded
	MinOpen bool     // the lower bound is exclusive
	Choices []string // for Choice and FloatOrChoice
	Doc     string
}

// Range describes the valid values, for error messages and help text.
func (s ParamSpec) Range() string {
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	var parts []string
	if s.Kind == Choice || s.Kind == FloatOrChoice {
		parts = append(parts, strings.Join(s.Choices, "|"))
	}
	if s.Kind == Int || s.Kind == Float || s.Kind == FloatOrChoice {
		lo, hi := "[", "inf)"
		if s.MinOpen {
			lo = "("
		}
		if s.Max != 0 {
			hi = num(s.Max) + "]"
		}
		kind := "an integer"
		if s.Kind != Int {
			kind = "a number"
		}
		parts = append(parts, fmt.Sprintf("%s in %s%s, %s", kind, lo, num(s.Min), hi))
	}
	if s.Kind == Bool {
		parts = append(parts, "true|false")
	}
	return strings.Join(parts, " or ")
}

// Params holds an algorithm's parameter values, typed per ParamSpec, defaults filled in.
type Params map[string]any

// Int returns an Int parameter.
func (p Params) Int(name string) int { v, _ := p[name].(int); return v }

// Float returns a Float parameter, or a FloatOrChoice parameter holding a number.
func (p Params) Float(name string) float64 { v, _ := p[name].(float64); return v }

// Bool returns a Bool parameter.
func (p Params) Bool(name string) bool { v, _ := p[name].(bool); return v }

// String returns a Choice parameter, or a FloatOrChoice parameter holding a choice ("" if it
// holds a number).
func (p Params) String(name string) string { v, _ := p[name].(string); return v }

// parse converts a raw value (string from a command line, or a JSON value) to the spec's kind
// and checks its range.
func (s ParamSpec) parse(raw any) (any, error) {
	bad := func(why string) error {
		shown := any(raw)
		if raw == nil {
			shown = "null"
		}
		return fmt.Errorf("detector: parameter %s=%v: %w: %s (valid: %s)", s.Name, shown, ErrBadParameter, why, s.Range())
	}
	str, isStr := raw.(string)
	if isStr {
		str = strings.TrimSpace(str)
	}
	num := func() (float64, error) {
		switch v := raw.(type) {
		case float64:
			return v, nil
		case int:
			return float64(v), nil
		case json.Number:
			return v.Float64()
		case string:
			return strconv.ParseFloat(str, 64)
		}
		return 0, fmt.Errorf("not a number")
	}
	inRange := func(f float64) error {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return bad("not finite")
		}
		if f < s.Min || (s.MinOpen && f == s.Min) || (s.Max != 0 && f > s.Max) {
			return bad("out of range")
		}
		return nil
	}
	switch s.Kind {
	case Int:
		f, err := num()
		if err != nil || f != math.Trunc(f) {
			return nil, bad("not an integer")
		}
		if err := inRange(f); err != nil {
			return nil, err
		}
		if f >= math.MaxInt64 || f < math.MinInt64 { // float64(MaxInt64) is 2^63, past int
			return nil, bad("out of range")
		}
		return int(f), nil
	case Float:
		f, err := num()
		if err != nil {
			return nil, bad("not a number")
		}
		if err := inRange(f); err != nil {
			return nil, err
		}
		return f, nil
	case Bool:
		if b, ok := raw.(bool); ok {
			return b, nil
		}
		b, err := strconv.ParseBool(str)
		if !isStr || err != nil {
			return nil, bad("not true or false")
		}
		return b, nil
	case Choice, FloatOrChoice:
		if isStr && slices.Contains(s.Choices, str) {
			return str, nil
		}
		if s.Kind == Choice {
			return nil, bad("not one of the choices")
		}
		f, err := num()
		if err != nil {
			return nil, bad("neither a number nor one of the choices")
		}
		if err := inRange(f); err != nil {
			return nil, err
		}
		return f, nil
	}
	return nil, bad("unknown kind")
}

// ParseParams checks raw values against the algorithm's specs and fills in defaults. An
// unknown name is an error listing the valid ones.
func (a *Algorithm) ParseParams(raw map[string]any) (Params, error) {
	p := make(Params, len(a.Params))
	for _, s := range a.Params {
		p[s.Name] = s.Default
	}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	slices.Sort(names) // report the same first error every time
	for _, k := range names {
		i := slices.IndexFunc(a.Params, func(s ParamSpec) bool { return s.Name == k })
		if i < 0 {
			valid := "none"
			if len(a.Params) > 0 {
				valid = strings.Join(a.ParamNames(), ", ")
			}
			return nil, fmt.Errorf("detector: %s has no parameter %q: %w (valid: %s)", a.Name, k, ErrBadParameter, valid)
		}
		v, err := a.Params[i].parse(raw[k])
		if err != nil {
			return nil, err
		}
		p[k] = v
	}
	return p, nil
}

// ParamNames returns the algorithm's parameter names in declaration order.
func (a *Algorithm) ParamNames() []string {
	names := make([]string, len(a.Params))
	for i, s := range a.Params {
		names[i] = s.Name
	}
	return names
}

// ParseKeyValues turns "k=v" strings (as given to --param) into raw values for ParseParams.
func ParseKeyValues(kvs []string) (map[string]any, error) {
	raw := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("detector: parameter %q: %w: want name=value", kv, ErrBadParameter)
		}
		if _, dup := raw[k]; dup {
			return nil, fmt.Errorf("detector: parameter %q given twice: %w", k, ErrBadParameter)
		}
		raw[k] = v
	}
	return raw, nil
}
