package detector

import (
	"context"
	"errors"
	"math"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
)

// TestEstimateMatchesFit fits every algorithm on synthetic data of a few shapes and checks that
// Model.Estimate is within a factor of what the fit really allocated and of its wall time.
// Memory is runtime.MemStats TotalAlloc across Model.Fit: every byte allocated, which is the
// peak for fits that keep what they allocate. A one_class_svm whose kernel cache is smaller
// than the kernel matrix reallocates evicted columns, so TotalAlloc counts its churn many
// times; there (peak) the measure is the heap's peak while fitting, sampled.
func TestEstimateMatchesFit(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("fits several data sets, and times them")
	}
	// Times were calibrated on a quiet machine; one shared with other work runs the fits
	// several times slower, hence the low end of 1/20.
	const (
		memLo, memHi   = 0.5, 3
		timeLo, timeHi = 0.05, 10
	)
	type shape struct{ rows, cols int }
	for _, tc := range []struct {
		algo   string
		params map[string]any
		shapes []shape
		peak   bool
	}{
		{"isolation_forest", nil, []shape{{20000, 8}, {100000, 12}, {5000, 40}}, false},
		{"isolation_forest", map[string]any{"n_estimators": 300, "max_samples": 4096}, []shape{{20000, 8}, {50000, 4}}, false},
		{"local_outlier_factor", nil, []shape{{20000, 4}, {50000, 6}, {5000, 64}}, false},
		{"local_outlier_factor", map[string]any{"n_neighbors": 200}, []shape{{10000, 3}, {5000, 32}}, false},
		{"knn", nil, []shape{{20000, 4}, {50000, 6}, {5000, 64}}, false},
		{"knn", map[string]any{"n_neighbors": 500}, []shape{{10000, 3}}, false},
		{"one_class_svm", nil, []shape{{2000, 8}, {5000, 20}}, false},
		{"one_class_svm", map[string]any{"nu": 0.1, "cache_size_mb": 20}, []shape{{8000, 6}}, true},
		{"hbos", nil, []shape{{20000, 8}, {200000, 10}, {20000, 100}}, false},
		{"hbos", map[string]any{"n_bins": 100000}, []shape{{5000, 20}}, false},
		{"ecod", nil, []shape{{20000, 8}, {200000, 10}, {500, 30}}, false},
	} {
		for _, s := range tc.shapes {
			X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: s.rows, Cols: s.cols, Contamination: 0.05, Seed: 3})
			m, err := NewModel(tc.algo, tc.params, 0.1)
			if err != nil {
				t.Fatal(err)
			}
			est := m.Estimate(s.rows, s.cols)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			stop := samplePeak()
			t0 := time.Now()
			if _, err := m.Fit(context.Background(), X); err != nil {
				t.Fatal(err)
			}
			took := time.Since(t0)
			peak := stop()
			runtime.ReadMemStats(&after)
			alloc := int64(after.TotalAlloc - before.TotalAlloc)
			if tc.peak {
				alloc = peak - int64(before.HeapAlloc)
			}
			mr := float64(est.Bytes) / float64(alloc)
			tr := float64(est.Time) / float64(took)
			t.Logf("%s %v on %dx%d: allocated %s, estimated %s (x%.2f); took %v, estimated %v (x%.2f)",
				tc.algo, tc.params, s.rows, s.cols, HumanBytes(alloc), HumanBytes(est.Bytes), mr, took, est.Time, tr)
			if mr < memLo || mr > memHi {
				t.Errorf("%s %v on %dx%d: memory estimate %s is x%.2f of the %s allocated, want x%v to x%v",
					tc.algo, tc.params, s.rows, s.cols, HumanBytes(est.Bytes), mr, HumanBytes(alloc), memLo, memHi)
			}
			if tr < timeLo || tr > timeHi {
				t.Errorf("%s %v on %dx%d: time estimate %v is x%.2f of the %v taken, want x%v to x%v",
					tc.algo, tc.params, s.rows, s.cols, est.Time, tr, took, timeLo, timeHi)
			}
		}
	}
}

