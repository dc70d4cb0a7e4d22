package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// progress shows a one-line running count on a terminal; it is silent when stderr is not a
// terminal or when machine-readable output was asked for.
type progress struct {
	w     io.Writer
	what  string
	on    bool
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, what string, quiet bool) *progress {
	on := false
	if f, ok := w.(*os.File); ok && !quiet {
		on = term.IsTerminal(int(f.Fd()))
	}
	now := time.Now()
	return &progress{w: w, what: what, on: on, start: now, last: now}
}

func (p *progress) update(rows int) {
	if !p.on || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	el := time.Since(p.start).Seconds()
	fmt.Fprintf(p.w, "\r%s: %d rows, %.0f rows/s, %.1f s ", p.what, rows, float64(rows)/el, el)
}

// status replaces the line with a note on the current step (reading, fitting), so a long
// fit shows what it is doing; like update it prints only on a terminal.
func (p *progress) status(format string, args ...any) {
	if !p.on {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r\033[K"+format, args...)
}

func (p *progress) done() {
	if p.on && !p.last.Equal(p.start) {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
