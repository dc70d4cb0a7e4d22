// Package parallel runs index ranges across goroutines, the one place gonomaly's detectors
// fan work out to every core.
//
// A panic in a goroutine that nobody recovers ends the process, and the caller of the function
// that started the goroutine cannot recover it. So every goroutine started here (and Go, for
// the few places that start their own) recovers a panic and hands it to the caller: For
// returns it as an error wrapping a *PanicError, which carries the value and the stack of the
// goroutine that panicked.
package parallel

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// PanicError is a panic recovered in a worker goroutine, handed to the goroutine that waited
// for it. Error gives the value and the stack, for logs; callers that show errors to users
// should show something less.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the stack of the goroutine that panicked, at the panic
}

func (p *PanicError) Error() string {
	return fmt.Sprintf("panic: %v\n\n%s", p.Value, p.Stack)
}

// Unwrap returns the panic value when it is an error (a runtime error such as an index out
// of range, or a panic(err)), so errors.Is and errors.As see it.
func (p *PanicError) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// Recovered turns the value of recover() into a *PanicError with the current goroutine's
// stack (call it in the deferred function that recovered). A value that is or wraps a
// *PanicError (a worker's panic raised again, as Repanic does) gives that *PanicError, which
// keeps the worker's stack.
func Recovered(v any) *PanicError {
	if err, ok := v.(error); ok {
		if p, ok := errors.AsType[*PanicError](err); ok {
			return p
		}
	}
	return &PanicError{Value: v, Stack: debug.Stack()}
}

// Repanic raises err again in the calling goroutine if it wraps a *PanicError, so that a
// worker's panic reaches a caller that has no error to return; the caller's own recover (or
// Model.Fit's) then sees it. Other errors are returned.
func Repanic(err error) error {
	if p, ok := errors.AsType[*PanicError](err); ok {
		panic(p)
	}
	return err
}

// Go runs fn on a new goroutine and returns a function that waits for it and returns the
// *PanicError it recovered, or nil.
func Go(fn func()) (wait func() error) {
	done := make(chan *PanicError, 1)
	go func() {
		var p *PanicError
		defer func() { done <- p }()
		defer func() {
			if v := recover(); v != nil {
				p = Recovered(v)
			}
		}()
		fn()
	}()
	return func() error {
		if p := <-done; p != nil {
			return p
		}
		return nil
	}
}

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
//
// A panic in fn, on any worker (or on the calling goroutine when one worker is enough), stops
// the handing out of chunks and is returned, once every worker has finished, as an error
// wrapping a *PanicError; if several workers panic, the first one recovered is returned.
func For(ctx context.Context, n, grain, workers int, fn func(w, lo, hi int)) (err error) {
	if n <= 0 {
		return ctx.Err()
	}
	if grain < 1 {
		grain = 1
	}
	chunks := (n + grain - 1) / grain
	workers = Workers(workers, chunks)
	if workers == 1 {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("parallel: %w", Recovered(v))
			}
		}()
		for lo := 0; lo < n; lo += grain {
			if err := ctx.Err(); err != nil {
				return err
			}
			fn(0, lo, min(lo+grain, n))
		}
		return ctx.Err()
	}
	// One shared value, so that the workers' closures cost one allocation per call; stop,
	// read before every chunk, is kept off the cache line of next, written for every chunk.
	// stop is set as soon as a worker recovers a panic, before the slow capture of its stack.
	var st struct {
		next   atomic.Int64
		_      [56]byte
		stop   atomic.Bool
		failed atomic.Pointer[PanicError]
		wg     sync.WaitGroup
	}
	next, stop, failed, wg := &st.next, &st.stop, &st.failed, &st.wg
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			defer wg.Done()
			defer func() {
				if v := recover(); v != nil {
					stop.Store(true)
					failed.CompareAndSwap(nil, Recovered(v))
				}
			}()
			for ctx.Err() == nil && !stop.Load() {
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
	if p := failed.Load(); p != nil {
		return fmt.Errorf("parallel: %w", p)
	}
	return ctx.Err()
}
