package report

import (
	"math"
	"reflect"
)

// clampFinite replaces, in what v points to, the figures JSON cannot hold, so that every
// renderer can write what Build returns: a stored sample of 1e308 scaled to milliseconds is
// +Inf, and a statistic of degenerate data may be NaN. An optional figure (a *float64) that
// is not finite becomes nil, another NaN 0 and an infinity the largest float64 of its sign.
func clampFinite(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		if e := v.Elem(); e.Kind() == reflect.Float64 {
			if f := e.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
				if v.CanSet() {
					v.SetZero()
					return
				}
			}
		}
		clampFinite(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				clampFinite(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			clampFinite(v.Index(i))
		}
	case reflect.Map:
		if !hasFloat(v.Type().Elem(), 0) {
			return
		}
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			clampFinite(e)
			v.SetMapIndex(k, e)
		}
	case reflect.Float64, reflect.Float32:
		if !v.CanSet() {
			return
		}
		switch f := v.Float(); {
		case math.IsNaN(f):
			v.SetFloat(0)
		case math.IsInf(f, 1):
			v.SetFloat(math.MaxFloat64)
		case math.IsInf(f, -1):
			v.SetFloat(-math.MaxFloat64)
		}
	}
}

// hasFloat reports whether values of t can hold a float (within a few levels of nesting).
func hasFloat(t reflect.Type, depth int) bool {
	if depth > 8 {
		return true
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64, reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return hasFloat(t.Elem(), depth+1)
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() && hasFloat(t.Field(i).Type, depth+1) {
				return true
			}
		}
	}
	return false
}
