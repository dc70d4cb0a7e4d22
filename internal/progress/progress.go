// Package progress carries a progress callback in a context, so that long steps anywhere in
// the module (a detector's fit, the neighbour index's queries, a stream's scoring) can report
// how far they are without a parameter on every function between the caller and them.
// detector.WithProgress and detector.ReportProgress are its public face.
package progress

import "context"

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
