package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gonomaly/gonomaly/store"
)

// hostileIDs are ids no record can have: not UUIDs in the store's form, NUL bytes, bytes
// that are not UTF-8, 10 KB, SQL. A look-up by one must find nothing, never reach the
// database as an error.
var hostileIDs = []string{
	"",
	"x",
	"no-such-id",
	"\x00",
	missingID[:35] + "\x00",
	missingID + "\x00",
	"\xff\xfe\xfd",
	strings.Repeat("a", 10<<10),
	strings.Repeat("\x00", 10<<10),
	"' OR '1'='1",
	"x'); DROP TABLE detectors; --",
	strings.ToUpper("0190000a-0000-7000-8000-00000000beef"),
	"{0190000a-0000-7000-8000-00000000beef}",
	"0190000a00007000800000000000beef",
}

// badStrings are text no record may hold, with what the error says of each.
var badStrings = []struct{ value, why string }{
	{"a\x00b", "NUL"},
	{"\x00", "NUL"},
	{"caf\xe9", "UTF-8"},
	{"\xff\xfe", "UTF-8"},
}

// checkStoreError fails t unless err wraps want and reads as the store's own words: short,
// valid UTF-8, no NUL byte, none of the database's text.
func checkStoreError(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want one wrapping %q", what, err, want)
		return
	}
	msg := err.Error()
	if len(msg) > 400 || !utf8.ValidString(msg) || strings.ContainsRune(msg, 0) {
		t.Errorf("%s: error message of %d bytes, valid UTF-8 %v: %.200q", what, len(msg), utf8.ValidString(msg), msg)
	}
	for _, driver := range []string{"SQLSTATE", "sqlite", "SQL logic", "constraint", "syntax"} {
		if strings.Contains(msg, driver) {
			t.Errorf("%s: error %q holds the database's text (%s)", what, msg, driver)
		}
	}
}

