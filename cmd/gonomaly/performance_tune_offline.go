package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/store"
)

// offlineTrial is one chunk size and worker count, timed scoring the whole file.
type offlineTrial struct {
	ChunkRows     int       `json:"chunk_rows"`
	Workers       int       `json:"workers"`
	Seconds       float64   `json:"seconds"` // median of Runs
	RowsPerSecond float64   `json:"rows_per_second"`
	Runs          []float64 `json:"runs_seconds"`
}

// offlineTuneDoc is the document of an offline tune (docs/tuning.md).
type offlineTuneDoc struct {
	bench.Header
	Mode          string         `json:"mode"` // "offline"
	Model         string         `json:"model"`
	Algorithm     string         `json:"algorithm"`
	Input         string         `json:"input"`
	Rows          int            `json:"rows"`
	Cols          int            `json:"cols"`
	Repeat        int            `json:"repeat"`
	BudgetSeconds float64        `json:"budget_seconds"`
	Before        *offlineTrial  `json:"before"` // the defaults
	Trials        []offlineTrial `json:"trials"`
	Best          *offlineTrial  `json:"best"`
	Truncated     bool           `json:"truncated"`
}

// offlineCandidates are the chunk sizes and worker counts tried: chunks around the default,
// workers from one to every core. A worker count is the GOMAXPROCS the scoring runs with:
// the detectors' parallel loops use that many goroutines (ScoreStream has no knob of its own).
func offlineCandidates(procs int) (chunks, workers []int) {
	chunks = []int{1024, 4096, dataset.DefaultChunkRows, 32768, 131072}
	for _, w := range []int{1, procs / 2, procs} {
		if w >= 1 && !slices.Contains(workers, w) {
			workers = append(workers, w)
		}
	}
	return chunks, workers
}

func runTuneOffline(cmd *cobra.Command, f *tuneFlags) error {
	if err := f.checkCommon(); err != nil {
		return err
	}
	switch {
	case f.input == "":
		return usagef("--model needs --input: the data to score")
	case f.input == "-":
		return usagef("--input -: tune reads the data many times; give a file")
	case f.repeat < 1 || f.repeat > maxTuneRepeat:
		return usagef("--repeat %d: must be from 1 to %d", f.repeat, maxTuneRepeat)
	}
	m, err := detector.LoadFile(f.model)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	start := time.Now()
	deadline := start.Add(f.budget)
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)

	doc := &offlineTuneDoc{Header: tuneHeader("tune-offline", "chunk size and workers of scoring a file", start), Mode: "offline",
		Model: f.model, Algorithm: m.Algorithm, Input: f.input, Cols: m.Cols, Repeat: f.repeat, BudgetSeconds: f.budget.Seconds(),
		Trials: []offlineTrial{}}
	// A first run, not counted, reads the file into the page cache and checks it fits the model.
	n, _, err := scoreFileOnce(ctx, m, f.input, f.label, dataset.DefaultChunkRows, procs)
	if err != nil {
		return err
	}
	doc.Rows = n
	before, err := timeSetting(ctx, m, f, dataset.DefaultChunkRows, procs)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "tune: defaults: chunk %d, %d workers: %.3f s\n", before.ChunkRows, before.Workers, before.Seconds)
	doc.Before = before
	best := *before
	chunks, workers := offlineCandidates(procs)
search:
	for _, c := range chunks {
		for _, w := range workers {
			if c == before.ChunkRows && w == before.Workers {
				doc.Trials = append(doc.Trials, *before)
				continue
			}
			// Room for this setting's runs, at the pace of the slowest seen so far.
			slowest := before.Seconds
			for _, t := range doc.Trials {
				slowest = max(slowest, t.Seconds)
			}
			if time.Until(deadline) < time.Duration(slowest*float64(f.repeat)*float64(time.Second)) {
				doc.Truncated = true
				fmt.Fprintln(stderr, "tune: the budget ends the search here")
				break search
			}
			t, err := timeSetting(ctx, m, f, c, w)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "tune: chunk %d, %d workers: %.3f s\n", c, w, t.Seconds)
			doc.Trials = append(doc.Trials, *t)
			if t.Seconds < best.Seconds {
				best = *t
			}
		}
	}
	doc.Best = &best
	finishHeader(&doc.Header)
	return f.perf.emit(cmd, store.KindTune, doc.SuiteID, doc, doc.table)
}

// timeSetting scores the file f.repeat times with chunk rows per chunk on workers cores and
// keeps the median time.
func timeSetting(ctx context.Context, m *detector.Model, f *tuneFlags, chunk, workers int) (*offlineTrial, error) {
	t := &offlineTrial{ChunkRows: chunk, Workers: workers}
	var rows int
	for range f.repeat {
		n, d, err := scoreFileOnce(ctx, m, f.input, f.label, chunk, workers)
		if err != nil {
			return nil, err
		}
		rows = n
		t.Runs = append(t.Runs, d.Seconds())
	}
	sorted := slices.Clone(t.Runs)
	slices.Sort(sorted)
	if k := len(sorted); k%2 == 1 {
		t.Seconds = sorted[k/2]
	} else {
		t.Seconds = (sorted[k/2-1] + sorted[k/2]) / 2
	}
	if t.Seconds > 0 {
		t.RowsPerSecond = float64(rows) / t.Seconds
	}
	return t, nil
}

// scoreFileOnce scores the whole file through ScoreStream into nothing, with chunk rows per
// chunk and GOMAXPROCS workers, and returns the rows and the wall time.
func scoreFileOnce(ctx context.Context, m *detector.Model, path, label string, chunk, workers int) (int, time.Duration, error) {
	prev := runtime.GOMAXPROCS(workers)
	defer runtime.GOMAXPROCS(prev)
	t0 := time.Now()
	src, err := dataset.Open(path, dataset.Options{Label: label, ChunkRows: chunk})
	if err != nil {
		return 0, 0, err
	}
	defer src.Close()
	n, err := m.ScoreStream(ctx, src, discardScores{})
	if err != nil {
		return n, 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, time.Since(t0), nil
}

// discardScores is a ScoreWriter that keeps nothing: tune times the reading and scoring.
type discardScores struct{}

func (discardScores) Write([]float64, []bool) error { return nil }
func (discardScores) Close() error                  { return nil }

// table prints every setting timed, the defaults and the fastest.
func (d *offlineTuneDoc) table(w io.Writer) error {
	fmt.Fprintf(w, "%s (%s) scoring %s: %d rows x %d columns, median of %d runs\n", d.Model, d.Algorithm, d.Input, d.Rows, d.Cols, d.Repeat)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\tchunk rows\tworkers\tseconds\trows/s\t\n")
	row := func(name string, t *offlineTrial) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%.0f\t\n", name, t.ChunkRows, t.Workers, t.Seconds, t.RowsPerSecond)
	}
	for i := range d.Trials {
		row("", &d.Trials[i])
	}
	row("before (defaults)", d.Before)
	row("after (fastest)", d.Best)
	if err := tw.Flush(); err != nil {
		return err
	}
	if d.Truncated {
		fmt.Fprintln(w, "the budget ended the search before every setting was timed")
	}
	_, err := fmt.Fprintf(w, "fastest: --chunk-rows %d with %d workers (GOMAXPROCS=%d): %.3f s against %.3f s with the defaults (%.2fx)\n",
		d.Best.ChunkRows, d.Best.Workers, d.Best.Workers, d.Best.Seconds, d.Before.Seconds, d.Before.Seconds/max(d.Best.Seconds, 1e-9))
	return err
}
