package loadtest

import (
	"context"
	"time"
)

// A pacer waits out the time until the open model's next request is due. Go's own timers
// cannot wake an idle process sooner than a millisecond on Linux (the runtime's network poller
// sleeps in whole milliseconds), which at a few thousand requests a second sends requests in
// bursts of several at once; pace_linux.go waits on a timerfd through the poller instead,
// which the kernel wakes to the microsecond.
type pacer interface {
	// wait blocks for d or until the pacer's context ends (false).
	wait(d time.Duration) bool
	close()
}

// newPacer is the pacer o asks for.
func newPacer(ctx context.Context, p Pacing) pacer {
	if p == PacePrecise {
		if fp := newPrecisePacer(ctx); fp != nil {
			return fp
		}
	}
	return newTimerPacer(ctx)
}

// timerPacer waits with a Go timer: PaceTimer, or where a timerfd is not available.
type timerPacer struct {
	ctx   context.Context
	timer *time.Timer
}

func newTimerPacer(ctx context.Context) *timerPacer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &timerPacer{ctx: ctx, timer: t}
}

func (p *timerPacer) wait(d time.Duration) bool {
	p.timer.Reset(d)
	select {
	case <-p.ctx.Done():
		p.timer.Stop()
		return false
	case <-p.timer.C:
		return true
	}
}

func (p *timerPacer) close() { p.timer.Stop() }
