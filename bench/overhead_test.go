package bench

import (
	"context"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/internal/sysstat"
	"github.com/gonomaly/gonomaly/stat"
)

// TestHarnessOverhead measures what the harness does to the times it reports. Each round runs,
// in rotating order on the same data: a bare fit + score (a new model, Fit, Score, a time.Now
// on either side: what a user's program does), the same again (an A/A comparison: how far two
// identical runs land apart on this machine), the harness's measured iteration without memory
// profiling (timing and getrusage around each phase) and with it (the heap also sampled every
// millisecond by another goroutine). A busy machine drifts over seconds, so each figure is the
// median over rounds of that round's ratio to the first bare run, minus 1: neighbours in time
// share the drift. The harness's wall cost is its whole iteration over the bare fit + score.
// It is a measurement, run on request: GONOMALY_OVERHEAD_ROUNDS=N sets the rounds
// (BENCHMARKS.md quotes the command). Its check is loose (10 %): while other programs share the
// machine, the A/A spread is itself several per cent. TestSamplerCPU, which always runs,
// measures the sampler's cost directly.
func TestHarnessOverhead(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation dominates the costs measured here")
	}
	s := os.Getenv("GONOMALY_OVERHEAD_ROUNDS")
	if s == "" {
		t.Skip("a measurement: set GONOMALY_OVERHEAD_ROUNDS to run it")
	}
	rounds, err := strconv.Atoi(s)
	if err != nil || rounds < 1 {
		t.Fatalf("GONOMALY_OVERHEAD_ROUNDS=%q: want a positive count", s)
	}
	cases := []CellSpec{
		{Algorithm: Algorithm{Name: "isolation_forest"}, Rows: 100000, Cols: 10},
		{Algorithm: Algorithm{Name: "hbos"}, Rows: 200000, Cols: 10},
		{Algorithm: Algorithm{Name: "local_outlier_factor"}, Rows: 10000, Cols: 10},
	}
	ctx := context.Background()
	for _, spec := range cases {
		spec.Contamination, spec.Iterations = 0.1, 1
		timed := spec
		spec.Memory = true
		c, err := openCell(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		// The timing-only cell shares the data and has no sampler of its own; c's sampler is
		// stopped around every run but c's, so only that run has one ticking.
		ct := &cell{spec: timed, X: c.X, labels: c.labels, base: c.base, res: &CellResult{}}
		c.close()
		bare := func() float64 {
			m, _ := newModel(spec.Algorithm, spec.Contamination, spec.Seed)
			t0 := time.Now()
			if _, err := m.Fit(ctx, c.X); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Score(ctx, c.X, nil); err != nil {
				t.Fatal(err)
			}
			return time.Since(t0).Seconds()
		}
		harness := func(c *cell) (measured, wall float64) {
			t0 := time.Now()
			m, err := c.iterate(ctx, false, false)
			if err != nil {
				t.Fatal(err)
			}
			return m.FitSeconds + m.ScoreSeconds, time.Since(t0).Seconds()
		}
		sampled := func() (measured, wall float64) {
			c.smp = sysstat.StartHeapSampler(SampleInterval, 0, nil)
			defer c.close()
			return harness(c)
		}
		bare()
		sampled()
		var aa, timing, full, wall, b []float64
		for r := 0; r < rounds; r++ {
			var tb, ta, tt, tf, tw float64
			for k := 0; k < 4; k++ {
				switch (r + k) % 4 {
				case 0:
					tb = bare()
				case 1:
					ta = bare()
				case 2:
					tt, _ = harness(ct)
				case 3:
					tf, tw = sampled()
				}
			}
			b = append(b, tb)
			aa, timing, full, wall = append(aa, ta/tb), append(timing, tt/tb), append(full, tf/tb), append(wall, tw/tb)
		}
		da, dt, df := stat.Median(aa)-1, stat.Median(timing)-1, stat.Median(full)-1
		t.Logf("%-20s %6d x %d: bare median %.4f s (%.4f..%.4f); bare again %+.2f %%; harness measures %+.2f %% (timing only), %+.2f %% (with memory sampling); harness wall %.3fx",
			spec.Algorithm.Name, spec.Rows, spec.Cols, stat.Median(b), slices.Min(b), slices.Max(b), 100*da, 100*dt, 100*df, stat.Median(wall))
		for _, d := range []float64{dt, df} {
			if d > 0.1 || d < -0.1 {
				t.Errorf("%s: the harness's measured time is %+.1f %% off a bare fit + score", spec.Algorithm.Name, 100*d)
			}
		}
	}
}

// TestSamplerCPU measures the heap sampler's own cost: the CPU time this otherwise idle
// process uses while the sampler ticks for a second, against a second without it. Detectors
// keep every core busy, so the sampler's CPU comes out of theirs: its share of one core bounds
// what it adds to a measured time.
func TestSamplerCPU(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation dominates the costs measured here")
	}
	idle := func(sample bool) time.Duration {
		var s *sysstat.HeapSampler
		if sample {
			s = sysstat.StartHeapSampler(SampleInterval, 0, nil)
		}
		c0 := sysstat.CPUTime()
		time.Sleep(time.Second)
		d := sysstat.CPUTime() - c0
		if s != nil {
			s.Close()
		}
		return d
	}
	without, with := idle(false), idle(true)
	share := (with - without).Seconds()
	t.Logf("one second idle: %v CPU without the sampler, %v with it: the sampler takes %.3f %% of a core", without, with, 100*share)
	if share > 0.02 {
		t.Errorf("the sampler takes %.2f %% of a core", 100*share)
	}
}

// BenchmarkHeapRead is one look of the heap sampler: a runtime/metrics read.
func BenchmarkHeapRead(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sysstat.HeapBytes()
	}
}

// BenchmarkSamplerIdle is a second of fit-like work with and without the sampler ticking.
func BenchmarkSamplerIdle(b *testing.B) {
	work := func() float64 {
		s := 0.0
		for i := 0; i < 1_000_000; i++ {
			s += float64(i) * 1e-9
		}
		return s
	}
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			work()
		}
	})
	b.Run("sampled", func(b *testing.B) {
		b.ReportAllocs()
		s := sysstat.StartHeapSampler(SampleInterval, 0, nil)
		defer s.Close()
		for b.Loop() {
			work()
		}
	})
}
