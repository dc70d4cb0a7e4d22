// Package progress carries a progress callback in a context, so that long steps anywhere in
// the module (a detector's fit, the neighbour index's queries, a stream's scoring) can report
// how far they are without a parameter on every function between the caller and them.
// detector.WithProgress and detector.ReportProgress are its public face.
package progress

import (
	"context"
	"sync/atomic"
	"time"
)

// Func receives the progress of a long step: phase names it ("fit", "score", "neighbours",
// ...), done and total count units of work, usually rows (total is 0 when not known, and may
// be an estimate that changes). It is called often, from one goroutine at a time per step,
// so it must return quickly.
type Func func(phase string, done, total int64)

type key struct{}

// With returns a context that carries fn.
func With(ctx context.Context, fn Func) context.Context {
	return context.WithValue(ctx, key{}, fn)
}

// Report passes progress to the Func of ctx, if any. Without one it costs a context lookup
// and nothing else: a loop reports once per chunk of work, not per row.
func Report(ctx context.Context, phase string, done, total int64) {
	if fn, _ := ctx.Value(key{}).(Func); fn != nil {
		fn(phase, done, total)
	}
}

// Enabled reports whether ctx carries a Func, for a step whose report costs something to
// compute.
func Enabled(ctx context.Context) bool {
	fn, _ := ctx.Value(key{}).(Func)
	return fn != nil
}

// Counter counts the work of a step done on many goroutines and reports it to ctx's Func
// from one goroutine of its own, every interval, while the step runs. Start returns nil when
// ctx carries no Func, and a nil Counter's methods do nothing: an unwatched step pays a nil
// check per Add.
type Counter struct {
	done  atomic.Int64
	stop  chan struct{}
	ended chan struct{}
}

// Interval is how often a Counter reports.
const Interval = 200 * time.Millisecond

// Start begins counting a step of total units (0 if not known) named phase.
func Start(ctx context.Context, phase string, total int64) *Counter {
	fn, _ := ctx.Value(key{}).(Func)
	if fn == nil {
		return nil
	}
	c := &Counter{stop: make(chan struct{}), ended: make(chan struct{})}
	fn(phase, 0, total)
	go func() {
		defer close(c.ended)
		t := time.NewTicker(Interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fn(phase, c.done.Load(), total)
			case <-c.stop:
				fn(phase, c.done.Load(), total)
				return
			}
		}
	}()
	return c
}

// Add counts n more units done; safe from any goroutine.
func (c *Counter) Add(n int64) {
	if c != nil {
		c.done.Add(n)
	}
}

// Stop makes the last report and ends the Counter's goroutine; call it once, when the step
// ends (also on error).
func (c *Counter) Stop() {
	if c != nil {
		close(c.stop)
		<-c.ended
	}
}
