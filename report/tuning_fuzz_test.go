package report

import (
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gonomaly/gonomaly/store"
)

// Any stored search or tune document reads without a panic into bounded rows that render,
// and a tune run's target never shows a URL's credentials.
func FuzzSearchTuneDocuments(f *testing.F) {
	f.Add([]byte(`{"config": {"algorithm": "isolation_forest", "dataset": "a/b.csv", "metric": "roc_auc"}, "trials": [
		{"trial": 0, "parameters": {"n_estimators": 100}, "status": "ok", "rank": 2, "accuracy": {"roc_auc": 0.8}},
		{"trial": 1, "parameters": {"n_estimators": "200"}, "status": "ok", "rank": 1, "accuracy": {"roc_auc": 0.9}},
		{"trial": 2, "status": "error"}]}`))
	f.Add([]byte(`{"config": {"algorithm": "lof", "metric": "average_precision"}, "trials": [{"status": "ok", "parameters": {"n_neighbors": [1], "x": null, "y": true}, "accuracy": {"average_precision": 1e308}}]}`))
	f.Add([]byte(`{"mode": "service", "url": "http://a:b@h:1/p?q=1", "before": {"batch_max": 1, "throughput": 1e308}, "best": {"batch_max": -5}, "met": true, "note": "http://a:b@h:1/p?q=1"}`))
	f.Add([]byte(`{"mode": "offline", "model": "C:\\x\\m.gnm", "before": {"chunk_rows": 1}, "best": {"chunk_rows": 2, "seconds": -1}}`))
	f.Add([]byte(`{"mode": "service", "url": "\u0000://"}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		r := &Report{Searches: []Search{}, TuneRuns: []TuneRun{}, Recommendations: []Recommendation{}}
		run := &store.BenchmarkRun{ID: "x", SuiteID: "s"}
		var s searchDoc
		if json.Unmarshal(doc, &s) == nil {
			r.addSearch(run, &s)
		}
		var d tuneDoc
		if json.Unmarshal(doc, &d) == nil {
			r.addTune(run, &d)
		}
		r.Recommendations = searchRecommendations(r.Searches)
		clampFinite(reflect.ValueOf(r))
		short := func(what, v string) {
			if utf8.RuneCountInString(v) > maxText || !utf8.ValidString(v) {
				t.Fatalf("%s of %d runes: %q", what, utf8.RuneCountInString(v), v)
			}
		}
		for _, s := range r.Searches {
			short("algorithm", s.Algorithm)
			short("dataset", s.Dataset)
			if len(s.BestParameters) > maxParams {
				t.Fatalf("%d parameters", len(s.BestParameters))
			}
		}
		for _, tr := range r.TuneRuns {
			short("target", tr.Target)
			short("note", tr.Note)
			if tr.Mode == TuneService && strings.Contains(tr.Target, "@") {
				t.Fatalf("target %q shows credentials", tr.Target)
			}
		}
		if err := WriteHTML(io.Discard, r); err != nil {
			t.Fatal(err)
		}
	})
}