// samplePeak samples the bytes in heap objects (live and not yet swept) every 100us until the
// function it returns is called, which returns the largest value seen.
func samplePeak() (stop func() int64) {
	done := make(chan struct{})
	res := make(chan int64)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak int64
		for {
			metrics.Read(s)
			peak = max(peak, int64(s[0].Value.Uint64()))
			select {
			case <-done:
				res <- peak
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	}()
	return func() int64 { close(done); return <-res }
}

// TestCheckBudgetIssueExamples: the parameters of the out-of-memory reports are refused before
// any allocation.
func TestCheckBudgetIssueExamples(t *testing.T) {
	budget := Budget{Bytes: 6 << 30}
	for _, tc := range []struct {
		algo       string
		params     map[string]any
		rows, cols int
		msg        string
	}{
		{"isolation_forest", map[string]any{"n_estimators": 100000, "max_samples": 65536}, 65536, 10,
			"detector: isolation_forest with n_estimators=100000, max_samples=65536 on 65536 x 10 would need about "},
		{"local_outlier_factor", map[string]any{"n_neighbors": 100000}, 1000000, 10,
			"detector: local_outlier_factor with n_neighbors=100000 on 1000000 x 10 would need about "},
		{"knn", map[string]any{"n_neighbors": 100000}, 1000000, 10, "lower n_neighbors"},
		{"one_class_svm", map[string]any{"cache_size_mb": 1 << 20}, 1000000, 10, "cache_size_mb=1048576"},
		{"hbos", map[string]any{"n_bins": 1 << 20}, 1000, 10000, "lower n_bins"},
	} {
		m, err := NewModel(tc.algo, tc.params, 0.1)
		if err != nil {
			t.Fatal(err)
		}
		c := m.Estimate(tc.rows, tc.cols)
		if c.Bytes < 24<<30 {
			t.Errorf("%s %v: estimate %s, want well above 24 GiB", tc.algo, tc.params, HumanBytes(c.Bytes))
		}
		err = m.CheckBudget(tc.rows, tc.cols, budget)
		if !errors.Is(err, ErrOverBudget) || !errors.Is(err, ErrBadParameter) {
			t.Fatalf("%s: CheckBudget = %v, want ErrOverBudget and ErrBadParameter", tc.algo, err)
		}
		if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "over the budget of 6 GiB") {
			t.Errorf("%s: message %q, want it to contain %q", tc.algo, err, tc.msg)
		}
		t.Log(err)
	}
	// The defaults on the same data fit; a time budget is checked too.
	m, _ := NewModel("isolation_forest", nil, 0.1)
	if err := m.CheckBudget(65536, 10, budget); err != nil {
		t.Errorf("default isolation_forest: %v", err)
	}
	m, _ = NewModel("one_class_svm", nil, 0.1)
	err := m.CheckBudget(1000000, 10, Budget{Time: time.Minute})
	if !errors.Is(err, ErrOverBudget) || !strings.Contains(err.Error(), "would take about") {
		t.Errorf("one_class_svm on 10^6 rows with a minute: %v", err)
	}
}

// TestEstimateSaturates: absurd shapes and parameters give the largest cost, never a negative
// (overflowed) one.
func TestEstimateSaturates(t *testing.T) {
	for _, name := range Names() {
		a, _ := Lookup(name)
		raw := map[string]any{}
		for _, p := range a.Params {
			if p.Kind == Int && p.Max != 0 && p.Name != "seed" {
				raw[p.Name] = p.Max
			}
		}
		m, err := NewModel(name, raw, 0.1)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range [][2]int{{math.MaxInt32, math.MaxInt32}, {math.MaxInt, 1}, {1, math.MaxInt}, {0, 0}, {-5, 3}} {
			c := m.Estimate(s[0], s[1])
			if c.Bytes < 0 || c.Time < 0 {
				t.Errorf("%s %v on %d x %d: negative estimate %+v", name, raw, s[0], s[1], c)
			}
			if s[0] >= math.MaxInt32 && s[1] >= 1 && c.Bytes < 1<<40 {
				t.Errorf("%s on %d x %d: only %s", name, s[0], s[1], HumanBytes(c.Bytes))
			}
		}
	}
}

func TestHumanUnits(t *testing.T) {
	for _, tc := range []struct {
		b    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1536, "1.5 KiB"}, {6 << 30, "6 GiB"}, {104857600000, "97.7 GiB"}, {math.MaxInt64, "8 EiB"}} {
		if got := HumanBytes(tc.b); got != tc.want {
			t.Errorf("HumanBytes(%d) = %q, want %q", tc.b, got, tc.want)
		}
	}
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{3*time.Hour + 25*time.Minute + 7*time.Second, "3h25m"}, {2 * time.Hour, "2h"}, {250 * time.Second, "4m10s"},
		{1549 * time.Millisecond, "1.5s"}, {20*time.Millisecond + 300*time.Microsecond, "20ms"}} {
		if got := HumanDuration(tc.d); got != tc.want {
			t.Errorf("HumanDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