// testHostileText: every text field a caller stores is refused, on every back end alike and
// before any SQL runs, when it holds a NUL byte or bytes that are not UTF-8 or is longer than
// its limit; the error wraps ErrInvalid and names the field. Text that looks like SQL, and
// JSON with an escaped NUL, are stored and read back as they are.
func testHostileText(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	det := create(t, s, newDetector("ok", "knn"))
	long := strings.Repeat("n", store.MaxNameBytes+1)

	type textCase struct {
		field string // as the error names it
		try   func(v string) error
		max   int
	}
	cases := []textCase{
		{"name", func(v string) error { d := newDetector(v, "knn"); return s.CreateDetector(ctx, d) }, store.MaxNameBytes},
		{"algorithm", func(v string) error { d := newDetector("n", v); return s.CreateDetector(ctx, d) }, store.MaxNameBytes},
		{"name", func(v string) error { d := *det; d.Name = v; return s.UpdateDetector(ctx, &d) }, store.MaxNameBytes},
		{"algorithm", func(v string) error { d := *det; d.Algorithm = v; return s.UpdateDetector(ctx, &d) }, store.MaxNameBytes},
		{"parameters", func(v string) error {
			d := newDetector("n", "knn")
			d.Parameters = json.RawMessage(`{"a":"` + v + `"}`)
			return s.CreateDetector(ctx, d)
		}, 0},
		{"name", func(v string) error {
			return s.CreateDataset(ctx, &store.Dataset{Name: v, FileFormat: "csv", Path: "p"})
		}, store.MaxNameBytes},
		{"file format", func(v string) error {
			return s.CreateDataset(ctx, &store.Dataset{Name: "n", FileFormat: v, Path: "p"})
		}, store.MaxNameBytes},
		{"path", func(v string) error {
			return s.CreateDataset(ctx, &store.Dataset{Name: "n", FileFormat: "csv", Path: v})
		}, store.MaxPathBytes},
		{"suite id", func(v string) error {
			return s.CreateBenchmarkRun(ctx, &store.BenchmarkRun{SuiteID: v, Kind: "k", Document: json.RawMessage(`{}`)})
		}, store.MaxNameBytes},
		{"kind", func(v string) error {
			return s.CreateBenchmarkRun(ctx, &store.BenchmarkRun{Kind: v, Document: json.RawMessage(`{}`)})
		}, store.MaxNameBytes},
		{"name", func(v string) error {
			return s.CreateBenchmarkRun(ctx, &store.BenchmarkRun{Kind: "k", Name: v, Document: json.RawMessage(`{}`)})
		}, store.MaxNameBytes},
		{"document", func(v string) error {
			return s.CreateBenchmarkRun(ctx, &store.BenchmarkRun{Kind: "k", Document: json.RawMessage(`["` + v + `"]`)})
		}, 0},
		{"name", func(v string) error { return s.AddSamples(ctx, store.Sample{Time: time.Now(), Name: v}) }, store.MaxNameBytes},
		{"label key", func(v string) error {
			return s.AddSamples(ctx, store.Sample{Time: time.Now(), Name: "m", Labels: map[string]string{v: "x"}})
		}, store.MaxNameBytes},
		{"value", func(v string) error {
			return s.AddSamples(ctx, store.Sample{Time: time.Now(), Name: "m", Labels: map[string]string{"k": v}})
		}, store.MaxNameBytes},
		{"severity", func(v string) error { return s.CreateAlert(ctx, &store.Alert{Severity: v, Metric: "m"}) }, store.MaxNameBytes},
		{"metric", func(v string) error { return s.CreateAlert(ctx, &store.Alert{Severity: "low", Metric: v}) }, store.MaxNameBytes},
		{"message", func(v string) error {
			return s.CreateAlert(ctx, &store.Alert{Severity: "low", Metric: "m", Message: v})
		}, store.MaxMessageBytes},
		{"key", func(v string) error { return s.CreateAlert(ctx, &store.Alert{Key: v, Severity: "low", Metric: "m"}) }, store.MaxNameBytes},
		{"rule", func(v string) error { return s.CreateAlert(ctx, &store.Alert{Rule: v, Severity: "low", Metric: "m"}) }, store.MaxNameBytes},
		{"title", func(v string) error { return s.CreateAlert(ctx, &store.Alert{Title: v, Severity: "low", Metric: "m"}) }, store.MaxNameBytes},
		{"action", func(v string) error {
			return s.CreateAlert(ctx, &store.Alert{Severity: "low", Metric: "m", Actions: []string{"ok", v}})
		}, store.MaxNameBytes},
		{"label key", func(v string) error {
			return s.CreateAlert(ctx, &store.Alert{Severity: "low", Metric: "m", Labels: map[string]string{v: "x"}})
		}, store.MaxNameBytes},
		{"value", func(v string) error {
			return s.CreateAlert(ctx, &store.Alert{Severity: "low", Metric: "m", Labels: map[string]string{"k": v}})
		}, store.MaxNameBytes},
	}
	for i, c := range cases {
		values := slices.Clone(badStrings)
		if c.max > 0 {
			values = append(values, struct{ value, why string }{strings.Repeat("n", c.max+1), "more than"})
		}
		for _, v := range values {
			if c.field == "parameters" || c.field == "document" {
				if v.why != "UTF-8" {
					continue // a raw NUL or a long string in JSON: not JSON, or fine
				}
			}
			err := c.try(v.value)
			what := fmt.Sprintf("case %d: %s %.20q", i, c.field, v.value)
			checkStoreError(t, what, err, store.ErrInvalid)
			if err != nil && (!strings.Contains(err.Error(), c.field) || !strings.Contains(err.Error(), v.why)) {
				t.Errorf("%s: error %q does not name the field and what is wrong with it (%s)", what, err, v.why)
			}
		}
	}

	// Nothing of the refused records was stored.
	ds, _ := s.ListDetectors(ctx, store.DetectorFilter{})
	if len(ds) != 1 || ds[0].Name != "ok" {
		t.Errorf("after refused creates and updates: %d detectors, first named %q", len(ds), ds[0].Name)
	}
	for what, n := range map[string]func() int{
		"datasets":       func() int { x, _ := s.ListDatasets(ctx, store.DatasetFilter{}); return len(x) },
		"benchmark runs": func() int { x, _ := s.ListBenchmarkRuns(ctx, store.BenchmarkFilter{}); return len(x) },
		"alerts":         func() int { x, _ := s.ListAlerts(ctx, store.AlertFilter{}); return len(x) },
		"samples":        func() int { x, _ := s.QuerySamples(ctx, store.SampleQuery{Name: "m"}); return len(x) },
	} {
		if got := n(); got != 0 {
			t.Errorf("%d %s stored by refused calls", got, what)
		}
	}

	// Text at the limits, text that looks like SQL and JSON with escaped NULs are kept as they are.
	odd := []string{"x'); DROP TABLE detectors; --", `"quoted" \ back`, "日本語 ✓", long[:store.MaxNameBytes]}
	for _, name := range odd {
		d := newDetector(name, name)
		d.Parameters = json.RawMessage(`{"a":"\u0000","b":"\ud800"}`)
		create(t, s, d)
		got, err := s.GetDetector(ctx, d.ID)
		wantErr(t, "GetDetector", err, nil)
		if got.Name != name || got.Algorithm != name || string(got.Parameters) != string(d.Parameters) {
			t.Errorf("detector named %.40q came back as %.40q, %.40q, %s", name, got.Name, got.Algorithm, got.Parameters)
		}
		list, err := s.ListDetectors(ctx, store.DetectorFilter{Algorithm: name})
		if err != nil || len(list) != 1 {
			t.Errorf("ListDetectors(algorithm %.40q) = %d detectors, %v", name, len(list), err)
		}
		al := &store.Alert{Key: name, Rule: name, Title: name, Severity: name, Metric: name,
			Message: name + strings.Repeat("m", store.MaxMessageBytes-len(name)),
			Actions: []string{name}, Labels: map[string]string{name: name}}
		wantErr(t, "CreateAlert", s.CreateAlert(ctx, al), nil)
		ga, err := s.GetAlert(ctx, al.ID)
		if err != nil || diff(ga, al) != "" {
			t.Errorf("alert with metric %.40q came back as %.40q (%v)", name, ga.Metric, err)
		}
		if list, err := s.ListAlerts(ctx, store.AlertFilter{Key: name, Rule: name}); err != nil || len(list) != 1 {
			t.Errorf("ListAlerts(key %.40q) = %d alerts, %v", name, len(list), err)
		}
	}

	// Numbers the store cannot keep alike on every back end.
	for what, err := range map[string]error{
		"result NaN threshold": s.CreateResults(ctx, &store.Result{DetectorID: det.ID, Threshold: nanValue()}),
		"result 2^31 samples":  s.CreateResults(ctx, &store.Result{DetectorID: det.ID, NSamples: 1 << 31}),
		"dataset 2^31 rows":    s.CreateDataset(ctx, &store.Dataset{Name: "n", FileFormat: "csv", Path: "p", NSamples: 1 << 31}),
		"sample NaN":           s.AddSamples(ctx, store.Sample{Time: time.Now(), Name: "m", Value: nanValue()}),
		"alert NaN value":      s.CreateAlert(ctx, &store.Alert{Severity: "low", Metric: "m", Value: nanValue()}),
	} {
		checkStoreError(t, what, err, store.ErrInvalid)
	}

	// Filters with text no record can hold find nothing or are ErrInvalid, never a
	// database error.
	for _, v := range badStrings {
		filterCalls := map[string]func() (int, error){
			"ListDetectors(Algorithm)": func() (int, error) {
				x, err := s.ListDetectors(ctx, store.DetectorFilter{Algorithm: v.value})
				return len(x), err
			},
			"ListDatasets(FileFormat)": func() (int, error) {
				x, err := s.ListDatasets(ctx, store.DatasetFilter{FileFormat: v.value})
				return len(x), err
			},
			"ListBenchmarkRuns(SuiteID)": func() (int, error) {
				x, err := s.ListBenchmarkRuns(ctx, store.BenchmarkFilter{SuiteID: v.value})
				return len(x), err
			},
			"ListBenchmarkRuns(Kind)": func() (int, error) {
				x, err := s.ListBenchmarkRuns(ctx, store.BenchmarkFilter{Kind: v.value})
				return len(x), err
			},
			"ListAlerts(Severity)": func() (int, error) {
				x, err := s.ListAlerts(ctx, store.AlertFilter{Severity: v.value})
				return len(x), err
			},
			"ListAlerts(Metric)": func() (int, error) {
				x, err := s.ListAlerts(ctx, store.AlertFilter{Metric: v.value})
				return len(x), err
			},
			"ListAlerts(Key)": func() (int, error) {
				x, err := s.ListAlerts(ctx, store.AlertFilter{Key: v.value})
				return len(x), err
			},
			"ListAlerts(Rule)": func() (int, error) {
				x, err := s.ListAlerts(ctx, store.AlertFilter{Rule: v.value})
				return len(x), err
			},
			"QuerySamples(Name)": func() (int, error) {
				x, err := s.QuerySamples(ctx, store.SampleQuery{Name: v.value})
				return len(x), err
			},
			"QuerySamples(Labels)": func() (int, error) {
				x, err := s.QuerySamples(ctx, store.SampleQuery{Name: "m", Labels: map[string]string{"k": v.value}})
				return len(x), err
			},
		}
		for what, call := range filterCalls {
			n, err := call()
			if err != nil {
				checkStoreError(t, fmt.Sprintf("%s %.20q", what, v.value), err, store.ErrInvalid)
			} else if n != 0 {
				t.Errorf("%s %.20q found %d records", what, v.value, n)
			}
		}
	}
}

