package monitor

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/internal/sysstat"
	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The window keeps the last Window readings, oldest first; Latest is the newest.
func TestSamplerWindowIsBounded(t *testing.T) {
	s := StartSampler(SamplerOptions{Interval: 2 * time.Millisecond, Window: 10})
	defer s.Close()
	waitUntil(t, "the ring to fill and wrap", func() bool { return s.count() > 12 })
	w := s.Window(nil)
	if len(w) != 10 {
		t.Fatalf("window of %d readings, want 10", len(w))
	}
	for i := 1; i < len(w); i++ {
		if !w[i].Time.After(w[i-1].Time) {
			t.Fatalf("window out of order at %d: %v then %v", i, w[i-1].Time, w[i].Time)
		}
	}
	last, ok := s.Latest()
	if !ok || last.Time.Before(w[len(w)-1].Time) {
		t.Fatalf("Latest %v (ok %v), window ends %v", last.Time, ok, w[len(w)-1].Time)
	}
	if last.RSS <= 0 || last.Heap <= 0 || last.Goroutines <= 0 || last.MemTotal <= 0 {
		t.Fatalf("implausible reading %+v", last)
	}
}

// A goroutine that keeps a core busy shows in the CPU share.
func TestSamplerSeesCPU(t *testing.T) {
	s := StartSampler(SamplerOptions{Interval: 20 * time.Millisecond, Window: 100})
	defer s.Close()
	stop := time.Now().Add(400 * time.Millisecond)
	x := 0
	for time.Now().Before(stop) {
		x++
	}
	_ = x
	peak := 0.0
	for _, r := range s.Window(nil) {
		peak = max(peak, r.CPUPercent)
	}
	if peak < 50 {
		t.Fatalf("a busy core read as at most %.0f %% CPU", peak)
	}
}

// The means of the readings reach the store every PersistEvery, and those not yet written
// are written by Close.
func TestSamplerPersists(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "m.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := StartSampler(SamplerOptions{Interval: 5 * time.Millisecond, PersistEvery: 50 * time.Millisecond, Store: st, Labels: map[string]string{"instance": "a"}})
	count := func(name string) int {
		got, err := st.QuerySamples(ctx, store.SampleQuery{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	waitUntil(t, "two writes to the store", func() bool { return count("process_rss_bytes") >= 2 })
	before := count("process_rss_bytes")
	s.Close()
	if after := count("process_rss_bytes"); after < before {
		t.Fatalf("samples went from %d to %d", before, after)
	}
	got, _ := st.QuerySamples(ctx, store.SampleQuery{Name: "process_rss_bytes", Labels: map[string]string{"instance": "a"}})
	if len(got) == 0 || got[0].Value <= 0 {
		t.Fatalf("rss samples %+v", got)
	}
	for _, name := range metricNames {
		if count(name) == 0 {
			t.Errorf("no samples of %s", name)
		}
	}
}

// The sampler's own cost: CPU time per reading, as a share of one core at the default 1 s
// interval (the bound is 1 %). BENCHMARKS.md quotes the logged figure.
func TestSamplerCost(t *testing.T) {
	if testing.Short() {
		t.Skip("measures CPU time")
	}
	const readings = 200
	s := StartSampler(SamplerOptions{Interval: time.Millisecond, Window: 16})
	defer s.Close()
	time.Sleep(20 * time.Millisecond)
	cpu0, n0 := sysstat.CPUTime(), s.count()
	waitUntil(t, "readings", func() bool { return s.count()-n0 >= readings })
	cpu, n := sysstat.CPUTime()-cpu0, s.count()-n0
	perReading := cpu / time.Duration(n)
	share := 100 * float64(perReading) / float64(time.Second)
	t.Logf("%v CPU per reading (%d readings): %.3f %% of one core at a 1 s interval", perReading, n, share)
	if share > 1 {
		t.Fatalf("the sampler would take %.2f %% of a core at 1 s", share)
	}
}
