package report_test

import (
	"bytes"
	"context"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/report"
	"github.com/gonomaly/gonomaly/store"
)

// weekStore is a store holding a week of samples at the monitor's pace (one a minute: 10,080
// per series, 29 series), three alerts and one run of each kind.
func weekStore(tb testing.TB) (store.Store, report.Period) {
	tb.Helper()
	st := openStore(tb)
	p := report.Period{Since: day0, Until: day0.Add(7 * 24 * time.Hour)}
	seedStore(tb, st, p, time.Minute)
	return st, p
}

// A report over a week of stored data builds and renders as HTML in under 2 s, and the page
// stays under 2 MB.
func TestWeekReport(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a week of samples")
	}
	if raceEnabled {
		// Seeding the week takes over a minute under the race detector; scripts/test.sh runs
		// this test without it, where the time bound means something.
		t.Skip("seeds a week of samples: run without -race (scripts/test.sh does)")
	}
	st, p := weekStore(t)
	cpu0 := cpuTime()
	start := time.Now()
	r, err := report.Build(context.Background(), st, p)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := report.WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("a week: Build + WriteHTML %v (%v of CPU), %d bytes of HTML", took, cpuTime()-cpu0, b.Len())
	if r.Series[0].Samples != 7*24*60 || len(r.Series[0].Points) != report.MaxPoints {
		t.Errorf("p99 series: %d samples, %d points; want 10080 and %d", r.Series[0].Samples, len(r.Series[0].Points), report.MaxPoints)
	}
	if b.Len() >= 2<<20 {
		t.Errorf("the page is %d bytes, want under 2 MB", b.Len())
	}
	if !raceEnabled && took >= 2*time.Second {
		t.Errorf("Build + WriteHTML took %v, want under 2 s", took)
	}
}

// cpuTime is the CPU time the process has used (user and system), which a loaded machine
// inflates less than the wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWeekReport times Build and WriteHTML over a week of one-minute samples:
//
//	go test ./report -run '^$' -bench WeekReport -benchtime 5x
func BenchmarkWeekReport(b *testing.B) {
	st, p := weekStore(b)
	ctx := context.Background()
	var size int
	b.ResetTimer()
	for b.Loop() {
		r, err := report.Build(ctx, st, p)
		if err != nil {
			b.Fatal(err)
		}
		var w bytes.Buffer
		if err := report.WriteHTML(&w, r); err != nil {
			b.Fatal(err)
		}
		size = w.Len()
	}
	b.ReportMetric(float64(size), "html_bytes")
}

// BenchmarkWeekBuild times Build alone.
func BenchmarkWeekBuild(b *testing.B) {
	st, p := weekStore(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		r, err := report.Build(ctx, st, p)
		if err != nil {
			b.Fatal(err)
		}
		if err := report.WriteJSON(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}
