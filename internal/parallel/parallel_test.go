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
	var calls atomic.Int32
	err := For(ctx, 1000, 1, 2, func(w, lo, hi int) {
		if calls.Add(1) == 3 {
			cancel()
		}
	})
	if err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if calls.Load() > 10 {
		t.Fatalf("%d chunks ran after cancel", calls.Load())
	}
}
