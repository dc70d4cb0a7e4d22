package bench_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
)

func readWBC(t testing.TB) *dataset.Table {
	t.Helper()
	tab, err := dataset.ReadCSVFile(wbc, dataset.CSVOptions{Label: "label"})
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func spec(name string, kv ...any) bench.DetectSpec {
	p := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i].(string)] = kv[i+1]
	}
	if len(p) == 0 {
		p = nil
	}
	return bench.DetectSpec{Algorithm: bench.Algorithm{Name: name, Params: p}}
}

// waitGoroutines fails the test unless the goroutines fall back to at most before within a
// generous deadline.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > before; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
	}
}

// Detections run side by side give each spec its own result, in spec order; one that fails
// fails alone, with an error that says why.
func TestRunDetections(t *testing.T) {
	tab := readWBC(t)
	specs := []bench.DetectSpec{
		spec("local_outlier_factor", "n_neighbors", 40),
		spec("knn", "n_neighbors", 500), // more neighbours than rows
		spec("isolation_forest"),
		spec("no_such_algorithm"),
		spec("hbos", "n_bins", "many"),
		spec("ecod"),
	}
	res, err := bench.RunDetections(context.Background(), tab.X, specs, bench.DetectOptions{Parallel: 3, Labels: tab.Labels, Seed: 1, KeepScores: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(specs) {
		t.Fatalf("%d results for %d specs", len(res), len(specs))
	}
	for i, want := range []struct {
		status, err string
	}{{bench.StatusOK, ""}, {bench.StatusError, "need at least"}, {bench.StatusOK, ""}, {bench.StatusError, "unknown algorithm"},
		{bench.StatusError, "n_bins=many"}, {bench.StatusOK, ""}} {
		r := res[i]
		if r.Algorithm != specs[i].Algorithm.Name || r.Status != want.status || !strings.Contains(r.Error, want.err) {
			t.Errorf("%d: %s %s %q, want %s %s %q", i, r.Algorithm, r.Status, r.Error, specs[i].Algorithm.Name, want.status, want.err)
			continue
		}
		if r.Status != bench.StatusOK {
			if r.Err == nil || r.Accuracy != nil {
				t.Errorf("%d: failed with Err %v, accuracy %v", i, r.Err, r.Accuracy)
			}
			continue
		}
		if r.Accuracy == nil || r.Accuracy.ROCAUC < 0.8 || len(r.Scores) != tab.X.Rows || r.FitSeconds <= 0 || r.EstimatedBytes <= 0 {
			t.Errorf("%d %s: accuracy %v, %d scores, fit %v s, estimate %d", i, r.Algorithm, r.Accuracy, len(r.Scores), r.FitSeconds, r.EstimatedBytes)
		}
	}
	if !errors.Is(res[1].Err, detector.ErrTooFewRows) {
		t.Errorf("knn's error %v does not match ErrTooFewRows", res[1].Err)
	}
}

// Running detections side by side changes no score: the same results one at a time and
// four at a time.
func TestRunDetectionsSameScores(t *testing.T) {
	tab := readWBC(t)
	var specs []bench.DetectSpec
	for _, a := range detector.Names() {
		specs = append(specs, spec(a))
	}
	run := func(p int) []bench.DetectResult {
		res, err := bench.RunDetections(context.Background(), tab.X, specs, bench.DetectOptions{Parallel: p, Labels: tab.Labels, Seed: 7, KeepScores: true})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	one, four := run(1), run(4)
	for i := range one {
		if one[i].Status != bench.StatusOK || !slices.Equal(one[i].Scores, four[i].Scores) || *one[i].Accuracy != *four[i].Accuracy {
			t.Errorf("%s: %s %q; scores differ one at a time and four at a time", one[i].Algorithm, one[i].Status, one[i].Error)
		}
	}
}

// A detection whose estimate alone passes the memory bound is refused without running; the
// others run within it.
func TestRunDetectionsMemoryBound(t *testing.T) {
	tab := readWBC(t)
	specs := []bench.DetectSpec{spec("hbos"), spec("isolation_forest", "n_estimators", 100000)}
	m, err := detector.NewModel("hbos", nil, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	budget := 4 * m.Estimate(tab.X.Rows, tab.X.Cols).Bytes
	res, err := bench.RunDetections(context.Background(), tab.X, specs, bench.DetectOptions{MemoryBytes: budget})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != bench.StatusOK {
		t.Errorf("hbos: %s %s", res[0].Status, res[0].Error)
	}
	if r := res[1]; r.Status != bench.StatusOverBudget || !strings.Contains(r.Error, "n_estimators=100000") || r.FitSeconds != 0 {
		t.Errorf("a forest of 100000 trees within %d bytes: %s %q", budget, r.Status, r.Error)
	}
}

func TestRunDetectionsTimeout(t *testing.T) {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 4000, Cols: 8, Contamination: 0.1, Seed: 1})
	res, err := bench.RunDetections(context.Background(), X, []bench.DetectSpec{spec("one_class_svm", "tol", 1e-9), spec("hbos")},
		bench.DetectOptions{Timeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != bench.StatusTimeout || !errors.Is(res[0].Err, bench.ErrTimeout) {
		t.Errorf("one_class_svm in 1 ms: %s %q", res[0].Status, res[0].Error)
	}
}

func TestRunDetectionsBadOptions(t *testing.T) {
	tab := readWBC(t)
	ones := make([]int, tab.X.Rows)
	for i := range ones {
		ones[i] = 1
	}
	for _, c := range []struct {
		name string
		X    *dataset.Matrix
		opts bench.DetectOptions
		want string
	}{
		{"no data", nil, bench.DetectOptions{}, "no data"},
		{"parallel", tab.X, bench.DetectOptions{Parallel: -1}, "parallel -1"},
		{"too parallel", tab.X, bench.DetectOptions{Parallel: bench.MaxParallel + 1}, "must be in [1, 256]"},
		{"memory", tab.X, bench.DetectOptions{MemoryBytes: -1}, "must not be negative"},
		{"labels", tab.X, bench.DetectOptions{Labels: []int{0, 1}}, "2 labels for 223 rows"},
		{"one class", tab.X, bench.DetectOptions{Labels: ones}, "one class"},
	} {
		_, err := bench.RunDetections(context.Background(), c.X, []bench.DetectSpec{spec("hbos")}, c.opts)
		if !errors.Is(err, bench.ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrConfig with %q", c.name, err, c.want)
		}
	}
}

// cancelAfter is a Reporter that cancels a run once n detections have finished.
type cancelAfter struct {
	mu     sync.Mutex
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Report(p bench.Progress) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.Done >= c.n {
		c.cancel()
	}
}

// Cancelling stops the scheduling: the detections not started are skipped, the error says the
// run stopped, and no goroutine stays behind.
func TestRunDetectionsCancel(t *testing.T) {
	tab := readWBC(t)
	var specs []bench.DetectSpec
	for k := 5; k < 45; k++ {
		specs = append(specs, spec("local_outlier_factor", "n_neighbors", k))
	}
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := bench.RunDetections(ctx, tab.X, specs, bench.DetectOptions{Parallel: 2, Reporter: &cancelAfter{n: 3, cancel: cancel}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want one wrapping context.Canceled", err)
	}
	ok, skipped := 0, 0
	for _, r := range res {
		switch r.Status {
		case bench.StatusOK:
			ok++
		case bench.StatusSkipped:
			skipped++
		default:
			t.Errorf("%v: %s %q", r.Params, r.Status, r.Error)
		}
	}
	// Three finished when the reporter cancelled; at most the other slot's detection
	// finished too.
	if ok < 3 || ok > 4 || ok+skipped != len(specs) {
		t.Errorf("%d ok, %d skipped of %d", ok, skipped, len(specs))
	}
	waitGoroutines(t, before)

	res, err = bench.RunDetections(ctx, tab.X, specs[:2], bench.DetectOptions{})
	if !errors.Is(err, context.Canceled) || res[0].Status != bench.StatusSkipped || res[1].Status != bench.StatusSkipped {
		t.Errorf("on a cancelled context: %v, %v", err, res)
	}
}

// Compare with algorithms run two at a time gives the sequential run's accuracy figures, in
// the order asked, each isolated in its child process.
func TestCompareParallel(t *testing.T) {
	cfg := bench.DefaultCompare(wbc, "label", "isolation_forest", "hbos", "ecod", "knn")
	cfg.Iterations, cfg.Warmup, cfg.Seed = 2, 0, 3
	run := func(p int, isolate bool) *bench.CompareDoc {
		cfg.Parallel, cfg.Isolate = p, isolate
		doc, err := bench.RunCompare(context.Background(), cfg, bench.Options{Child: childCmd()})
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	seq, par := run(0, false), run(2, true)
	if len(par.Entries) != 4 || par.Rows != 223 {
		t.Fatalf("%d entries, %d rows", len(par.Entries), par.Rows)
	}
	for i, e := range par.Entries {
		s := seq.Entries[i]
		if e.Algorithm != s.Algorithm || e.Status != bench.StatusOK || e.Accuracy == nil || *e.Accuracy != *s.Accuracy || e.Rank != s.Rank {
			t.Errorf("%d: %s %s %v rank %d, sequential %s %v rank %d", i, e.Algorithm, e.Status, e.Accuracy, e.Rank, s.Algorithm, s.Accuracy, s.Rank)
		}
	}
	cfg.Parallel = bench.MaxParallel + 1
	if err := cfg.Validate(); !errors.Is(err, bench.ErrConfig) {
		t.Errorf("parallel %d: %v", cfg.Parallel, err)
	}
	// Cancelled before it starts: no entry, the error says so.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg.Parallel = 2
	doc, err := bench.RunCompare(ctx, cfg, bench.Options{Child: childCmd()})
	if !errors.Is(err, context.Canceled) || doc == nil || len(doc.Entries) != 0 {
		t.Errorf("cancelled: %v, %v", err, doc)
	}
}
