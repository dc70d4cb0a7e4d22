package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/gonomaly/gonomaly/bench"
)

// progress is the one progress renderer of the CLI: a single line on stderr, redrawn in
// place, saying what step a long command is on (reading, fitting, scoring, benchmark cells),
// how far it is (rows or cells done, of how many), how fast and when it should end. It draws
// only when its writer is a terminal and no machine-readable output was asked for; otherwise
// every method does nothing. Its methods are safe for concurrent use.
//
// Counts come from detector.ProgressFunc (report, given to the detectors through
// detector.WithProgress) and from bench.Reporter (Report).
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	on    bool
	now   func() time.Time
	every time.Duration // least time between two redraws of a count
	tick  time.Duration // redraw of a step's elapsed time without counts; 0: none

	label       string // what is drawn: the step, and the phase when it is not the step's own
	base        string // the step, e.g. "reading big.csv"
	phase       string // the phase of detector reports that the step already says
	unit        string
	detail      string // after the counts: the benchmark cell running
	start, last time.Time
	drawn       bool
	done, total int64
	stop        chan struct{} // closed to end the ticker of the step
	ticker      sync.WaitGroup
}

// terminal is implemented by writers that know whether they are a terminal (tests fake one).
type terminal interface{ IsTerminal() bool }

// isTerminal reports whether w is a terminal: a terminal *os.File, or a writer saying so.
func isTerminal(w io.Writer) bool {
	switch t := w.(type) {
	case terminal:
		return t.IsTerminal()
	case *os.File:
		return term.IsTerminal(int(t.Fd()))
	}
	return false
}

// newProgress returns a renderer on w, drawing only when w is a terminal and quiet is false.
func newProgress(w io.Writer, quiet bool) *progress {
	return &progress{w: w, on: !quiet && isTerminal(w), now: time.Now, every: 100 * time.Millisecond, tick: time.Second}
}

// step starts a step: the line shows label (formatted), then the counts of the detector's
// reports of phase (in unit) and the time taken; until counts arrive the elapsed time is
// redrawn every second, so a long fit shows it is alive.
func (p *progress) step(phase, unit, format string, args ...any) {
	if !p.on {
		return
	}
	p.stopTicker()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.label, p.phase, p.unit, p.detail = fmt.Sprintf(format, args...), phase, unit, ""
	p.base = p.label
	p.start = p.now()
	p.done, p.total = -1, 0
	p.draw()
	if p.tick > 0 {
		stop := make(chan struct{})
		p.stop = stop
		p.ticker.Add(1)
		go func() {
			defer p.ticker.Done()
			t := time.NewTicker(p.tick)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					p.mu.Lock()
					if p.done < 0 {
						p.draw()
					}
					p.mu.Unlock()
				}
			}
		}()
	}
}

// report is a detector.ProgressFunc: done of total (0: unknown) rows of phase.
func (p *progress) report(phase string, done, total int64) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.phase == "" || phase == p.phase:
		p.label = p.base
	default:
		p.label = p.base + " (" + phase + ")"
	}
	first := p.done < 0
	p.done, p.total = done, total
	if first || p.now().Sub(p.last) >= p.every || (total > 0 && done >= total) {
		p.draw()
	}
}

// Report implements bench.Reporter: cells done of all, with the cell running.
func (p *progress) Report(b bench.Progress) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.start.IsZero() {
		p.start = p.now().Add(-b.Elapsed)
	}
	p.detail = b.Current
	p.done, p.total = int64(b.Done), int64(b.Total)
	p.draw()
}

// draw writes the line: label: done of total unit (pct), rate unit/s, ETA; or label and
// the elapsed time before any count. It holds p.mu.
func (p *progress) draw() {
	now := p.now()
	p.last, p.drawn = now, true
	el := now.Sub(p.start)
	line := "\r\033[K" + p.label
	if p.done < 0 {
		fmt.Fprintf(p.w, "%s … %s", line, roundDur(el))
		return
	}
	if p.label != "" {
		line += ": "
	}
	line += group(p.done)
	if p.total > 0 {
		line += " of " + group(p.total)
	}
	line += " " + p.unit
	if p.total > 0 {
		line += fmt.Sprintf(" (%d%%)", min(100, 100*p.done/p.total))
	}
	if s := el.Seconds(); s > 0 && p.done > 0 {
		rate := float64(p.done) / s
		line += ", " + group(int64(rate+0.5)) + " " + p.unit + "/s"
		if p.total > p.done {
			line += ", ETA " + roundDur(time.Duration(float64(p.total-p.done)/rate*float64(time.Second))).String()
		}
	}
	if p.detail != "" {
		line += "  " + p.detail
	}
	fmt.Fprint(p.w, line)
}

// clear ends the step: the ticker stops and the line is cleared, so what follows (a warning,
// the summary) starts on a clean line.
func (p *progress) clear() {
	if !p.on {
		return
	}
	p.stopTicker()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
	p.label, p.base, p.phase, p.detail, p.start = "", "", "", "", time.Time{}
}

func (p *progress) stopTicker() {
	p.mu.Lock()
	stop := p.stop
	p.stop = nil
	p.mu.Unlock()
	if stop != nil {
		close(stop)
		p.ticker.Wait()
	}
}

// roundDur rounds d for display: to the second from 10 s, else to the tenth.
func roundDur(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

// group writes n with thousands separated by commas.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return s
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
