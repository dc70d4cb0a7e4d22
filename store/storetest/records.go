package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/store"
)

func testDatasets(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	in := []*store.Dataset{
		{Name: "small.csv", NSamples: 100, NFeatures: 3, FileFormat: "csv", Data: []byte("a,b,c\n1,2,3\n"), CreatedAt: t0},
		{Name: "big.parquet", NSamples: 1_000_000, NFeatures: 20, FileFormat: "parquet", Path: "/data/big.parquet", CreatedAt: t0.Add(time.Hour)},
		{Name: "mid.csv", NSamples: 5000, NFeatures: 8, FileFormat: "csv", Path: "/data/mid.csv", Data: []byte("x\n1\n"), CreatedAt: t0.Add(2 * time.Hour)},
	}
	for _, d := range in {
		wantErr(t, "CreateDataset", s.CreateDataset(ctx, d), nil)
		if d.ID == "" {
			t.Fatal("CreateDataset assigned no id")
		}
	}
	got, err := s.GetDataset(ctx, in[0].ID)
	wantErr(t, "GetDataset", err, nil)
	if df := diff(got, in[0]); df != "" {
		t.Fatalf("GetDataset: %s", df)
	}
	got, _ = s.GetDataset(ctx, in[1].ID)
	if got.Data != nil || got.Path != "/data/big.parquet" {
		t.Fatalf("GetDataset(path only) = data %q, path %q", got.Data, got.Path)
	}
	for _, c := range []struct {
		f    store.DatasetFilter
		want []string
	}{
		{store.DatasetFilter{}, []string{"mid.csv", "big.parquet", "small.csv"}},
		{store.DatasetFilter{FileFormat: "csv"}, []string{"mid.csv", "small.csv"}},
		{store.DatasetFilter{MinSamples: 5000}, []string{"mid.csv", "big.parquet"}},
		{store.DatasetFilter{FileFormat: "csv", MinSamples: 101}, []string{"mid.csv"}},
		{store.DatasetFilter{Limit: 1, Offset: 1}, []string{"big.parquet"}},
	} {
		list, err := s.ListDatasets(ctx, c.f)
		wantErr(t, "ListDatasets", err, nil)
		var names []string
		for _, d := range list {
			names = append(names, d.Name)
			if d.Data != nil {
				t.Errorf("ListDatasets returned the data of %s", d.Name)
			}
		}
		if !slices.Equal(names, c.want) {
			t.Errorf("ListDatasets(%+v) = %v, want %v", c.f, names, c.want)
		}
	}
	for _, bad := range []*store.Dataset{
		{Name: "", FileFormat: "csv", Path: "x"},
		{Name: "n", FileFormat: "", Path: "x"},
		{Name: "n", FileFormat: "csv"},
		{Name: "n", FileFormat: "csv", Path: "x", NSamples: -1},
	} {
		wantErr(t, fmt.Sprintf("CreateDataset(%+v)", bad), s.CreateDataset(ctx, bad), store.ErrInvalid)
	}
	dup := *in[0]
	wantErr(t, "CreateDataset(taken id)", s.CreateDataset(ctx, &dup), store.ErrConflict)
	wantErr(t, "DeleteDataset", s.DeleteDataset(ctx, in[0].ID), nil)
	_, err = s.GetDataset(ctx, in[0].ID)
	wantErr(t, "GetDataset after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteDataset(missing)", s.DeleteDataset(ctx, in[0].ID), store.ErrNotFound)
}

