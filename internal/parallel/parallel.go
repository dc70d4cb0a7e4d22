// Package parallel runs index ranges across goroutines, the one place gonomaly's detectors
// fan work out to every core.
package parallel

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// Workers returns the number of goroutines to use for work of n items when want is
// the caller's request (0 or less means GOMAXPROCS).
func Workers(want, n int) int {
	if want <= 0 {
		want = runtime.GOMAXPROCS(0)
	}
	if want > n {
		want = n
	}
	if want < 1 {
		want = 1
	}
	return want
}

// For calls fn(lo, hi) over [0, n) in chunks of at most grain items, spread over workers
// goroutines (0 = GOMAXPROCS). Chunks are handed out dynamically, so uneven work balances.
// fn receives the worker index w in [0, workers) so it can use per-worker scratch space.
// For stops handing out chunks once ctx is done and returns ctx.Err().
// Results must not depend on which worker ran a chunk.
func For(ctx context.Context, n, grain, workers int, fn func(w, lo, hi int)) error {
	if n <= 0 {
		return ctx.Err()
	}
	if grain < 1 {
		grain = 1
	}
	chunks := (n + grain - 1) / grain
	workers = Workers(workers, chunks)
	if workers == 1 {
		for lo := 0; lo < n; lo += grain {
			if err := ctx.Err(); err != nil {
				return err
			}
			fn(0, lo, min(lo+grain, n))
		}
		return ctx.Err()
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			defer wg.Done()
			for ctx.Err() == nil {
				c := int(next.Add(1) - 1)
				if c >= chunks {
					return
				}
				lo := c * grain
				fn(w, lo, min(lo+grain, n))
			}
		}(w)
	}
	wg.Wait()
	return ctx.Err()
}