// nanValue is a NaN the compiler does not fold.
func nanValue() float64 {
	zero := 0.0
	return zero / zero
}

// testHostileIDs: every call that takes an id treats one that is not well-formed as naming
// no record: ErrNotFound from a get, update or delete, nothing from a batch look-up or a
// filter; a create with one is ErrInvalid. None reaches the database as an error.
func testHostileIDs(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	det := create(t, s, newDetector("d", "knn"))
	res := &store.Result{DetectorID: det.ID, NSamples: 1, Scores: []float64{1}}
	wantErr(t, "CreateResults", s.CreateResults(ctx, res), nil)
	ds := &store.Dataset{Name: "n", FileFormat: "csv", Path: "p"}
	wantErr(t, "CreateDataset", s.CreateDataset(ctx, ds), nil)
	run := &store.BenchmarkRun{Kind: "k", Document: json.RawMessage(`{}`)}
	wantErr(t, "CreateBenchmarkRun", s.CreateBenchmarkRun(ctx, run), nil)
	al := &store.Alert{Severity: "low", Metric: "m"}
	wantErr(t, "CreateAlert", s.CreateAlert(ctx, al), nil)
	// The upper-case form of a stored id is another id, which no record has.
	ids := append(slices.Clone(hostileIDs), strings.ToUpper(det.ID), strings.ToUpper(ds.ID), missingID)

	for _, id := range ids {
		q := fmt.Sprintf("%.24q", id)
		notFound := map[string]func() error{
			"GetDetector":        func() error { _, err := s.GetDetector(ctx, id); return err },
			"DeleteDetector":     func() error { return s.DeleteDetector(ctx, id) },
			"GetDataset":         func() error { _, err := s.GetDataset(ctx, id); return err },
			"DeleteDataset":      func() error { return s.DeleteDataset(ctx, id) },
			"GetResult":          func() error { _, err := s.GetResult(ctx, id); return err },
			"GetBenchmarkRun":    func() error { _, err := s.GetBenchmarkRun(ctx, id); return err },
			"DeleteBenchmarkRun": func() error { return s.DeleteBenchmarkRun(ctx, id) },
			"GetAlert":           func() error { _, err := s.GetAlert(ctx, id); return err },
			"ResolveAlert":       func() error { return s.ResolveAlert(ctx, id, time.Time{}) },
			"UpdateDetector": func() error {
				d := *det
				d.ID = id
				return s.UpdateDetector(ctx, &d)
			},
			"SaveModel": func() error {
				_, err := s.SaveModel(ctx, id, store.FittedModel{Model: []byte{1}, NFeatures: 1})
				return err
			},
		}
		for what, call := range notFound {
			checkStoreError(t, what+"("+q+")", call(), store.ErrNotFound)
		}

		got, err := s.GetDetectors(ctx, []string{id, det.ID, id})
		if err != nil || len(got) != 1 || got[0].ID != det.ID {
			t.Errorf("GetDetectors(%s and a stored id) = %d detectors, %v; want the stored one", q, len(got), err)
		}
		if n, err := s.SetFitted(ctx, []string{id}, false); n != 0 || err != nil {
			t.Errorf("SetFitted(%s) = %d, %v", q, n, err)
		}
		if id == "" {
			continue // an empty id on create means "assign one", in a filter "any"
		}
		if rs, err := s.ListResults(ctx, store.ResultFilter{DetectorID: id}); err != nil || len(rs) != 0 {
			t.Errorf("ListResults(detector %s) = %d results, %v", q, len(rs), err)
		}
		var missing *store.MissingDetectorsError
		err = s.CreateResults(ctx, &store.Result{DetectorID: id})
		checkStoreError(t, "CreateResults(detector "+q+")", err, store.ErrNotFound)
		if !errors.As(err, &missing) || !slices.Equal(missing.IDs, []string{id}) {
			t.Errorf("CreateResults(detector %s): %v, want a MissingDetectorsError naming it", q, err)
		}
		if id == missingID {
			continue // well-formed
		}
		creates := map[string]func() error{
			"CreateDetector": func() error { d := newDetector("n", "knn"); d.ID = id; return s.CreateDetector(ctx, d) },
			"CreateDataset": func() error {
				return s.CreateDataset(ctx, &store.Dataset{ID: id, Name: "n", FileFormat: "csv", Path: "p"})
			},
			"CreateResults": func() error { return s.CreateResults(ctx, &store.Result{ID: id, DetectorID: det.ID}) },
			"CreateBenchmarkRun": func() error {
				return s.CreateBenchmarkRun(ctx, &store.BenchmarkRun{ID: id, Kind: "k", Document: json.RawMessage(`{}`)})
			},
			"CreateAlert": func() error { return s.CreateAlert(ctx, &store.Alert{ID: id, Severity: "low", Metric: "m"}) },
		}
		for what, call := range creates {
			checkStoreError(t, what+"(id "+q+")", call(), store.ErrInvalid)
		}
	}
	// The records are all still there.
	if _, err := s.GetDetector(ctx, det.ID); err != nil {
		t.Fatalf("the detector after hostile calls: %v", err)
	}
	if rs, _ := s.ListResults(ctx, store.ResultFilter{}); len(rs) != 1 {
		t.Fatalf("%d results after hostile calls, want 1", len(rs))
	}
}