func testResults(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	a := create(t, s, newDetector("a", "knn"))
	b := create(t, s, newDetector("b", "knn"))
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

	one := &store.Result{DetectorID: a.ID, NSamples: 3, Scores: []float64{0.1, 0.9, -1.5e-300}, Anomalies: 1, Threshold: 0.5, CreatedAt: t0}
	wantErr(t, "CreateResults(one)", s.CreateResults(ctx, one), nil)
	got, err := s.GetResult(ctx, one.ID)
	wantErr(t, "GetResult", err, nil)
	if df := diff(got, one); df != "" {
		t.Fatalf("GetResult: %s", df)
	}
	var batch []*store.Result
	for i := range 10 {
		det := a.ID
		if i%2 == 1 {
			det = b.ID
		}
		batch = append(batch, &store.Result{DetectorID: det, NSamples: 1000 * i, Anomalies: i, Threshold: float64(i), CreatedAt: t0.Add(time.Duration(i+1) * time.Second)})
	}
	wantErr(t, "CreateResults(batch)", s.CreateResults(ctx, batch...), nil)
	got, _ = s.GetResult(ctx, batch[3].ID)
	if got.Scores != nil || got.NSamples != 3000 {
		t.Fatalf("a summary-only result came back with %d scores, %d samples", len(got.Scores), got.NSamples)
	}

	// All or none: one unknown detector fails the batch, and names it.
	bad := []*store.Result{
		{DetectorID: a.ID, NSamples: 1, Scores: []float64{1}},
		{DetectorID: "no-such-detector", NSamples: 1, Scores: []float64{1}},
	}
	err = s.CreateResults(ctx, bad...)
	wantErr(t, "CreateResults(unknown detector)", err, store.ErrNotFound)
	if err != nil && !bytes.Contains([]byte(err.Error()), []byte("no-such-detector")) {
		t.Errorf("error %q does not name the detector", err)
	}
	if all, _ := s.ListResults(ctx, store.ResultFilter{DetectorID: a.ID}); len(all) != 6 {
		t.Fatalf("a failed batch left results behind: %d results of detector a, want 6", len(all))
	}
	for _, r := range []*store.Result{
		{NSamples: 1},
		{DetectorID: a.ID, NSamples: 2, Scores: []float64{1}},
		{DetectorID: a.ID, NSamples: 2, Anomalies: 3},
	} {
		wantErr(t, fmt.Sprintf("CreateResults(%+v)", r), s.CreateResults(ctx, r), store.ErrInvalid)
	}
	dup := *one
	wantErr(t, "CreateResults(taken id)", s.CreateResults(ctx, &dup), store.ErrConflict)
	_, err = s.GetResult(ctx, "no-such-id")
	wantErr(t, "GetResult(missing)", err, store.ErrNotFound)

	anomalies := func(rs []*store.Result) []int {
		var n []int
		for _, r := range rs {
			n = append(n, r.Anomalies)
		}
		return n
	}
	for _, c := range []struct {
		f    store.ResultFilter
		want []int
	}{
		{store.ResultFilter{DetectorID: a.ID}, []int{8, 6, 4, 2, 0, 1}},
		{store.ResultFilter{DetectorID: b.ID, Limit: 2}, []int{9, 7}},
		{store.ResultFilter{Since: t0.Add(8 * time.Second)}, []int{9, 8, 7}},
		{store.ResultFilter{Since: t0.Add(2 * time.Second), Until: t0.Add(4 * time.Second)}, []int{2, 1}},
		{store.ResultFilter{DetectorID: a.ID, Until: t0.Add(time.Second)}, []int{1}},
		{store.ResultFilter{Limit: 3, Offset: 9}, []int{0, 1}},
	} {
		got, err := s.ListResults(ctx, c.f)
		wantErr(t, "ListResults", err, nil)
		if !slices.Equal(anomalies(got), c.want) {
			t.Errorf("ListResults(%+v) anomalies = %v, want %v", c.f, anomalies(got), c.want)
		}
	}

	// Deleting a detector deletes its results.
	wantErr(t, "DeleteDetector", s.DeleteDetector(ctx, b.ID), nil)
	if rs, _ := s.ListResults(ctx, store.ResultFilter{DetectorID: b.ID}); len(rs) != 0 {
		t.Fatalf("%d results of a deleted detector remain", len(rs))
	}
	_, err = s.GetResult(ctx, batch[1].ID)
	wantErr(t, "GetResult of a deleted detector's result", err, store.ErrNotFound)
}

