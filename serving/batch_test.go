package serving_test

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/cache"
	"github.com/gonomaly/gonomaly/optimize"
	"github.com/gonomaly/gonomaly/serving"
	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

// batchEnv is a Service whose batches are watched: largest is the most rows seen in one batch
// since the last reset.
func batchEnv(t *testing.T, opts optimize.BatchOptions) (*serving.Service, store.Store, *atomic.Int64) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(ctx, cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	largest := new(atomic.Int64)
	s := serving.New(st, c, serving.Options{Batch: opts, OnScore: func(_ string, rows int, _ time.Duration) {
		for {
			cur := largest.Load()
			if int64(rows) <= cur || largest.CompareAndSwap(cur, int64(rows)) {
				return
			}
		}
	}})
	t.Cleanup(func() { s.Close(); c.Close(); st.Close() })
	return s, st, largest
}

// waitGoroutines polls until at most n goroutines run (the batchers' workers stop after
// their Close returns, the scheduler may take a moment to reap them).
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, want at most %d: a batcher's workers outlived it", runtime.NumGoroutine(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// SetBatch under a stream of concurrent single-row predictions: every prediction succeeds with
// its row's score (none failed, none lost), the new settings take effect (batches of one row
// under MaxBatch 1, larger batches once MaxBatch and MaxWait allow), and the replaced
// batchers' workers stop.
func TestSetBatchUnderConcurrentPredictions(t *testing.T) {
	ctx := context.Background()
	s, st, largest := batchEnv(t, optimize.BatchOptions{MaxBatch: 1, Workers: 1})
	d, m := newDetector(t, st, "hbos")
	if _, err := s.Fit(ctx, d, m, data(500, 4, 11)); err != nil {
		t.Fatal(err)
	}
	l, err := s.Live(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	Q := data(32, 4, 12)
	want, _ := m.Score(ctx, Q, nil)
	base := runtime.NumGoroutine()

	var (
		stop   atomic.Bool
		done   atomic.Int64
		wg     sync.WaitGroup
		failed atomic.Int64
	)
	for g := range 16 {
		wg.Go(func() {
			for i := g; !stop.Load(); i++ {
				row := i % Q.Rows
				got, err := l.Score(ctx, Q.Slice(row, row+1))
				if err != nil || got[0] != want[row] {
					if failed.Add(1) == 1 {
						t.Errorf("row %d during SetBatch: %v, %v; want %v", row, got, err, want[row])
					}
					return
				}
				done.Add(1)
			}
		})
	}
	settings := []optimize.BatchOptions{
		{MaxBatch: 64, MaxWait: time.Millisecond, Workers: 2},
		{MaxBatch: 1, Workers: 1},
		{MaxBatch: 8, Workers: 4},
		{},
	}
	for i := range 40 {
		if err := s.SetBatch(settings[i%len(settings)]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}

	// MaxBatch 1: no batch holds more than one row.
	if err := s.SetBatch(optimize.BatchOptions{MaxBatch: 1, Workers: 1}); err != nil {
		t.Fatal(err)
	}
	largest.Store(0)
	for n := done.Load(); done.Load() < n+200; {
		time.Sleep(5 * time.Millisecond)
	}
	if got := largest.Load(); got != 1 {
		t.Errorf("largest batch under MaxBatch 1: %d rows", got)
	}
	// One worker that waits for more rows: the 16 callers' rows share batches.
	if err := s.SetBatch(optimize.BatchOptions{MaxBatch: 64, MaxWait: 20 * time.Millisecond, Workers: 1}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for largest.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if got := largest.Load(); got < 2 || got > 64 {
		t.Errorf("largest batch under MaxBatch 64 and a 20 ms wait: %d rows, want 2 to 64", got)
	}
	if failed.Load() > 0 || done.Load() == 0 {
		t.Fatalf("%d predictions failed, %d succeeded", failed.Load(), done.Load())
	}
	if got := s.Batch(); got.MaxBatch != 64 || got.MaxWait != 20*time.Millisecond || got.Workers != 1 || got.Queue != 64*64 {
		t.Errorf("Batch() = %+v", got)
	}
	waitGoroutines(t, base)
}

// Settings out of bounds are refused and change nothing; zero fields are the defaults.
func TestSetBatchValidates(t *testing.T) {
	s, _, _ := batchEnv(t, optimize.BatchOptions{MaxBatch: 32})
	for _, o := range []optimize.BatchOptions{
		{MaxBatch: -1},
		{MaxBatch: serving.MaxBatchRows + 1},
		{MaxWait: -time.Millisecond},
		{MaxWait: serving.MaxBatchWait + 1},
		{Workers: -2},
		{Workers: serving.MaxBatchWorkers + 1},
		{Queue: -1},
	} {
		if err := s.SetBatch(o); !errors.Is(err, serving.ErrBatchOptions) {
			t.Errorf("SetBatch(%+v) = %v, want ErrBatchOptions", o, err)
		}
	}
	if got := s.Batch(); got.MaxBatch != 32 || got.MaxWait != 0 || got.Workers != runtime.GOMAXPROCS(0) || got.Queue != 64*32 {
		t.Errorf("after refused settings: %+v", got)
	}
	if err := s.SetBatch(optimize.BatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := s.Batch(); got.MaxBatch != 256 {
		t.Errorf("defaults: %+v", got)
	}
}

// A detector first served after SetBatch gets the new settings.
func TestSetBatchAppliesToNewModels(t *testing.T) {
	ctx := context.Background()
	s, st, largest := batchEnv(t, optimize.BatchOptions{})
	if err := s.SetBatch(optimize.BatchOptions{MaxBatch: 1, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	d, m := newDetector(t, st, "hbos")
	if _, err := s.Fit(ctx, d, m, data(300, 3, 13)); err != nil {
		t.Fatal(err)
	}
	l, err := s.Live(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	Q := data(1, 3, 14)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, err := l.Score(ctx, Q); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := largest.Load(); got != 1 {
		t.Errorf("largest batch of a model served after SetBatch(MaxBatch 1): %d", got)
	}
}

// BenchmarkScoreSingleRow is the micro-batched request path (one atomic load of the batcher
// per prediction since SetBatch), from GOMAXPROCS callers at once.
func BenchmarkScoreSingleRow(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "s.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	c, _ := cache.New(ctx, cache.Options{})
	defer c.Close()
	s := serving.New(st, c, serving.Options{})
	defer s.Close()
	d, m := newDetector(b, st, "hbos")
	if _, err := s.Fit(ctx, d, m, data(1000, 8, 21)); err != nil {
		b.Fatal(err)
	}
	l, err := s.Live(ctx, d.ID)
	if err != nil {
		b.Fatal(err)
	}
	Q := data(1, 8, 22)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Score(ctx, Q); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