// testMissingDetectors: a batch of results naming a deleted detector, one never created and a
// malformed id fails whole with a MissingDetectorsError listing exactly those, and the same
// batch without their results then succeeds. Single results too.
func testMissingDetectors(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	result := func(det string) *store.Result {
		return &store.Result{DetectorID: det, NSamples: 1, Scores: []float64{0.5}}
	}

	// A is a detector that exists, B one that was deleted.
	for _, c := range []struct {
		name    string
		dets    []string
		missing []string
	}{
		{"deleted", []string{"A", "B", "A", "B", "A"}, []string{"B"}},
		{"deleted and never created", []string{missingID, "A", "B", missingID}, []string{missingID, "B"}},
		{"with a malformed id", []string{"A", "bad id", "B"}, []string{"bad id", "B"}},
		{"single deleted", []string{"B"}, []string{"B"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := create(t, s, newDetector("a", "knn"))
			b := create(t, s, newDetector("b", "knn"))
			wantErr(t, "DeleteDetector", s.DeleteDetector(ctx, b.ID), nil)
			name := map[string]string{"A": a.ID, "B": b.ID}
			id := func(d string) string {
				if x, ok := name[d]; ok {
					return x
				}
				return d
			}
			var batch []*store.Result
			for _, d := range c.dets {
				batch = append(batch, result(id(d)))
			}
			var wantMissing []string
			for _, d := range c.missing {
				wantMissing = append(wantMissing, id(d))
			}
			err := s.CreateResults(ctx, batch...)
			checkStoreError(t, "CreateResults", err, store.ErrNotFound)
			var missing *store.MissingDetectorsError
			if !errors.As(err, &missing) || !slices.Equal(missing.IDs, wantMissing) {
				t.Fatalf("CreateResults: %v, want a MissingDetectorsError naming %v", err, wantMissing)
			}
			for _, r := range batch {
				if r.ID != "" {
					t.Fatalf("a failed batch assigned ids")
				}
			}
			if rs, _ := s.ListResults(ctx, store.ResultFilter{}); len(rs) != 0 {
				t.Fatalf("a failed batch wrote %d results", len(rs))
			}
			var retry []*store.Result
			for _, r := range batch {
				if !slices.Contains(missing.IDs, r.DetectorID) {
					retry = append(retry, r)
				}
			}
			wantErr(t, "CreateResults without the missing detectors' results", s.CreateResults(ctx, retry...), nil)
			rs, _ := s.ListResults(ctx, store.ResultFilter{DetectorID: a.ID, Limit: 100})
			if len(rs) != len(retry) {
				t.Fatalf("the retry wrote %d results, want %d", len(rs), len(retry))
			}
			for _, r := range rs {
				if _, err := s.GetResult(ctx, r.ID); err != nil {
					t.Fatal(err)
				}
			}
			// Start the next case with no results.
			wantErr(t, "DeleteDetector", s.DeleteDetector(ctx, a.ID), nil)
		})
	}
	err := (&store.MissingDetectorsError{IDs: []string{"1", "2", "3", "4", "5", "6", "7", strings.Repeat("x", 1000)}}).Error()
	if !strings.Contains(err, "and 3 more") || len(err) > 200 {
		t.Errorf("MissingDetectorsError of 8 ids: %q", err)
	}
}