func testBenchmarkRuns(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	t0 := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	// Stored byte for byte: key order and white space survive.
	doc := json.RawMessage("{\"version\": 1,\n  \"zeta\": [1, 2.50, 3e2], \"alpha\": {\"b\": null}}")
	runs := []*store.BenchmarkRun{
		{SuiteID: "s1", Kind: store.KindBenchmark, Name: "quick", CreatedAt: t0, Document: doc},
		{SuiteID: "s1", Kind: store.KindScalability, Name: "iforest", CreatedAt: t0.Add(time.Hour), Document: json.RawMessage(`{"version":1}`)},
		{SuiteID: "s2", Kind: store.KindBenchmark, Name: "standard", CreatedAt: t0.Add(2 * time.Hour), Document: json.RawMessage(`[]`)},
		{Kind: store.KindMemory, CreatedAt: t0.Add(3 * time.Hour), Document: json.RawMessage(`{"version":1,"peak":1}`)},
	}
	for _, r := range runs {
		wantErr(t, "CreateBenchmarkRun", s.CreateBenchmarkRun(ctx, r), nil)
	}
	got, err := s.GetBenchmarkRun(ctx, runs[0].ID)
	wantErr(t, "GetBenchmarkRun", err, nil)
	if df := diff(got, runs[0]); df != "" {
		t.Fatalf("GetBenchmarkRun: %s", df)
	}
	names := func(rs []*store.BenchmarkRun) []string {
		var n []string
		for _, r := range rs {
			n = append(n, r.Kind+"/"+r.Name)
		}
		return n
	}
	for _, c := range []struct {
		f    store.BenchmarkFilter
		want []string
	}{
		{store.BenchmarkFilter{}, []string{"memory/", "benchmark/standard", "scalability/iforest", "benchmark/quick"}},
		{store.BenchmarkFilter{SuiteID: "s1"}, []string{"scalability/iforest", "benchmark/quick"}},
		{store.BenchmarkFilter{Kind: store.KindBenchmark}, []string{"benchmark/standard", "benchmark/quick"}},
		{store.BenchmarkFilter{SuiteID: "s1", Kind: store.KindBenchmark}, []string{"benchmark/quick"}},
		{store.BenchmarkFilter{Since: t0.Add(time.Hour), Until: t0.Add(3 * time.Hour)}, []string{"benchmark/standard", "scalability/iforest"}},
		{store.BenchmarkFilter{Limit: 1}, []string{"memory/"}},
	} {
		got, err := s.ListBenchmarkRuns(ctx, c.f)
		wantErr(t, "ListBenchmarkRuns", err, nil)
		if !slices.Equal(names(got), c.want) {
			t.Errorf("ListBenchmarkRuns(%+v) = %v, want %v", c.f, names(got), c.want)
		}
	}
	list, _ := s.ListBenchmarkRuns(ctx, store.BenchmarkFilter{SuiteID: "s1", Kind: store.KindBenchmark})
	if len(list) != 1 || !bytes.Equal(list[0].Document, doc) {
		t.Fatalf("the listed document is not the stored bytes: %s", list[0].Document)
	}
	for _, bad := range []*store.BenchmarkRun{
		{Kind: "", Document: json.RawMessage(`{}`)},
		{Kind: store.KindCompare, Document: json.RawMessage(`{"a":`)},
		{Kind: store.KindCompare},
	} {
		wantErr(t, "CreateBenchmarkRun(invalid)", s.CreateBenchmarkRun(ctx, bad), store.ErrInvalid)
	}
	wantErr(t, "DeleteBenchmarkRun", s.DeleteBenchmarkRun(ctx, runs[0].ID), nil)
	_, err = s.GetBenchmarkRun(ctx, runs[0].ID)
	wantErr(t, "GetBenchmarkRun after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteBenchmarkRun(missing)", s.DeleteBenchmarkRun(ctx, runs[0].ID), store.ErrNotFound)
}

