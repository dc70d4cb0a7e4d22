package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/eval"
	"github.com/gonomaly/gonomaly/report"
	"github.com/gonomaly/gonomaly/store"
)

// addRun stores a document of kind at t (JSON of doc, or doc itself when it is []byte).
func addRun(tb testing.TB, st store.Store, kind string, i int, t time.Time, doc any) {
	tb.Helper()
	b, ok := doc.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(doc); err != nil {
			tb.Fatal(err)
		}
	}
	if err := st.CreateBenchmarkRun(context.Background(), &store.BenchmarkRun{SuiteID: fmt.Sprintf("%s-%d", kind, i), Kind: kind,
		Name: kind, CreatedAt: t, Document: b}); err != nil {
		tb.Fatal(err)
	}
}

// The fixture's search and tune run read into their sections: best, runner-up gap, the
// defaults' trial and the recommendation it gives; the service's host without its
// credentials, path or query.
func TestSearchAndTuneSections(t *testing.T) {
	r := dayReport(t)
	if len(r.Searches) != 1 || len(r.TuneRuns) != 1 || len(r.Skipped) != 0 {
		t.Fatalf("%d searches, %d tune runs, skipped %+v; want 1, 1, none", len(r.Searches), len(r.TuneRuns), r.Skipped)
	}
	s := r.Searches[0]
	if s.OK != 3 || s.Failed != 1 || s.BestValue == nil || *s.BestValue != 0.91 || s.BestParameters["n_estimators"] != "200" ||
		s.Gap == nil || *s.Gap < 0.0199 || *s.Gap > 0.0201 || s.DefaultTrial == nil || *s.DefaultTrial != 1 || s.Dataset != "shuttle.csv" {
		t.Errorf("search: %+v", s)
	}
	n := 0
	for _, rec := range r.Recommendations {
		if rec.Source == "search" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d search recommendations, want 1", n)
	}
	tr := r.TuneRuns[0]
	if tr.Target != "127.0.0.1:8080" || !tr.Applied || tr.Before == nil || tr.After == nil || tr.After.Throughput != 1500 || tr.Setting == "" {
		t.Errorf("tune run: %+v", tr)
	}
	var b bytes.Buffer
	if err := report.WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"s3cret", "admin", "token=abc", "/home/someone"} {
		if strings.Contains(b.String(), secret) {
			t.Errorf("the report shows %q", secret)
		}
	}
}