// testDeleteDetectorRace: one goroutine deletes a detector while another writes batches of
// results of it and of a detector that stays. CreateResults returns nil or a
// MissingDetectorsError naming the deleted detector, nothing else; every batch that
// succeeded is stored whole (the staying detector's results of it are all there) and every
// batch that failed left nothing.
func testDeleteDetectorRace(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	stays := create(t, s, newDetector("stays", "knn"))
	const rounds, batches, perBatch = 50, 8, 6
	stored := 0
	for round := range rounds {
		doomed := create(t, s, newDetector(fmt.Sprintf("doomed-%d", round), "knn"))
		var wg sync.WaitGroup
		var deleteErr error
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			if round%2 == 1 {
				time.Sleep(time.Duration(round%5) * 100 * time.Microsecond)
			}
			deleteErr = s.DeleteDetector(ctx, doomed.ID)
		})
		ok := 0
		close(start)
		for range batches {
			var batch []*store.Result
			for i := range perBatch {
				det := stays.ID
				if i%2 == 0 {
					det = doomed.ID
				}
				batch = append(batch, &store.Result{DetectorID: det, NSamples: 1, Scores: []float64{float64(i)}})
			}
			err := s.CreateResults(ctx, batch...)
			var missing *store.MissingDetectorsError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &missing):
				if !slices.Equal(missing.IDs, []string{doomed.ID}) {
					t.Fatalf("round %d: MissingDetectorsError names %v, want only the deleted %s", round, missing.IDs, doomed.ID)
				}
			case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			default:
				t.Fatalf("round %d: CreateResults during DeleteDetector: %v", round, err)
			}
		}
		wg.Wait()
		wantErr(t, fmt.Sprintf("round %d: DeleteDetector", round), deleteErr, nil)
		stored += ok * perBatch / 2
		rs, err := s.ListResults(ctx, store.ResultFilter{DetectorID: stays.ID, Limit: 100_000})
		wantErr(t, "ListResults", err, nil)
		if len(rs) != stored {
			t.Fatalf("round %d: %d results of the detector that stays, want %d", round, len(rs), stored)
		}
		if rs, _ := s.ListResults(ctx, store.ResultFilter{DetectorID: doomed.ID}); len(rs) != 0 {
			t.Fatalf("round %d: %d results of the deleted detector remain", round, len(rs))
		}
	}
	t.Logf("%d of %d batches written", stored/(perBatch/2), rounds*batches)
}