func testMetrics(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	t0 := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	var in []store.Sample
	for i := range 10 {
		at := t0.Add(time.Duration(i) * time.Second)
		in = append(in,
			store.Sample{Time: at, Name: "cpu_percent", Value: float64(i)},
			store.Sample{Time: at, Name: "latency_ms", Value: float64(100 + i), Labels: map[string]string{"route": "/predict", "method": "POST"}},
			store.Sample{Time: at.Add(time.Millisecond), Name: "latency_ms", Value: float64(200 + i), Labels: map[string]string{"route": "/train"}},
		)
	}
	wantErr(t, "AddSamples", s.AddSamples(ctx, in...), nil)

	values := func(ss []store.Sample) []float64 {
		var v []float64
		for _, x := range ss {
			v = append(v, x.Value)
		}
		return v
	}
	for _, c := range []struct {
		q    store.SampleQuery
		want []float64
	}{
		{store.SampleQuery{Name: "cpu_percent", From: t0.Add(3 * time.Second), To: t0.Add(6 * time.Second)}, []float64{3, 4, 5}},
		{store.SampleQuery{Name: "cpu_percent", From: t0.Add(8 * time.Second)}, []float64{8, 9}},
		{store.SampleQuery{Name: "cpu_percent", To: t0.Add(time.Second)}, []float64{0}},
		{store.SampleQuery{Name: "cpu_percent", Limit: 2}, []float64{0, 1}},
		{store.SampleQuery{Name: "latency_ms", From: t0, To: t0.Add(2 * time.Second)}, []float64{100, 200, 101, 201}},
		{store.SampleQuery{Name: "latency_ms", To: t0.Add(2 * time.Second), Labels: map[string]string{"method": "POST", "route": "/predict"}}, []float64{100, 101}},
		{store.SampleQuery{Name: "latency_ms", To: t0.Add(2 * time.Second), Labels: map[string]string{"route": "/predict"}}, nil},
		{store.SampleQuery{Name: "cpu_percent", Labels: map[string]string{}, To: t0.Add(time.Second)}, []float64{0}},
		{store.SampleQuery{Name: "no_such_metric"}, nil},
	} {
		got, err := s.QuerySamples(ctx, c.q)
		wantErr(t, "QuerySamples", err, nil)
		if !slices.Equal(values(got), c.want) {
			t.Errorf("QuerySamples(%+v) = %v, want %v", c.q, values(got), c.want)
		}
	}
	got, _ := s.QuerySamples(ctx, store.SampleQuery{Name: "latency_ms", Limit: 1})
	want := store.Sample{Time: t0, Name: "latency_ms", Value: 100, Labels: map[string]string{"route": "/predict", "method": "POST"}}
	if len(got) != 1 || diff(got[0], want) != "" {
		t.Fatalf("QuerySamples returned %+v, want %+v", got, want)
	}
	if got, _ := s.QuerySamples(ctx, store.SampleQuery{Name: "cpu_percent", Limit: 1}); got[0].Labels != nil {
		t.Fatalf("a sample without labels came back with %v", got[0].Labels)
	}
	_, err := s.QuerySamples(ctx, store.SampleQuery{})
	wantErr(t, "QuerySamples(no name)", err, store.ErrInvalid)
	wantErr(t, "AddSamples(no name)", s.AddSamples(ctx, store.Sample{Time: t0}), store.ErrInvalid)
	wantErr(t, "AddSamples(no time)", s.AddSamples(ctx, store.Sample{Name: "x"}), store.ErrInvalid)

	n, err := s.DeleteSamplesBefore(ctx, t0.Add(5*time.Second))
	wantErr(t, "DeleteSamplesBefore", err, nil)
	if n != 15 {
		t.Fatalf("DeleteSamplesBefore deleted %d samples, want 15", n)
	}
	if got, _ := s.QuerySamples(ctx, store.SampleQuery{Name: "cpu_percent"}); !slices.Equal(values(got), []float64{5, 6, 7, 8, 9}) {
		t.Fatalf("after DeleteSamplesBefore: %v", values(got))
	}
}

