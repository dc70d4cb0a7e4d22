package optimize

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/internal/parallel"
)

func TestMapResultsInInputOrder(t *testing.T) {
	checkNoLeak(t)
	square := func(_ context.Context, v int) (int, error) { return v * v, nil }
	for _, tc := range []struct {
		name string
		n    int
		opts MapOptions
	}{
		{"empty", 0, MapOptions{}},
		{"one", 1, MapOptions{}},
		{"defaults", 10007, MapOptions{}},
		{"one worker", 1000, MapOptions{Workers: 1}},
		{"many workers, chunk 1", 999, MapOptions{Workers: 7, Chunk: 1}},
		{"chunk larger than input", 100, MapOptions{Workers: 3, Chunk: 1000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := make([]int, tc.n)
			for i := range in {
				in[i] = i - tc.n/2
			}
			out, err := Map(context.Background(), in, square, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != tc.n {
				t.Fatalf("%d results for %d items", len(out), tc.n)
			}
			for i, v := range in {
				if out[i] != v*v {
					t.Fatalf("out[%d] = %d, want %d", i, out[i], v*v)
				}
			}
		})
	}
}

func TestMapDefaultChunk(t *testing.T) {
	for _, tc := range []struct{ n, workers, want int }{
		{1, 1, 1}, {16, 2, 1}, {1600, 2, 100}, {10_000_000, 2, MaxDefaultChunk},
	} {
		if got := (MapOptions{}).chunk(tc.n, tc.workers); got != tc.want {
			t.Errorf("chunk(%d, %d) = %d, want %d", tc.n, tc.workers, got, tc.want)
		}
	}
}

func TestMapFirstErrorStopsTheRest(t *testing.T) {
	checkNoLeak(t)
	var calls, sawCancel atomic.Int64
	fn := func(ctx context.Context, v int) (int, error) {
		calls.Add(1)
		if v == 10 {
			return 0, errBoom
		}
		if v > 10 {
			// The later items wait for the cancellation the error causes, or give up.
			select {
			case <-ctx.Done():
				sawCancel.Add(1)
				return 0, ctx.Err()
			case <-time.After(10 * time.Second):
			}
		}
		return v, nil
	}
	in := make([]int, 10000)
	for i := range in {
		in[i] = i
	}
	out, err := Map(context.Background(), in, fn, MapOptions{Workers: 4, Chunk: 4})
	if !errors.Is(err, errBoom) || !strings.Contains(err.Error(), "item 10") {
		t.Fatalf("got %v, want boom naming item 10", err)
	}
	if out != nil {
		t.Error("results with an error")
	}
	if n := calls.Load(); n > 100 {
		t.Errorf("%d of 10000 items ran after the first error", n)
	}
}

func TestMapPanicIsAnError(t *testing.T) {
	checkNoLeak(t)
	fn := func(_ context.Context, v int) (int, error) {
		if v == 77 {
			panic("bad item")
		}
		return v, nil
	}
	in := make([]int, 1000)
	for i := range in {
		in[i] = i
	}
	for _, workers := range []int{1, 3} {
		_, err := Map(context.Background(), in, fn, MapOptions{Workers: workers, Chunk: 10})
		if _, ok := errors.AsType[*parallel.PanicError](err); !ok || !strings.Contains(err.Error(), "item 77") {
			t.Errorf("workers %d: got %v, want a PanicError naming item 77", workers, err)
		}
	}
}

func TestMapCancellation(t *testing.T) {
	checkNoLeak(t)
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	fn := func(_ context.Context, v int) (int, error) {
		if calls.Add(1) == 50 {
			cancel()
		}
		return v, nil
	}
	in := make([]int, 100000)
	_, err := Map(ctx, in, fn, MapOptions{Workers: 2, Chunk: 10})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if n := calls.Load(); n > 1000 {
		t.Errorf("%d items ran after the cancellation at item 50", n)
	}
	if _, err := Map(ctx, in, fn, MapOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("a done context: %v", err)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer dcancel()
	slow := func(ctx context.Context, v int) (int, error) { time.Sleep(time.Millisecond); return v, nil }
	if _, err := Map(dctx, in, slow, MapOptions{Workers: 2, Chunk: 1}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a deadline: got %v, want context.DeadlineExceeded", err)
	}
}

func TestMapIntoLengthMismatch(t *testing.T) {
	id := func(_ context.Context, v int) (int, error) { return v, nil }
	if err := MapInto(context.Background(), make([]int, 2), []int{1, 2, 3}, id, MapOptions{}); err == nil {
		t.Error("no error for dst shorter than in")
	}
}

// A guard over its limit holds new chunks back until memory is under it again.
func TestMapWaitsOnTheGuard(t *testing.T) {
	checkNoLeak(t)
	var heap atomic.Int64
	heap.Store(200)
	g, err := NewMemoryGuard(GuardOptions{HeapBytes: 100, Poll: time.Millisecond, Probe: func() Reading { return Reading{Heap: heap.Load()} }})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var calls atomic.Int64
	done := make(chan error, 1)
	go func() {
		_, err := Map(context.Background(), make([]int, 100), func(_ context.Context, v int) (int, error) { calls.Add(1); return v, nil }, MapOptions{Guard: g})
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for g.Stats().Waits == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("%d items ran while memory was over the limit", n)
	}
	heap.Store(50)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Map did not go on once memory was under the limit")
	}
	if n := calls.Load(); n != 100 {
		t.Errorf("%d items ran, want 100", n)
	}
}
