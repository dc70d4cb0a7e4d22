package bench_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/bench"
)

const wbc = "../testdata/datasets/adbench/wbc.csv" // 223 rows x 9 features + label

// recorder is a bench.Reporter that keeps every report.
type recorder struct {
	mu sync.Mutex
	ps []bench.Progress
}

func (r *recorder) Report(p bench.Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ps = append(r.ps, p)
}

func smallSuite() bench.Config {
	c, _ := bench.Suite("quick")
	c.Name = "test"
	c.Sizes, c.Dims = []int{300, 600}, []int{4}
	c.Algorithms = []bench.Algorithm{{Name: "hbos"}, {Name: "knn", Params: map[string]any{"n_neighbors": 3}}}
	c.Iterations, c.Warmup = 3, 1
	c.Seed = 7
	return c
}

// TestBenchmarkEndToEnd runs a small suite in this process and in child processes and checks
// the document: every cell, its statistics against its own measurements, accuracy, memory.
func TestBenchmarkEndToEnd(t *testing.T) {
	for _, isolate := range []bool{false, true} {
		cfg := smallSuite()
		cfg.Isolate = isolate
		rec := &recorder{}
		doc, err := bench.RunBenchmark(context.Background(), cfg, bench.Options{Child: childCmd(), Reporter: rec, Version: "v-test"})
		if err != nil {
			t.Fatal(err)
		}
		if len(doc.Cells) != 4 {
			t.Fatalf("isolate=%v: %d cells, want 2 algorithms x 2 sizes", isolate, len(doc.Cells))
		}
		want := []string{"hbos/300x4/c0.1", "hbos/600x4/c0.1", "knn/300x4/c0.1", "knn/600x4/c0.1"}
		for i, c := range doc.Cells {
			if c.ID != want[i] || c.Status != bench.StatusOK {
				t.Fatalf("cell %d: %s %s %s", i, c.ID, c.Status, c.Error)
			}
			if c.Iterations != 3 || c.Warmup != 1 || c.Fit.N != 3 || c.Total.N != 3 {
				t.Errorf("%s: iterations %d, summaries of %d", c.ID, c.Iterations, c.Fit.N)
			}
			if !(c.Total.Min >= c.Fit.Min+c.Score.Min-1e-12) || c.Total.Median <= 0 || c.CPU.Median <= 0 {
				t.Errorf("%s: fit %+v score %+v total %+v cpu %+v", c.ID, c.Fit, c.Score, c.Total, c.CPU)
			}
			if got := float64(c.Rows) / c.Total.Median; c.Throughput != got {
				t.Errorf("%s: throughput %v, want rows/median %v", c.ID, c.Throughput, got)
			}
			if c.Accuracy == nil || c.Accuracy.ROCAUC < 0.9 {
				t.Errorf("%s: accuracy %+v on well separated synthetic data", c.ID, c.Accuracy)
			}
			m := c.Memory
			// The data is rows x (cols + 1 label) 8-byte values.
			if data := int64(c.Rows * 5 * 8); m == nil || m.DataBytes < data || m.DataBytes > data+64<<10 {
				t.Fatalf("%s: memory %+v, want data bytes about %d", c.ID, m, data)
			}
			if m.FitPeakHeap < m.DataBytes || m.PeakRSS <= 0 || m.RSSScope == "" {
				t.Errorf("%s: memory %+v", c.ID, m)
			}
		}
		// knn keeps its training rows: its model holds at least the data's features.
		if knn := doc.Cells[3].Memory; knn.ModelBytes < 600*4*8 {
			t.Errorf("knn model holds %d bytes, less than its %d bytes of training rows", knn.ModelBytes, 600*4*8)
		}
		if doc.SchemaVersion != bench.SchemaVersion || doc.Kind != bench.KindBenchmark || doc.GonomalyVersion != "v-test" ||
			doc.Seed != 7 || doc.Isolated != isolate || !strings.HasPrefix(doc.SuiteID, "test-") {
			t.Errorf("header %+v", doc.Header)
		}
		if !doc.FinishedAt.After(doc.StartedAt) || doc.DurationSeconds <= 0 || doc.Machine.Cores < 1 || doc.Machine.GoVersion == "" {
			t.Errorf("header %+v", doc.Header)
		}
		// Progress: a start and an end per cell, the last one complete.
		if len(rec.ps) != 8 {
			t.Fatalf("%d progress reports, want 8", len(rec.ps))
		}
		last := rec.ps[len(rec.ps)-1]
		if last.Done != 4 || last.Total != 4 || last.ETA != 0 || last.Current != want[3] {
			t.Errorf("last progress %+v", last)
		}
		if mid := rec.ps[4]; mid.Current != want[2] || mid.Done != 2 || mid.ETA <= 0 {
			t.Errorf("progress at the third cell %+v", mid)
		}
	}
}

func TestBenchmarkOnFileParallelWithProfiles(t *testing.T) {
	c, _ := bench.Suite("quick")
	c.Dataset, c.Label = wbc, "label"
	c.Algorithms = []bench.Algorithm{{Name: "isolation_forest"}, {Name: "ecod"}, {Name: "hbos"}}
	c.Contamination = []float64{0.05, 0.1}
	c.Parallel, c.Workers = true, 2
	c.CPUProfiling, c.ProfileDir = true, filepath.Join(t.TempDir(), "profiles")
	doc, err := bench.RunBenchmark(context.Background(), c, bench.Options{Child: childCmd()})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Cells) != 6 {
		t.Fatalf("%d cells, want 3 algorithms x 2 rates", len(doc.Cells))
	}
	for i, cell := range doc.Cells {
		if cell.Status != bench.StatusOK || cell.Rows != 223 || cell.Cols != 9 || cell.Dataset != wbc {
			t.Fatalf("cell %d: %+v", i, cell)
		}
		if want := []float64{0.05, 0.1}[i%2]; cell.Contamination != want {
			t.Errorf("cell %d: contamination %v, want %v (grid order kept in parallel)", i, cell.Contamination, want)
		}
		st, err := os.Stat(cell.Profile)
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: profile %q: %v", cell.ID, cell.Profile, err)
		}
		if cell.Accuracy == nil || cell.Accuracy.ROCAUC < 0.85 {
			t.Errorf("%s: accuracy %+v on wbc", cell.ID, cell.Accuracy)
		}
	}
}

