package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/bench"
)

// fakeTerminal is a stderr that says it is a terminal and records what is drawn on it.
type fakeTerminal struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (f *fakeTerminal) IsTerminal() bool { return true }
func (f *fakeTerminal) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.b.Write(p)
}
func (f *fakeTerminal) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.b.String()
}

// fakeClock advances by step at every reading.
type fakeClock struct {
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time {
	c.t = c.t.Add(c.step)
	return c.t
}

// TestProgressGolden: what the renderer draws for a read, a fit and a score, and for bench
// cells, on a terminal whose clock moves 250 ms at every reading.
func TestProgressGolden(t *testing.T) {
	term := &fakeTerminal{}
	p := newProgress(term, false)
	clock := &fakeClock{t: time.Unix(0, 0), step: 250 * time.Millisecond}
	p.now, p.tick = clock.now, 0
	p.step("read", "rows", "reading %s", "big.csv")
	p.report("read", 8192, 0)
	p.report("read", 16384, 0)
	p.clear()
	p.step("fit", "rows", "fitting %s on %d x %d", "isolation_forest", 400000, 12)
	p.report("score", 100000, 400000) // a phase the step's label does not say
	p.clear()
	p.step("score", "rows", "scoring %s", "big.csv")
	p.report("score", 100000, 400000)
	p.report("score", 400000, 400000)
	p.clear()
	p.step("", "cells", "benchmark")
	p.Report(bench.Progress{Done: 1, Total: 4, Current: "hbos 1000x10"})
	p.clear()
	want := strings.Join([]string{
		"\r\x1b[Kreading big.csv … 300ms",
		"\r\x1b[Kreading big.csv: 8,192 rows, 16,384 rows/s",
		"\r\x1b[Kreading big.csv: 16,384 rows, 16,384 rows/s",
		"\r\x1b[K",
		"\r\x1b[Kfitting isolation_forest on 400000 x 12 … 300ms",
		"\r\x1b[Kfitting isolation_forest on 400000 x 12 (score): 100,000 of 400,000 rows (25%), 200,000 rows/s, ETA 1.5s",
		"\r\x1b[K",
		"\r\x1b[Kscoring big.csv … 300ms",
		"\r\x1b[Kscoring big.csv: 100,000 of 400,000 rows (25%), 200,000 rows/s, ETA 1.5s",
		"\r\x1b[Kscoring big.csv: 400,000 of 400,000 rows (100%), 400,000 rows/s",
		"\r\x1b[K",
		"\r\x1b[Kbenchmark … 300ms",
		"\r\x1b[Kbenchmark: 1 of 4 cells (25%), 2 cells/s, ETA 1.5s  hbos 1000x10",
		"\r\x1b[K",
	}, "")
	if got := term.String(); got != want {
		t.Errorf("drew\n%q\nwant\n%q", got, want)
	}
}

// TestProgressTicks: a step without counts redraws its elapsed time until it ends, and the
// ticker stops with it.
func TestProgressTicks(t *testing.T) {
	term := &fakeTerminal{}
	p := newProgress(term, false)
	p.tick = 5 * time.Millisecond
	p.step("fit", "rows", "fitting")
	time.Sleep(50 * time.Millisecond)
	p.clear()
	n := strings.Count(term.String(), "fitting …")
	time.Sleep(20 * time.Millisecond)
	if n < 3 || strings.Count(term.String(), "fitting …") != n {
		t.Errorf("%d redraws while fitting, then %d: %q", n, strings.Count(term.String(), "fitting …"), term.String())
	}
}

// TestProgressQuiet: nothing is drawn on a writer that is not a terminal, nor with --json.
func TestProgressQuiet(t *testing.T) {
	var buf bytes.Buffer
	for _, p := range []*progress{newProgress(&buf, false), newProgress(&fakeTerminal{}, true), newProgress(os.Stderr, false)} {
		if p == nil {
			continue
		}
		p.step("read", "rows", "reading")
		p.report("read", 1, 2)
		p.Report(bench.Progress{Done: 1, Total: 2})
		p.clear()
	}
	if buf.Len() != 0 {
		t.Errorf("drew %q on a buffer", buf.String())
	}
}

// TestCommandProgress: detect and train draw reading, fitting and scoring on a terminal's
// stderr, and nothing of it when stderr is not a terminal (the existing tests' buffers).
func TestCommandProgress(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.gnm")
	for _, tc := range []struct {
		args  []string
		steps []string
	}{
		{[]string{"train", "-a", "hbos", "-i", wbc, "--label", "label", "-m", model}, []string{"reading " + wbc, "fitting hbos on 223 x 9"}},
		{[]string{"detect", "-a", "hbos", "-i", wbc, "--label", "label"}, []string{"reading " + wbc + ": 223 of 223 rows", "fitting hbos on 223 x 9"}},
		{[]string{"detect", "--model", model, "-i", wbc, "--label", "label", "--chunk-rows", "50"}, []string{"scoring " + wbc + ": 50 ", "scoring " + wbc + ": 223 of 223 rows (100%)"}},
	} {
		term := &fakeTerminal{}
		var stdout bytes.Buffer
		if code := run(t.Context(), tc.args, &stdout, term); code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, term.String())
		}
		for _, s := range tc.steps {
			if !strings.Contains(term.String(), s) {
				t.Errorf("%v: stderr %q does not show %q", tc.args, term.String(), s)
			}
		}
		// The summary starts on a cleared line.
		if out := term.String(); strings.Contains(out, "\r") && !strings.Contains(out, "\r\x1b[K") {
			t.Errorf("%v: a progress line is not cleared: %q", tc.args, out)
		}
		code, _, stderr := gonomaly(t, tc.args...)
		if code != 0 || strings.ContainsAny(stderr, "\r\x1b") {
			t.Errorf("%v: progress on a stderr that is not a terminal: %q", tc.args, stderr)
		}
	}
}
