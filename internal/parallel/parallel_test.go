package parallel

import (
	"context"
	"sync/atomic"
	"testing"
)

func TestForCoversEveryIndexOnce(t *testing.T) {
	for _, tc := range []struct{ n, grain, workers int }{
		{0, 1, 2}, {1, 1, 4}, {10, 3, 2}, {1000, 7, 3}, {1000, 1000, 8}, {5, 100, 0},
	} {
		seen := make([]int32, tc.n)
		err := For(context.Background(), tc.n, tc.grain, tc.workers, func(w, lo, hi int) {
			for i := lo; i < hi; i++ {
				atomic.AddInt32(&seen[i], 1)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d grain=%d: index %d visited %d times", tc.n, tc.grain, i, c)
			}
		}
	}
}

func TestForStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls, late atomic.Int32
	var cancelled atomic.Bool
	const workers = 2
	err := For(ctx, 1000, 1, workers, func(w, lo, hi int) {
		if cancelled.Load() {
			late.Add(1)
		}
		if calls.Add(1) == 3 {
			cancel()
			cancelled.Store(true)
		}
	})
	if err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// Once cancel has returned, a worker may finish only the chunk it had already claimed
	// (it checked the context just before): at most one per worker. Counting from the
	// return of cancel, not from the start, keeps the check independent of how long cancel
	// itself takes on a loaded machine (under -race, other workers run many chunks meanwhile).
	if late.Load() > workers {
		t.Fatalf("%d chunks started after cancel returned, want at most %d", late.Load(), workers)
	}
}
