package report

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gonomaly/gonomaly/store"
)

// checkBounded fails t when a string reachable from v is over maxText runes or invalid UTF-8,
// or a slice holds more than maxDocRows elements.
func checkBounded(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			checkBounded(t, v.Elem(), path)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				checkBounded(t, v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Len() > maxDocRows {
			t.Fatalf("%s: %d elements", path, v.Len())
		}
		for i := range v.Len() {
			checkBounded(t, v.Index(i), path+"[]")
		}
	case reflect.Map:
		if v.Len() > maxDocRows {
			t.Fatalf("%s: %d entries", path, v.Len())
		}
		for _, k := range v.MapKeys() {
			checkBounded(t, k, path+" key")
			checkBounded(t, v.MapIndex(k), path+"[k]")
		}
	case reflect.String:
		if s := v.String(); utf8.RuneCountInString(s) > maxText || !utf8.ValidString(s) {
			t.Fatalf("%s: a string of %d runes", path, utf8.RuneCountInString(s))
		}
	}
}

// Any stored benchmark, scalability, memory or compare document reads without a panic into
// bounded rows (text cut to maxText runes, lists to maxDocRows) that render.
func FuzzStoredDocuments(f *testing.F) {
	for _, kind := range []byte{0, 1, 2, 3} {
		f.Add(kind, []byte(`{"suite_id": "s", "name": "quick", "build": "abc", "gonomaly_version": "v1", "cells": [
			{"id": "iforest-1000x10", "algorithm": "isolation_forest", "rows": 1000, "cols": 10, "status": "ok", "throughput": 1e6,
			 "total": {"median": 0.01, "ci_low": 0.009, "ci_high": 0.011}, "accuracy": {"roc_auc": 0.9}}],
			"scalability": [{"algorithm": "hbos", "cols": 10, "sizes": [1000, 2000], "seconds": [0.1], "total": {"pattern": "O(n)"}}]}`))
		f.Add(kind, []byte(`{"config": {"algorithm": {"name": "knn"}, "dims": 4, "dataset": "a.csv"}, "basis": "cpu", "pattern": "O(n^2)",
			"points": [{"rows": 100, "status": "ok", "cpu": {"median": 0.1}}, {"rows": 200, "status": "timeout"}],
			"steps": [{"rows": 100, "status": "ok", "peak_rss_bytes": 1e9}], "stop_reason": "predicted",
			"entries": [{"algorithm": "hbos", "status": "ok", "rank": 1, "accuracy": {"roc_auc": 0.8, "average_precision": 0.5}}],
			"pairs": [{"a": "hbos", "b": "ecod", "faster": "hbos", "ratio": 2, "p": 0.01, "significant": true}], "pareto_front": ["hbos"]}`))
	}
	long := strings.Repeat("ü", maxText+50)
	many := func(item string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(item+",", maxDocRows+5), ",") + "]"
	}
	for _, kind := range []byte{0, 1, 2, 3} {
		f.Add(kind, []byte(`{"suite_id": "`+long+`", "name": "`+long+`", "build": "`+long+`", "gonomaly_version": "`+long+`", "machine_id": "`+long+`",
			"cells": `+many(`{"id": "`+long+`", "algorithm": "`+long+`", "status": "`+long+`", "total": {"median": 1}}`)+`,
			"scalability": `+many(`{"algorithm": "`+long+`", "sizes": [1, 2], "seconds": [1, 2], "total": {"pattern": "`+long+`", "grade": "`+long+`"}}`)+`,
			"config": {"algorithm": {"name": "`+long+`"}, "dataset": "`+long+`"}, "basis": "`+long+`", "pattern": "`+long+`", "grade": "`+long+`",
			"points": `+many(`{"rows": 100, "status": "ok", "cpu": {"median": 0.1}, "total": {"median": 0.1}}`)+`,
			"steps": `+many(`{"rows": 100, "status": "`+long+`"}`)+`, "stop_reason": "`+long+`", "growth_class": "`+long+`",
			"entries": `+many(`{"algorithm": "`+long+`", "status": "`+long+`", "rank": 1}`)+`,
			"pairs": `+many(`{"a": "`+long+`", "b": "x", "faster": "`+long+`", "significant": true}`)+`, "pareto_front": `+many(`"`+long+`"`)+`}`))
	}
	kinds := []string{store.KindBenchmark, store.KindScalability, store.KindMemory, store.KindCompare}
	f.Fuzz(func(t *testing.T, kind byte, doc []byte) {
		r := &Report{Benchmarks: []Benchmark{}, Comparisons: []Comparison{}, Scalability: []Curve{}, Memory: []MemoryTest{}, LoadTests: []LoadTest{},
			Searches: []Search{}, TuneRuns: []TuneRun{}, Operations: []Operation{}, Series: []Series{}, Models: []Model{}, Recommendations: []Recommendation{}}
		runs := []*store.BenchmarkRun{{ID: "x", SuiteID: "s", Kind: kinds[int(kind)%len(kinds)], CreatedAt: time.Unix(0, 0), Document: doc}}
		r.addRuns(runs)
		r.Datasets = crossDataset(r.Comparisons)
		r.Versions = versions(runs)
		clampFinite(reflect.ValueOf(r))
		checkBounded(t, reflect.ValueOf(r), "report")
		if err := WriteHTML(io.Discard, r); err != nil {
			t.Fatal(err)
		}
	})
}
