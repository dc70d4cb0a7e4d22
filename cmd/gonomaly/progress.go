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

func (p *progress) done() {
	if p.on && p.last != p.start {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