func testAlerts(t *testing.T, fresh Fresh) {
	ctx := context.Background()
	s := open(t, fresh(t))
	t0 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	in := []*store.Alert{
		{CreatedAt: t0, Key: "cpu", Rule: "cpu", Severity: "high", Metric: "cpu_percent", Title: "CPU high",
			Message: "CPU above 90 %", Value: 97.5, Threshold: 90,
			Actions: []string{"Take a CPU profile", "Scale out"}, Labels: map[string]string{"host": "a"}},
		{CreatedAt: t0.Add(time.Minute), Key: "memory", Rule: "memory", Severity: "medium", Metric: "memory_mb",
			Message: "memory high", Value: 3000, Threshold: 2048, Actions: []string{"Take a heap profile"}},
		{CreatedAt: t0.Add(2 * time.Minute), Key: "latency/POST /predict", Rule: "latency", Severity: "high",
			Metric: "latency_p99_ms", Value: 12, Threshold: 10, Labels: map[string]string{"operation": "POST /predict"}},
		{CreatedAt: t0.Add(3 * time.Minute), Key: "cpu", Rule: "cpu", Severity: "low", Metric: "cpu_percent",
			Value: 71, Threshold: 70, ResolvedAt: t0.Add(4 * time.Minute)},
	}
	for _, a := range in {
		wantErr(t, "CreateAlert", s.CreateAlert(ctx, a), nil)
	}
	for _, a := range in {
		got, err := s.GetAlert(ctx, a.ID)
		wantErr(t, "GetAlert", err, nil)
		if df := diff(got, a); df != "" || got.Active() != a.ResolvedAt.IsZero() {
			t.Fatalf("GetAlert(%s): %s (active %v)", a.Key, df, got.Active())
		}
	}
	wantErr(t, "ResolveAlert", s.ResolveAlert(ctx, in[0].ID, t0.Add(5*time.Minute)), nil)
	got, _ := s.GetAlert(ctx, in[0].ID)
	if got.Active() || !got.ResolvedAt.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("after ResolveAlert: resolved at %v", got.ResolvedAt)
	}
	in[0].ResolvedAt = t0.Add(5 * time.Minute)
	if df := diff(got, in[0]); df != "" {
		t.Fatalf("ResolveAlert changed more than resolved_at: %s", df)
	}
	wantErr(t, "ResolveAlert twice", s.ResolveAlert(ctx, in[0].ID, time.Time{}), store.ErrConflict)
	wantErr(t, "ResolveAlert(missing)", s.ResolveAlert(ctx, "no-such-id", time.Time{}), store.ErrNotFound)
	_, err := s.GetAlert(ctx, "no-such-id")
	wantErr(t, "GetAlert(missing)", err, store.ErrNotFound)

	metrics := func(as []*store.Alert) []string {
		var m []string
		for _, a := range as {
			m = append(m, a.Severity+":"+a.Metric)
		}
		return m
	}
	for _, c := range []struct {
		f    store.AlertFilter
		want []string
	}{
		{store.AlertFilter{}, []string{"low:cpu_percent", "high:latency_p99_ms", "medium:memory_mb", "high:cpu_percent"}},
		{store.AlertFilter{ActiveOnly: true}, []string{"high:latency_p99_ms", "medium:memory_mb"}},
		{store.AlertFilter{ActiveOnly: true, Severity: "high"}, []string{"high:latency_p99_ms"}},
		{store.AlertFilter{Severity: "high"}, []string{"high:latency_p99_ms", "high:cpu_percent"}},
		{store.AlertFilter{Severity: "high", Since: t0.Add(time.Second)}, []string{"high:latency_p99_ms"}},
		{store.AlertFilter{Metric: "cpu_percent"}, []string{"low:cpu_percent", "high:cpu_percent"}},
		{store.AlertFilter{Key: "cpu"}, []string{"low:cpu_percent", "high:cpu_percent"}},
		{store.AlertFilter{Key: "cpu", Severity: "low"}, []string{"low:cpu_percent"}},
		{store.AlertFilter{Key: "latency/POST /predict", ActiveOnly: true}, []string{"high:latency_p99_ms"}},
		{store.AlertFilter{Key: "latency"}, nil}, // a key is matched whole, not as a prefix
		{store.AlertFilter{Rule: "latency"}, []string{"high:latency_p99_ms"}},
		{store.AlertFilter{Rule: "memory", Metric: "cpu_percent"}, nil},
		{store.AlertFilter{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, []string{"high:latency_p99_ms", "medium:memory_mb"}},
		{store.AlertFilter{Limit: 1, Offset: 3}, []string{"high:cpu_percent"}},
	} {
		got, err := s.ListAlerts(ctx, c.f)
		wantErr(t, "ListAlerts", err, nil)
		if !slices.Equal(metrics(got), c.want) {
			t.Errorf("ListAlerts(%+v) = %v, want %v", c.f, metrics(got), c.want)
		}
	}
	// Listings carry every field, as GetAlert does.
	list, err := s.ListAlerts(ctx, store.AlertFilter{Key: "cpu", Severity: "high"})
	wantErr(t, "ListAlerts", err, nil)
	if len(list) != 1 || diff(list[0], in[0]) != "" {
		t.Errorf("ListAlerts(key cpu, high) = %+v, want %+v", list, in[0])
	}

	// An empty label set and no actions come back as nil, as in metric samples.
	empty := &store.Alert{Severity: "low", Metric: "m", Actions: []string{}, Labels: map[string]string{}}
	wantErr(t, "CreateAlert(empty actions and labels)", s.CreateAlert(ctx, empty), nil)
	if got, err := s.GetAlert(ctx, empty.ID); err != nil || got.Actions != nil || got.Labels != nil {
		t.Errorf("empty actions and labels came back as %#v, %#v (%v)", got.Actions, got.Labels, err)
	}

	wantErr(t, "CreateAlert(no severity)", s.CreateAlert(ctx, &store.Alert{Metric: "x"}), store.ErrInvalid)
	wantErr(t, "CreateAlert(no metric)", s.CreateAlert(ctx, &store.Alert{Severity: "low"}), store.ErrInvalid)
	many := make([]string, store.MaxAlertItems+1)
	for i := range many {
		many[i] = fmt.Sprint("action ", i)
	}
	wantErr(t, "CreateAlert(too many actions)", s.CreateAlert(ctx, &store.Alert{Severity: "low", Metric: "m", Actions: many}), store.ErrInvalid)
	labels := map[string]string{}
	for i := range store.MaxAlertItems + 1 {
		labels[fmt.Sprint("k", i)] = "v"
	}
	wantErr(t, "CreateAlert(too many labels)", s.CreateAlert(ctx, &store.Alert{Severity: "low", Metric: "m", Labels: labels}), store.ErrInvalid)
	wantErr(t, "CreateAlert(at the limits)", s.CreateAlert(ctx, &store.Alert{Severity: "low", Metric: "m",
		Actions: many[:store.MaxAlertItems], Labels: map[string]string{"k": strings.Repeat("v", store.MaxNameBytes)}}), nil)
}

// testTimes: times come back in UTC, rounded down to the microsecond, on every back end.
