package optimize

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/gonomaly/gonomaly/internal/parallel"
)

// MapOptions tune Map. The zero value gives the defaults.
type MapOptions struct {
	// Workers is how many goroutines run fn (default GOMAXPROCS; never more than there are
	// chunks).
	Workers int
	// Chunk is how many items a worker takes at a time (default: the length split into
	// about 8 chunks per worker, so that uneven items balance, at most MaxDefaultChunk).
	Chunk int
	// Guard, when set, is waited on before each chunk: while memory is over its limit, no
	// new chunk starts.
	Guard *MemoryGuard
}

// MaxDefaultChunk caps the default chunk size of Map.
const MaxDefaultChunk = 4096

// chunksPerWorker is how many chunks the default chunk size gives each worker: one chunk
// each would leave the other workers idle behind a slow one; many cost a shared counter
// increment each.
const chunksPerWorker = 8

func (o MapOptions) chunk(n, workers int) int {
	if o.Chunk > 0 {
		return o.Chunk
	}
	c := (n + workers*chunksPerWorker - 1) / (workers * chunksPerWorker)
	return max(1, min(c, MaxDefaultChunk))
}

// Map calls fn on every item of in on opts.Workers goroutines, a chunk of items at a time,
// and returns the results in the order of in. It returns when every goroutine it started has
// returned.
//
// The first error of fn (or a panic in fn, returned as an error wrapping a
// *parallel.PanicError that carries its stack) stops the rest: no new chunk or item starts,
// the context fn receives is cancelled, and Map returns that error, naming the item. When
// ctx ends first, no new chunk starts and Map returns ctx's error. Either way the results are
// nil.
func Map[T, R any](ctx context.Context, in []T, fn func(ctx context.Context, v T) (R, error), opts MapOptions) ([]R, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return []R{}, nil
	}
	out := make([]R, len(in))
	if err := MapInto(ctx, out, in, fn, opts); err != nil {
		return nil, err
	}
	return out, nil
}

// MapInto is Map writing into dst, which must be as long as in (a caller that maps again and
// again reuses it). On error dst holds the results of the items that completed.
func MapInto[T, R any](ctx context.Context, dst []R, in []T, fn func(ctx context.Context, v T) (R, error), opts MapOptions) error {
	if len(dst) != len(in) {
		return fmt.Errorf("optimize: MapInto: dst has %d items, in has %d", len(dst), len(in))
	}
	n := len(in)
	if n == 0 {
		return ctx.Err()
	}
	workers := parallel.Workers(opts.Workers, n)
	grain := opts.chunk(n, workers)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		stop  atomic.Bool
		first atomic.Pointer[error]
	)
	fail := func(err error) {
		if first.CompareAndSwap(nil, &err) {
			stop.Store(true)
			cancel()
		}
	}
	err := parallel.For(wctx, n, grain, workers, func(_, lo, hi int) {
		i := lo
		// Recovered here rather than by For, so that the error names the item and the
		// other workers stop at their next item, with their context cancelled.
		defer func() {
			if v := recover(); v != nil {
				fail(fmt.Errorf("optimize: map item %d: %w", i, parallel.Recovered(v)))
			}
		}()
		if opts.Guard != nil {
			if err := opts.Guard.Wait(wctx); err != nil {
				return // wctx is done: For stops handing out chunks
			}
		}
		for ; i < hi; i++ {
			if stop.Load() {
				return
			}
			r, err := fn(wctx, in[i])
			if err != nil {
				fail(fmt.Errorf("optimize: map item %d: %w", i, err))
				return
			}
			dst[i] = r
		}
	})
	if p := first.Load(); p != nil {
		return *p
	}
	if err != nil && ctx.Err() == nil {
		return err
	}
	return ctx.Err()
}
