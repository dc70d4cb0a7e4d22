package progress

import (
	"context"
	"sync"
	"testing"
)

func TestReport(t *testing.T) {
	var got []int64
	ctx := With(context.Background(), func(phase string, done, total int64) {
		if phase != "fit" || total != 10 {
			t.Errorf("phase %q total %d", phase, total)
		}
		got = append(got, done)
	})
	for i := range int64(3) {
		Report(ctx, "fit", i*5, 10)
	}
	if len(got) != 3 || got[2] != 10 || !Enabled(ctx) {
		t.Fatalf("reports %v", got)
	}
	Report(context.Background(), "fit", 1, 2) // no Func: nothing happens
	if Enabled(context.Background()) {
		t.Fatal("Enabled without a Func")
	}
}

// Reporting without a Func costs no allocation.
func BenchmarkReportUnused(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for i := range b.N {
		Report(ctx, "fit", int64(i), 100)
	}
}

// A Counter fed from many goroutines reports from one, ends with the full count, and leaves
// no goroutine behind; without a Func it is nil and costs nothing.
func TestCounter(t *testing.T) {
	var mu sync.Mutex
	var last int64
	calls := 0
	ctx := With(context.Background(), func(phase string, done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		last = done
	})
	c := Start(ctx, "neighbours", 4000)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				c.Add(1)
			}
		}()
	}
	wg.Wait()
	c.Stop()
	if last != 4000 || calls < 2 {
		t.Fatalf("last report %d after %d calls, want 4000 after at least 2", last, calls)
	}
	if c := Start(context.Background(), "x", 1); c != nil {
		t.Fatal("a Counter without a Func")
	}
	var none *Counter
	none.Add(1)
	none.Stop()
}
