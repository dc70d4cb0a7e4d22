package loadtest

import (
	"context"
	"testing"
	"time"
)

// A pacer's wait never ends early, and ends at once when its context does.
func TestPacerWaits(t *testing.T) {
	for _, p := range []Pacing{PacePrecise, PaceTimer} {
		t.Run(p.String(), func(t *testing.T) {
			checkLeaks(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pc := newPacer(ctx, p)
			defer pc.close()
			for _, d := range []time.Duration{0, -time.Millisecond, 50 * time.Microsecond, 300 * time.Microsecond, 3 * time.Millisecond} {
				start := time.Now()
				if !pc.wait(d) {
					t.Fatalf("wait(%v) = false with a live context", d)
				}
				if took := time.Since(start); took < d {
					t.Errorf("wait(%v) returned after %v: early", d, took)
				}
			}
			time.AfterFunc(50*time.Millisecond, cancel)
			start := time.Now()
			if pc.wait(time.Hour) {
				t.Errorf("wait(1h) = true after the context ended")
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("wait(1h) took %v to notice the context ended", took)
			}
		})
	}
}

// On Linux the precise pacer is a timerfd one.
func TestPrecisePacerIsAKernelTimer(t *testing.T) {
	pc := newPacer(context.Background(), PacePrecise)
	defer pc.close()
	if _, ok := pc.(*timerPacer); ok && hasTimerfd {
		t.Fatalf("PacePrecise gave a Go timer pacer on a system with timerfd")
	}
}

func TestParsePacing(t *testing.T) {
	for _, p := range []Pacing{PacePrecise, PaceTimer} {
		if q, err := ParsePacing(p.String()); err != nil || q != p {
			t.Errorf("ParsePacing(%q) = %v, %v", p.String(), q, err)
		}
	}
	if _, err := ParsePacing("fast"); err == nil {
		t.Errorf("ParsePacing(fast): no error")
	}
}
