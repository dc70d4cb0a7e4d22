package bench_test

import (
	"context"
	"math"
	"testing"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
)

// modelBytesPerRow is an independent measure of how much a fitted model holds per training
// row: the growth of its encoded size between two fits (the encoding writes the model's
// arrays as they are, 8 bytes per float64).
func modelBytesPerRow(t *testing.T, algorithm string, cols int) float64 {
	t.Helper()
	size := func(rows int) int {
		m, err := detector.NewModel(algorithm, nil, 0.1)
		if err != nil {
			t.Fatal(err)
		}
		X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: rows, Cols: cols, Contamination: 0.1, Seed: 1})
		if _, err := m.Fit(context.Background(), X); err != nil {
			t.Fatal(err)
		}
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return len(b)
	}
	return float64(size(20000)-size(10000)) / 10000
}

// TestMemoryBytesPerRow runs the stress test on a small budget and checks its fit bytes per
// row against what the data and the model really hold, computed independently: the data is
// rows x cols float64 plus one int label a row; the model's share comes from its encoding.
// ecod keeps every training value sorted by feature (its model grows with the rows), an
// isolation forest keeps 100 trees of 256 rows whatever the data (its share is 0).
func TestMemoryBytesPerRow(t *testing.T) {
	if raceEnabled {
		t.Skip("a race-instrumented child's resident set is mostly the detector's shadow memory")
	}
	const cols = 8
	for _, algorithm := range []string{"ecod", "isolation_forest"} {
		cfg := bench.DefaultMemory(algorithm)
		cfg.BaseSize, cfg.StepMultiplier, cfg.MaxMemoryMB, cfg.Dims = 5000, 2, 96, cols
		doc, err := bench.RunMemory(context.Background(), cfg, bench.Options{Child: childCmd()})
		if err != nil {
			t.Fatal(err)
		}
		want := float64(cols*8+8) + modelBytesPerRow(t, algorithm, cols)
		t.Logf("%s: %d steps to %d rows, stopped: %s; bytes per row: %.1f held (independent %.1f), %.1f fit peak, %.1f score, %.1f RSS; growth %s",
			algorithm, len(doc.Steps), doc.LargestRows, doc.StopReason, doc.FitBytesPerRow, want, doc.FitPeakBytesPerRow, doc.ScoreBytesPerRow, doc.RSSBytesPerRow, doc.GrowthClass)
		if rel := math.Abs(doc.FitBytesPerRow-want) / want; rel > 0.2 {
			t.Errorf("%s: %.1f bytes per row held after fit, independent count %.1f (%.0f %% off)", algorithm, doc.FitBytesPerRow, want, 100*rel)
		}
		if doc.StopReason != "predicted" || doc.NextPredictedPeakRSS <= doc.KillAtBytes || doc.LargestRows < 50000 {
			t.Errorf("%s: stopped %q at %d rows (next %d predicted at %d, kill line %d)", algorithm, doc.StopReason, doc.LargestRows, doc.NextRows, doc.NextPredictedPeakRSS, doc.KillAtBytes)
		}
		for _, s := range doc.Steps {
			if s.Status != bench.StatusOK || s.PeakRSS <= 0 || s.PeakRSS > doc.KillAtBytes || s.PredictedPeakRSS > doc.KillAtBytes {
				t.Errorf("%s: step %+v (kill line %d)", algorithm, s, doc.KillAtBytes)
			}
		}
		if doc.GrowthClass != "O(n)" || doc.FitPeakBytesPerRow < doc.FitBytesPerRow {
			t.Errorf("%s: growth %s, fit peak %.1f bytes per row", algorithm, doc.GrowthClass, doc.FitPeakBytesPerRow)
		}
	}
}

// TestMemoryKillsChild starts with a step far over the budget: with no growth to predict
// from, the child starts, and is stopped before its resident set passes the kill line.
func TestMemoryKillsChild(t *testing.T) {
	cfg := bench.DefaultMemory("hbos")
	cfg.BaseSize, cfg.Dims, cfg.MaxMemoryMB = 2_000_000, 16, 64 // 256 MB of data
	doc, err := bench.RunMemory(context.Background(), cfg, bench.Options{Child: childCmd()})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Steps) != 1 || doc.StopReason != bench.StatusOverBudget || doc.LargestRows != 0 {
		t.Fatalf("steps %+v, stopped %q", doc.Steps, doc.StopReason)
	}
	s := doc.Steps[0]
	if s.Status != bench.StatusOverBudget || s.PeakRSS > cfg.MaxMemoryBytes() {
		t.Errorf("step %+v: want over_budget with the resident set seen under the %d-byte budget", s, cfg.MaxMemoryBytes())
	}
	t.Logf("stopped at %d bytes resident (kill line %d): %s", s.PeakRSS, doc.KillAtBytes, s.Error)
}

func TestMemoryNeedsChildAndValidates(t *testing.T) {
	cfg := bench.DefaultMemory("hbos")
	if _, err := bench.RunMemory(context.Background(), cfg, bench.Options{}); err == nil {
		t.Error("memory test without a child command ran")
	}
	for _, bad := range []func(*bench.MemoryConfig){
		func(c *bench.MemoryConfig) { c.MaxMemoryMB = 16 },
		func(c *bench.MemoryConfig) { c.StepMultiplier = 1 },
		func(c *bench.MemoryConfig) { c.BaseSize = 1 },
		func(c *bench.MemoryConfig) { c.Algorithm.Name = "nope" },
	} {
		c := bench.DefaultMemory("hbos")
		bad(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestPredictPeak(t *testing.T) {
	const mb = 1 << 20
	step := func(rows int, rss int64) bench.MemoryStep { return bench.MemoryStep{Rows: rows, PeakRSS: rss} }
	tests := []struct {
		name  string
		steps []bench.MemoryStep
		rows  int
		want  int64
	}{
		{"no steps", nil, 1000, 0},
		// one step: linear from the floor, 10 + 10 x 1.5
		{"one step", []bench.MemoryStep{step(1000, 20*mb)}, 1500, 25 * mb},
		// above the floor 10 then 20: slope 1, so 10 + 20 x 2
		{"linear", []bench.MemoryStep{step(1000, 20*mb), step(2000, 30*mb)}, 4000, 50 * mb},
		// above the floor 1, 4, 16: slope 2, so 10 + 16 x 2^2
		{"quadratic", []bench.MemoryStep{step(1000, 11*mb), step(2000, 14*mb), step(4000, 26*mb)}, 8000, 74 * mb},
		// only the last three steps count: 4, 16, 64 above the floor
		{"last three", []bench.MemoryStep{step(500, 100*mb), step(1000, 14*mb), step(2000, 26*mb), step(4000, 74*mb)}, 8000, 266 * mb},
		// a shrinking peak (slope < 1) is taken as linear: 10 + 5 x 2
		{"at least linear", []bench.MemoryStep{step(1000, 20*mb), step(2000, 15*mb)}, 4000, 20 * mb},
		// slope 4 is capped at 3: 10 + 16 x 2^3
		{"at most cubic", []bench.MemoryStep{step(1000, 11*mb), step(2000, 26*mb)}, 4000, 138 * mb},
	}
	for _, tc := range tests {
		if got := bench.PredictPeak(tc.steps, 10*mb, tc.rows); math.Abs(float64(got-tc.want)) > 2 {
			t.Errorf("%s: PredictPeak = %d (%.2f MiB), want %d", tc.name, got, float64(got)/mb, tc.want)
		}
	}
}