// TestCellTimeout: a cell past its timeout is stopped, in this process (its context) and in a
// child process (killed), and reported as timed out while the other cells run.
func TestCellTimeout(t *testing.T) {
	for _, isolate := range []bool{false, true} {
		c, _ := bench.Suite("quick")
		c.Sizes, c.Dims = []int{6000}, []int{10}
		c.Algorithms = []bench.Algorithm{{Name: "one_class_svm", Params: map[string]any{"tol": 1e-9}}, {Name: "hbos"}}
		c.Iterations, c.Warmup = 3, 0
		c.TimeoutSeconds = 0.3
		if raceEnabled {
			c.TimeoutSeconds = 3
		}
		c.Isolate = isolate
		t0 := time.Now()
		doc, err := bench.RunBenchmark(context.Background(), c, bench.Options{Child: childCmd()})
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(t0)
		svm, hb := doc.Cells[0], doc.Cells[1]
		if svm.Status != bench.StatusTimeout || !strings.Contains(svm.Error, "timeout") || svm.Total != nil {
			t.Errorf("isolate=%v: one_class_svm cell %s: %s", isolate, svm.Status, svm.Error)
		}
		if hb.Status != bench.StatusOK {
			t.Errorf("isolate=%v: hbos after the timed-out cell: %s %s", isolate, hb.Status, hb.Error)
		}
		if svm.WallSeconds > 2+10*c.TimeoutSeconds || took > 10*time.Second+30*time.Duration(c.TimeoutSeconds*float64(time.Second)) {
			t.Errorf("isolate=%v: the timed-out cell took %.2f s, the run %v", isolate, svm.WallSeconds, took)
		}
	}
}

func TestBenchmarkCancelled(t *testing.T) {
	c := smallSuite()
	c.Isolate = false
	ctx, cancel := context.WithCancel(context.Background())
	rec := reporterFunc(func(p bench.Progress) {
		if p.Done == 1 {
			cancel()
		}
	})
	doc, err := bench.RunBenchmark(ctx, c, bench.Options{Reporter: rec})
	if err == nil || doc == nil || len(doc.Cells) != 1 {
		t.Fatalf("cancelled run: err %v, doc with %d cells", err, len(doc.Cells))
	}
}

type reporterFunc func(bench.Progress)

func (f reporterFunc) Report(p bench.Progress) { f(p) }

func TestIsolatedNeedsChild(t *testing.T) {
	c := smallSuite()
	if _, err := bench.RunBenchmark(context.Background(), c, bench.Options{}); err == nil || !strings.Contains(err.Error(), "child command") {
		t.Errorf("isolated run without a child command: %v", err)
	}
}

// TestBenchmarkJSONFields checks the document has every field issue 4 asks of a result.
func TestBenchmarkJSONFields(t *testing.T) {
	c := smallSuite()
	c.Sizes = []int{200, 300, 400}
	c.Algorithms = c.Algorithms[:1]
	c.Isolate, c.Scalability = false, true
	doc, err := bench.RunBenchmark(context.Background(), c, bench.Options{Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(doc)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	need := func(obj map[string]any, where string, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if _, ok := obj[k]; !ok {
				t.Errorf("%s lacks %q", where, k)
			}
		}
	}
	need(m, "document", "schema_version", "kind", "suite_id", "name", "gonomaly_version", "build", "machine", "seed",
		"started_at", "finished_at", "duration_seconds", "config", "cells", "scalability")
	need(m["machine"].(map[string]any), "machine", "cpu_model", "cores", "memory_bytes", "go_version", "gomaxprocs", "os", "arch")
	need(m["config"].(map[string]any), "config", "name", "dataset_sizes", "feature_dimensions", "contamination_rates", "algorithms",
		"iterations", "warmup_iterations", "timeout_seconds", "enable_memory_profiling", "enable_cpu_profiling",
		"enable_scalability_testing", "parallel_execution", "isolate", "seed")
	cell := m["cells"].([]any)[0].(map[string]any)
	need(cell, "cell", "id", "algorithm", "rows", "cols", "contamination", "dataset", "status", "iterations", "warmup_iterations",
		"fit_seconds", "score_seconds", "total_seconds", "cpu_seconds", "throughput_rows_per_sec", "score_rows_per_sec",
		"memory", "accuracy", "wall_seconds")
	need(cell["total_seconds"].(map[string]any), "summary", "n", "median", "mean", "std_dev", "min", "max", "ci_low", "ci_high")
	need(cell["memory"].(map[string]any), "memory", "fit_peak_heap_bytes", "score_peak_heap_bytes", "data_bytes", "model_bytes", "peak_rss_bytes", "rss_scope")
	need(cell["accuracy"].(map[string]any), "accuracy", "roc_auc", "average_precision", "precision_at_n")
	sc := m["scalability"].([]any)[0].(map[string]any)
	need(sc, "scalability", "algorithm", "sizes", "seconds", "cpu_seconds", "total", "cpu")
	need(sc["total"].(map[string]any), "complexity", "best", "patterns", "exponent", "r2", "grade", "predicted_10x")
}
