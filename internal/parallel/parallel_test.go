package parallel

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
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

func TestForReturnsWorkerPanic(t *testing.T) {
	for _, workers := range []int{1, 2, 4} {
		var after atomic.Int32
		var panicked atomic.Bool
		err := For(context.Background(), 1000, 1, workers, func(w, lo, hi int) {
			if panicked.Load() {
				after.Add(1)
			}
			if lo == 10 {
				panicked.Store(true)
				panic("boom")
			}
		})
		var p *PanicError
		if !errors.As(err, &p) {
			t.Fatalf("workers=%d: err = %v, want a *PanicError", workers, err)
		}
		if p.Value != "boom" || !strings.Contains(string(p.Stack), "parallel_test.go") {
			t.Fatalf("workers=%d: value %v, stack:\n%s", workers, p.Value, p.Stack)
		}
		// The other workers stop taking chunks soon after the panic: each finishes the one it
		// had claimed, and may claim a few more while the panic unwinds (more under -race on
		// a loaded machine).
		if after.Load() > int32(20*workers) {
			t.Errorf("workers=%d: %d chunks ran after the panic", workers, after.Load())
		}
	}
}

func TestForPanicUnwrapsRuntimeError(t *testing.T) {
	err := For(context.Background(), 100, 10, 2, func(w, lo, hi int) {
		var s []int
		_ = s[lo+hi] // index out of range
	})
	var re runtime.Error
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want one wrapping a runtime.Error", err)
	}
}

func TestGoAndRepanic(t *testing.T) {
	wait := Go(func() { panic(errors.New("inner")) })
	err := wait()
	var p *PanicError
	if !errors.As(err, &p) || err.(*PanicError).Unwrap().Error() != "inner" {
		t.Fatalf("Go: err = %v", err)
	}
	if wait := Go(func() {}); wait() != nil {
		t.Fatal("Go without a panic returned an error")
	}
	// Repanic raises it in the caller, where a recover sees the worker's PanicError.
	func() {
		defer func() {
			if v := recover(); v != p {
				t.Fatalf("recovered %v, want the worker's *PanicError", v)
			}
		}()
		Repanic(fmt.Errorf("wrapped: %w", err))
		t.Fatal("Repanic returned")
	}()
	if e := errors.New("plain"); Repanic(e) != e {
		t.Fatal("Repanic changed a plain error")
	}
}