// Hostile and odd documents: no defaults' trial (no recommendation), average precision,
// every trial failed, 10,000 trials with huge strings, an offline tune, a tune of an
// unknown mode, a document of the wrong types; more than MaxSearches and MaxTuneRuns keep the
// newest, and the rendered report stays small.
func TestSearchAndTuneHostile(t *testing.T) {
	st := openStore(t)
	at := func(m int) time.Time { return day0.Add(time.Hour + time.Duration(m)*time.Minute) }
	huge := strings.Repeat("é", 10_000)
	big := &bench.SearchDoc{Header: header(bench.KindSearch, 1), Mode: "random", Best: -1}
	big.Config = bench.DefaultSearch(huge, "/x/"+huge, "label")
	big.Config.Metric = bench.MetricAveragePrecision
	for i := range 10_000 {
		params := map[string]any{"seed": float64(i)}
		if i == 0 {
			params[huge[:20]], params["nested"] = huge, map[string]any{"a": 1}
			for k := range 50 {
				params[fmt.Sprint("p", k)] = k
			}
		}
		big.Trials = append(big.Trials, bench.SearchTrial{Trial: i, Params: params, Status: bench.StatusOK, Rank: i + 1,
			Accuracy: &eval.Metrics{ROCAUC: 0.5, AveragePrecision: 0.99 - float64(i%100)/100}})
	}
	addRun(t, st, store.KindSearch, 0, at(0), big)
	failed := &bench.SearchDoc{Header: header(bench.KindSearch, 2), Best: -1, Trials: []bench.SearchTrial{{Status: bench.StatusError, Error: "boom"}}}
	failed.Config = bench.DefaultSearch("hbos", "", "label")
	addRun(t, st, store.KindSearch, 1, at(1), failed)
	addRun(t, st, store.KindSearch, 2, at(2), []byte(`{"config": {"algorithm": "lof"}, "trials": [{"status": "ok", "accuracy": {"roc_auc": 1e308}}, {"status": "ok", "accuracy": {"roc_auc": -1e308}}]}`))
	addRun(t, st, store.KindSearch, 3, at(3), []byte(`{"trials": []}`))
	addRun(t, st, store.KindSearch, 4, at(4), []byte(`{"config": {"algorithm": 5}}`))
	addRun(t, st, store.KindTune, 5, at(5), []byte(`{"mode": "offline", "model": "/secret/dir/forest.gnm", "before": {"chunk_rows": 8192, "workers": 2, "seconds": 2, "rows_per_second": 500},
		"best": {"chunk_rows": 32768, "workers": 2, "seconds": 1.5, "rows_per_second": 666}, "trials": [{}, {}, {}]}`))
	addRun(t, st, store.KindTune, 6, at(6), []byte(`{"mode": "service", "url": "http://u:p@[::1]:9/?k=v", "note": "kept, see http://u:p@[::1]:9/?k=v `+strings.Repeat("x", 10_000)+`"}`))
	addRun(t, st, store.KindTune, 7, at(7), []byte(`{"mode": "service", "url": "::not a url"}`))
	addRun(t, st, store.KindTune, 8, at(8), []byte(`{"mode": "other"}`))

	r, err := report.Build(context.Background(), st, report.Period{Since: day0, Until: day0.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Searches) != 3 || len(r.TuneRuns) != 3 || len(r.Skipped) != 3 {
		t.Fatalf("%d searches, %d tune runs, %d skipped (%+v); want 3, 3, 3", len(r.Searches), len(r.TuneRuns), len(r.Skipped), r.Skipped)
	}
	s := r.Searches[0]
	if s.OK != 10_000 || s.BestValue == nil || *s.BestValue != 0.99 || s.DefaultTrial != nil || len(s.BestParameters) != 20 || *s.BestTrial != 0 ||
		len(s.Algorithm) > 1000 || len(s.Dataset) > 1000 {
		t.Errorf("10,000 trials: ok %d, best %v, default %v, %d parameters, algorithm %d bytes", s.OK, s.BestValue, s.DefaultTrial, len(s.BestParameters), len(s.Algorithm))
	}
	for k, v := range s.BestParameters {
		if len(k) > 200 || len(v) > 200 {
			t.Errorf("parameter %d bytes = %d bytes", len(k), len(v))
		}
	}
	if f := r.Searches[1]; f.OK != 0 || f.Failed != 1 || f.BestValue != nil || f.Gap != nil {
		t.Errorf("all failed: %+v", f)
	}
	for _, rec := range r.Recommendations {
		if rec.Source == "search" {
			t.Errorf("a recommendation without a defaults' trial: %+v", rec)
		}
	}
	off := r.TuneRuns[0]
	if off.Mode != report.TuneOffline || off.Target != "forest.gnm" || off.Applied || off.After == nil || off.After.Seconds != 1.5 || off.Trials != 3 {
		t.Errorf("offline: %+v", off)
	}
	if live := r.TuneRuns[1]; live.Target != "[::1]:9" || live.Applied || live.Setting != "" || len(live.Note) > 1000 || strings.Contains(live.Note, "u:p") {
		t.Errorf("live: %+v", live)
	}
	if bad := r.TuneRuns[2]; bad.Target != "(no valid URL)" {
		t.Errorf("bad URL: target %q", bad.Target)
	}
	var html, pdf bytes.Buffer
	if err := report.WriteHTML(&html, r); err != nil {
		t.Fatal(err)
	}
	if page := parseXML(t, html.Bytes()); page.count("tr", "search") != 3 || page.count("tr", "tune-run") != 3 {
		t.Errorf("%d search rows and %d tune rows, want 3 and 3", page.count("tr", "search"), page.count("tr", "tune-run"))
	}
	if err := report.WritePDF(&pdf, r); err != nil {
		t.Fatal(err)
	}
	if html.Len() > 1<<20 {
		t.Errorf("the page is %d bytes", html.Len())
	}

	// More than the bounds: the newest are kept.
	for i := range report.MaxSearches + 5 {
		addRun(t, st, store.KindSearch, 100+i, at(20+i), []byte(`{"config": {"algorithm": "hbos"}, "suite_id": "`+fmt.Sprint("s", i)+`"}`))
		addRun(t, st, store.KindTune, 200+i, at(20+i), []byte(`{"mode": "offline", "suite_id": "`+fmt.Sprint("t", i)+`"}`))
	}
	r, err = report.Build(context.Background(), st, report.Period{Since: day0, Until: day0.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Searches) != report.MaxSearches || len(r.TuneRuns) != report.MaxTuneRuns ||
		r.Searches[report.MaxSearches-1].SuiteID != fmt.Sprint("s", report.MaxSearches+4) || r.TuneRuns[0].SuiteID != "t5" {
		t.Errorf("%d searches (newest %s), %d tune runs (oldest %s)", len(r.Searches), r.Searches[len(r.Searches)-1].SuiteID, len(r.TuneRuns), r.TuneRuns[0].SuiteID)
	}
}

// The page has both sections, one row per search and tune run.
func TestSearchAndTuneHTML(t *testing.T) {
	r := dayReport(t)
	var b bytes.Buffer
	if err := report.WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	page := parseXML(t, b.Bytes())
	ids := map[string]bool{}
	page.walk(func(e *element) {
		if e.name == "h2" {
			ids[e.attrs["id"]] = true
		}
	})
	if !ids["searches"] || !ids["tuning"] {
		t.Errorf("sections %v, want searches and tuning", ids)
	}
	if n, m := page.count("tr", "search"), page.count("tr", "tune-run"); n != len(r.Searches) || m != len(r.TuneRuns) || n != 1 || m != 1 {
		t.Errorf("%d search rows and %d tune rows, want 1 and 1", n, m)
	}
	if strings.Contains(b.String(), "s3cret") {
		t.Error("the page shows the service's credentials")
	}
	// Empty sections say so.
	r.Searches, r.TuneRuns = []report.Search{}, []report.TuneRun{}
	b.Reset()
	if err := report.WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No parameter searches stored") || !strings.Contains(b.String(), "No tuning runs stored") {
		t.Error("empty sections are not said to be empty")
	}
}

// A service tune whose best did not beat the settings in force, measured in turns with them,
// keeps the original: the setting chosen is the original, not the search's best.
func TestTuneSettingKept(t *testing.T) {
	st := openStore(t)
	addRun(t, st, store.KindTune, 0, day0.Add(time.Hour), []byte(`{"mode": "service", "url": "http://h:1", "target_p99_seconds": 0.01,
		"before": {"batch_max": 1, "batch_wait": "0s", "workers": 2, "throughput": 1000, "p99_seconds": 0.005},
		"best": {"batch_max": 32, "batch_wait": "1ms", "workers": 2, "throughput": 1100, "p99_seconds": 0.006},
		"after": {"batch_max": 1, "batch_wait": "0s", "workers": 2, "throughput": 1000, "p99_seconds": 0.005},
		"met": true, "applied": false, "note": "batch_max=32 batch_wait=1ms workers=2 did not beat the settings in force"}`))
	r, err := report.Build(context.Background(), st, report.Period{Since: day0, Until: day0.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.TuneRuns) != 1 || r.TuneRuns[0].Setting != "batch_max=1 batch_wait=0s workers=2" || r.TuneRuns[0].Applied {
		t.Fatalf("%+v, want the original setting kept", r.TuneRuns)
	}
}
