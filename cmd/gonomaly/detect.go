package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/eval"
	"github.com/gonomaly/gonomaly/internal/sysstat"
)

type detectFlags struct {
	modelFlags
	model   string
	output  string
	json    bool
	chunk   int
	fitRows int
	opt     optimizeDetectFlags
	dist    distributedFlags
}

// Defaults and bounds of detect's memory planning (see docs/streaming.md).
const (
	// defaultDetectMemory is --max-memory's default for detect: the whole process's budget.
	defaultDetectMemory = 400 << 20
	// baseMemory is what the process takes before any data: the runtime, the binary, the
	// readers' buffers (measured: 28 MB of RSS for detect on a 223-row file).
	baseMemory = 32 << 20
	// maxAutoFitRows bounds the sample the budget chooses: past a million rows a fit's
	// threshold and model change little, and its time grows.
	maxAutoFitRows = 1_000_000
	// minFitRows is the least sample detect fits on without being told to: a smaller budget
	// is refused (or --force'd) rather than fitted on a handful of rows.
	minFitRows = 256
	// maxFitRows bounds --fit-rows.
	maxFitRows = 100_000_000
	// maxChunkRows bounds --chunk-rows.
	maxChunkRows = 1 << 22
	// metricBytesPerRow is what the metrics hold per row on the streaming path: the score
	// and the label (8 bytes each) in slices that grow by doubling (up to three times their
	// length while one is copied into the next), then the sort order the metrics build.
	metricBytesPerRow = 48
)

// afterSample, when set (by tests), runs between the sampling pass and the scoring pass.
var afterSample func()

// detectResult is the JSON document `detect --json` prints (see docs/architecture.md).
type detectResult struct {
	Algorithm        string   `json:"algorithm"`
	Rows             int      `json:"rows"`
	Cols             int      `json:"cols"`
	FitSeconds       float64  `json:"fit_seconds"`
	ScoreSeconds     float64  `json:"score_seconds"`
	Anomalies        int      `json:"anomalies"`
	Threshold        float64  `json:"threshold"`
	ROCAUC           *float64 `json:"roc_auc,omitempty"`
	AveragePrecision *float64 `json:"average_precision,omitempty"`
	PrecisionAtN     *float64 `json:"precision_at_n,omitempty"`
}

func newDetectCmd() *cobra.Command {
	f := &detectFlags{}
	f.maxMemory = defaultDetectMemory
	cmd := &cobra.Command{
		Use:   "detect (--algorithm NAME | --model FILE) --input FILE [flags]",
		Short: "Score every row of a CSV or Parquet file for anomalies",
		Long: `detect scores every row of a CSV file (.csv, .csv.gz, or - for standard input) or a
Parquet file (.parquet; float and integer columns). With --algorithm it fits that detector on the
file and scores its rows (for knn and local_outlier_factor each row is left out of its own
neighbours, as scikit-learn does for training data). With --model it loads a model saved by
'gonomaly train' and streams the file through it in chunks, so memory stays bounded by the
chunk size, not the file size; each chunk is scored on all cores while the next is read.

--max-memory is the budget of the whole process (default 400MiB). Before reading a file,
detect estimates its rows (the file's size and the first chunk's bytes per row, the
compressed share for gzip, the footer for Parquet) and what the fit on them needs. When
that is over the budget, it says so on stderr and streams instead: it fits on a seeded
reservoir sample of as many rows as the budget allows (at most 1,000,000; --fit-rows sets
the number and always takes this path), then scores every row in a second pass, as --model
does; every row, the sample's included, is then scored as a new row. Standard input is read
into memory (it cannot be read twice). With --label on the streaming path the metrics are
computed when every score and label fits the budget beside the model, else skipped with a
note on stderr (ROC-AUC needs every score).
On a terminal, stderr shows progress: the rows read, sampled and scored, their rate and the
time left, and how long a fit has been running.

A summary goes to stderr; --json prints one JSON object on stdout instead:
  {"algorithm","rows","cols","fit_seconds","score_seconds","anomalies","threshold",
   "roc_auc","average_precision","precision_at_n"}   (the metrics only with --label)
--output writes one row per input row, in input order: score,is_anomaly (CSV, or Parquet
when the name ends in .parquet).

--distributed nats://HOST:4222 scores on the workers of a cluster ('gonomaly worker'): the
file (CSV, not compressed, or Parquet, on storage every worker sees at the same path) is cut
into partitions of --partition-size, one job each; the scores come back in input order, equal
to one machine's, and a partition whose worker dies is scored again by another. With
--algorithm the fit runs here first, on a seeded sample (--fit-rows; default every row up to
1,000,000). See docs/cluster.md.

` + algorithmHelp(),
		Example: `  gonomaly detect --algorithm isolation_forest --input testdata/datasets/adbench/thyroid.csv --label label
  gonomaly detect -a local_outlier_factor -i data.csv -p n_neighbors=35 --output scores.csv
  gonomaly detect -a isolation_forest -i big.csv.gz --max-memory 1GiB --output scores.parquet
  gonomaly detect --model forest.gnm --input new.csv --json
  gonomaly detect --model forest.gnm --input /shared/big.csv --distributed nats://10.0.0.5:4222 -o /shared/scores.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDetect(cmd, f) },
	}
	f.register(cmd.Flags())
	fs := cmd.Flags()
	if mm := fs.Lookup("max-memory"); mm != nil {
		mm.Usage = "memory budget of the whole process, e.g. 1GiB: data that would not fit it is fitted on a sample that does, then scored streaming"
		mm.DefValue = formatSize(defaultDetectMemory)
	}
	fs.StringVarP(&f.model, "model", "m", "", "model file saved by 'gonomaly train' (instead of --algorithm)")
	fs.StringVarP(&f.output, "output", "o", "", "write score,is_anomaly per row to this file (.csv or .parquet)")
	fs.BoolVar(&f.json, "json", false, "print the result as one JSON object on stdout")
	fs.IntVar(&f.chunk, "chunk-rows", dataset.DefaultChunkRows, "rows per chunk when streaming")
	fs.IntVar(&f.fitRows, "fit-rows", 0, "fit on a seeded sample (--seed) of this many rows, then score every row streaming (default: all rows if they fit --max-memory, else what it allows, at most 1000000)")
	f.opt.register(fs)
	f.dist.register(fs)
	cmd.MarkFlagsMutuallyExclusive("algorithm", "model")
	cmd.MarkFlagsOneRequired("algorithm", "model")
	cmd.MarkFlagRequired("input")
	return cmd
}

func runDetect(cmd *cobra.Command, f *detectFlags) error {
	if err := f.opt.apply(cmd, f); err != nil {
		return err
	}
	if f.chunk < 1 || f.chunk > maxChunkRows {
		return usagef("--chunk-rows %d: must be between 1 and %d", f.chunk, maxChunkRows)
	}
	fitRowsSet := cmd.Flags().Changed("fit-rows")
	if fitRowsSet && (f.fitRows < 1 || f.fitRows > maxFitRows) {
		return usagef("--fit-rows %d: must be between 1 and %d (leave it out to let --max-memory choose)", f.fitRows, maxFitRows)
	}
	if f.model != "" {
		if cmd.Flags().Changed("param") || cmd.Flags().Changed("contamination") || cmd.Flags().Changed("seed") {
			return usagef("--param, --contamination and --seed set up a new detector; they do not apply to a saved --model")
		}
		for _, fl := range append(budgetFlags, "fit-rows") {
			if cmd.Flags().Changed(fl) {
				return usagef("--%s bounds a fit; a saved --model is not fitted again", fl)
			}
		}
	}
	if f.maxFitTime < 0 {
		return usagef("--max-fit-time %v: must not be negative (0: no limit)", f.maxFitTime)
	}
	lim := sysstat.MemoryLimit()
	switch {
	case cmd.Flags().Changed("max-memory") && int64(f.maxMemory) > lim:
		return usagef("--max-memory %s: more than the %s this process may use (the machine's memory or its container's limit)", formatSize(int64(f.maxMemory)), humanSize(lim))
	case f.maxMemory == 0:
		f.maxMemory = defaultDetectMemory
	}
	if int64(f.maxMemory) > lim { // the default, on a machine smaller than it
		f.maxMemory = byteSize(lim / 2)
	}
	regular := false
	if fi, err := os.Stat(f.input); err == nil && f.input != "-" {
		regular = fi.Mode().IsRegular()
	}
	if fitRowsSet && !regular {
		return usagef("--fit-rows reads --input twice (a sample, then every row); %s cannot be read twice: give a file", f.input)
	}
	if f.dist.on() {
		if !regular {
			return usagef("--distributed: %s is not a file the workers can read: give a file on storage they share", f.input)
		}
		if int64(f.dist.partSize) < 1<<10 {
			return usagef("--partition-size %s: must be at least 1KiB", formatSize(int64(f.dist.partSize)))
		}
		if f.model == "" && !fitRowsSet {
			// The workers score every row as new rows, so the fit is on a seeded sample, as
			// with --fit-rows: by default every row up to the budget's sample limit.
			sh, err := probeInput(cmd.Context(), f.input, f.label)
			if err != nil {
				return err
			}
			f.fitRows = maxAutoFitRows
			if sh.rows > 0 {
				f.fitRows = int(min(sh.rows, maxAutoFitRows))
			}
			fitRowsSet = true
		}
	}
	prog := newProgress(cmd.ErrOrStderr(), f.json)
	defer prog.clear()
	ctx := detector.WithProgress(cmd.Context(), prog.report)
	if f.output != "" && sameFile(f.input, f.output) {
		return usagef("--output %s is the --input file: the scores would replace the data", f.output)
	}
	var m *detector.Model
	if f.model == "" {
		var err error
		if m, err = f.newModel(cmd); err != nil {
			return err
		}
	} else {
		var err error
		if m, err = detector.LoadFile(f.model); err != nil {
			return err
		}
	}
	// Plan before creating the output, so a refused plan leaves nothing behind.
	var plan *streamPlan
	if f.model == "" && regular {
		var err error
		if plan, err = f.planDetect(ctx, cmd.ErrOrStderr(), m, fitRowsSet); err != nil {
			return err
		}
	}
	var out *scoreFile
	if f.output != "" {
		var err error
		if out, err = createScoreFile(f.output); err != nil {
			return err
		}
		defer out.abort() // leaves an existing file as it was unless close below committed
	}
	res := &detectResult{}
	var scores []float64 // kept only when labels need them
	var labels []int
	switch {
	case f.model == "" && plan == nil:
		tab, fr, err := f.fitInput(ctx, cmd.ErrOrStderr(), prog, m)
		if err != nil {
			return err
		}
		res.Rows, res.Cols = tab.X.Rows, tab.X.Cols
		res.FitSeconds, res.ScoreSeconds = fr.FitTime.Seconds(), fr.ScoreTime.Seconds()
		scores, labels = fr.Scores, tab.Labels
		flags := make([]bool, len(scores))
		for i, s := range scores {
			flags[i] = m.IsAnomaly(s)
			if flags[i] {
				res.Anomalies++
			}
		}
		if out != nil {
			if err := out.Write(scores, flags); err != nil {
				return err
			}
		}
	default:
		var keepRows int64 // rows of scores and labels the metrics may hold
		if f.model == "" {
			if plan.fits {
				defer setMemoryLimit(int64(f.maxMemory))()
			}
			fr, err := f.fitSample(ctx, prog, m, plan)
			if err != nil {
				return err
			}
			res.FitSeconds = (fr.FitTime + fr.ScoreTime).Seconds()
			keepRows = plan.keepRows
		} else {
			keepRows = max(0, int64(f.maxMemory)-baseMemory-streamBytes(f.chunk, m.Cols, f.input, f.output)-modelBytes(f.model)) / metricBytesPerRow
			if keepRows > 0 { // the model and the stream fit the budget: steer the heap by it
				defer setMemoryLimit(int64(f.maxMemory))()
			}
		}
		var st *streamed
		var err error
		if f.dist.on() {
			st, err = f.scoreDistributed(ctx, cmd.ErrOrStderr(), prog, m, out, keepRows)
		} else {
			st, err = f.scoreStream(ctx, prog, m, out, keepRows, plan)
		}
		if err != nil {
			return err
		}
		res.Cols, res.Rows, res.ScoreSeconds, res.Anomalies = m.Cols, st.rows, st.seconds, st.anomalies
		scores, labels = st.scores, st.labels
		if f.label != "" && st.skipped {
			fmt.Fprintf(cmd.ErrOrStderr(), "note: the scores and labels of %s rows (%s) do not fit --max-memory %s beside the model: no accuracy metrics (ROC-AUC needs every score)\n",
				group(int64(st.rows)), humanSize(int64(st.rows)*metricBytesPerRow), formatSize(int64(f.maxMemory)))
		}
	}
	res.Algorithm, res.Threshold = m.Algorithm, m.Threshold
	if out != nil {
		if err := out.close(); err != nil {
			return err
		}
	}
	if labels != nil && scores != nil {
		met, err := eval.Evaluate(labels, scores)
		if err != nil && !errors.Is(err, eval.ErrOneClass) {
			return err
		}
		if err == nil {
			res.ROCAUC, res.AveragePrecision, res.PrecisionAtN = &met.ROCAUC, &met.AveragePrecision, &met.PrecisionAtN
		} else {
			fmt.Fprintln(cmd.ErrOrStderr(), "note: the label column holds one class only; no accuracy metrics")
		}
	}
	if f.json {
		return writeJSON(cmd.OutOrStdout(), res)
	}
	printDetect(cmd.ErrOrStderr(), res, f.output)
	if plan != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "%-18s a seeded sample of %s rows (of %s), %.3f s to draw\n", "fitted on", group(int64(plan.sampled)), group(plan.seen), plan.sampleSeconds)
	}
	return nil
}

// fitSample draws the plan's sample in a first pass over --input (seeded by --seed) and fits
// m on it.
func (f *detectFlags) fitSample(ctx context.Context, prog *progress, m *detector.Model, plan *streamPlan) (*detector.FitResult, error) {
	src, err := dataset.Open(f.input, dataset.Options{Label: f.label, ChunkRows: f.chunk})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	prog.step("sample", "rows", "sampling %s rows of %s", group(int64(plan.fitRows)), f.input)
	t0 := time.Now()
	rp := &readProgress{Source: src, ctx: ctx, phase: "sample"}
	x, err := dataset.Reservoir(ctx, rp, plan.fitRows, uint64(f.seed))
	prog.clear()
	if err != nil {
		return nil, err
	}
	plan.sampled, plan.seen, plan.sampleSeconds = x.Rows, rp.rows, time.Since(t0).Seconds()
	if afterSample != nil {
		afterSample()
	}
	prog.step("fit", "rows", "fitting %s on a sample of %d x %d", m.Algorithm, x.Rows, x.Cols)
	fr, err := m.Fit(ctx, x)
	prog.clear()
	return fr, err
}

// streamed is what the scoring pass found.
type streamed struct {
	rows      int
	seconds   float64
	anomalies int
	scores    []float64 // nil unless labelled and within the budget
	labels    []int
	skipped   bool // the metrics were given up: the scores and labels would not fit
}

// scoreStream scores every row of --input through m into out (if any), keeping scores and
// labels for the metrics while they number at most keepRows.
func (f *detectFlags) scoreStream(ctx context.Context, prog *progress, m *detector.Model, out *scoreFile, keepRows int64, plan *streamPlan) (*streamed, error) {
	src, err := dataset.Open(f.input, dataset.Options{Label: f.label, ChunkRows: f.chunk})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if n := len(src.Columns()); n != m.Cols {
		hint := ""
		if n == m.Cols+1 && f.label == "" {
			hint = " (is one of them a label column? name it with --label)"
		}
		return nil, fmt.Errorf("%s has %d feature columns, the model was fitted on %d%s: %w", f.input, n, m.Cols, hint, detector.ErrDimension)
	}
	keep := f.label != ""
	drop := new(atomic.Bool)
	tap := &labelTap{Source: src, keep: keep, max: keepRows, drop: drop}
	if plan != nil {
		tap.total = plan.seen // the sampling pass counted them
	}
	sink := &detectSink{out: out, keep: keep, max: keepRows, drop: drop}
	prog.step("score", "rows", "scoring %s", f.input)
	t0 := time.Now()
	n, err := m.ScoreStream(ctx, tap, sink)
	prog.clear()
	if err != nil {
		return nil, err
	}
	st := &streamed{rows: n, seconds: time.Since(t0).Seconds(), anomalies: sink.anomalies}
	if keep {
		if tap.dropped || sink.dropped {
			st.skipped = true
		} else {
			st.scores, st.labels = sink.scores, tap.labels
		}
	}
	return st, nil
}

func printDetect(w io.Writer, r *detectResult, output string) {
	fmt.Fprintf(w, "%-18s %s\n", "algorithm", r.Algorithm)
	fmt.Fprintf(w, "%-18s %d x %d\n", "data", r.Rows, r.Cols)
	fmt.Fprintf(w, "%-18s %.3f s fit, %.3f s score\n", "time", r.FitSeconds, r.ScoreSeconds)
	pct := 0.0
	if r.Rows > 0 {
		pct = 100 * float64(r.Anomalies) / float64(r.Rows)
	}
	fmt.Fprintf(w, "%-18s %d (%.2f %%) above threshold %.6g\n", "anomalies", r.Anomalies, pct, r.Threshold)
	if r.ROCAUC != nil {
		fmt.Fprintf(w, "%-18s %.4f\n", "ROC-AUC", *r.ROCAUC)
		fmt.Fprintf(w, "%-18s %.4f\n", "average precision", *r.AveragePrecision)
		fmt.Fprintf(w, "%-18s %.4f\n", "precision@n", *r.PrecisionAtN)
	}
	if output != "" {
		fmt.Fprintf(w, "%-18s %s\n", "scores written to", output)
	}
}

// readTable reads a whole table (CSV, gzip CSV, Parquet, or CSV on standard input for "-"),
// showing the rows read on a terminal.
func readTable(ctx context.Context, prog *progress, path, label string) (*dataset.Table, error) {
	src, err := dataset.Open(path, dataset.Options{Label: label})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	prog.step("read", "rows", "reading %s", path)
	return dataset.ReadAll(ctx, &readProgress{Source: src, ctx: ctx})
}

// readProgress reports the rows a Source has read to the progress hook of ctx.
type readProgress struct {
	dataset.Source
	ctx   context.Context
	phase string // "read" when empty
	rows  int64
}

func (r *readProgress) Next(ctx context.Context) (*dataset.Matrix, error) {
	x, err := r.Source.Next(ctx)
	if err == nil {
		r.rows += int64(x.Rows)
		var total int64
		if z, ok := r.Source.(dataset.Sized); ok {
			total = z.TotalRows()
		}
		phase := r.phase
		if phase == "" {
			phase = "read"
		}
		detector.ReportProgress(r.ctx, phase, r.rows, total)
	}
	return x, err
}

// labelTap keeps the labels of the chunks a Source returns, for the metrics, while they
// number at most max. Past that, or as soon as the rows the source expects are more than max,
// it drops them and sets drop, which tells the detectSink to drop the scores too. It is
// Sized: total when set (a first pass counted the rows), else the source's estimate.
type labelTap struct {
	dataset.Source
	keep    bool
	max     int64
	total   int64
	labels  []int
	dropped bool
	drop    *atomic.Bool
}

func (l *labelTap) Next(ctx context.Context) (*dataset.Matrix, error) {
	x, err := l.Source.Next(ctx)
	if err == nil && l.keep {
		if int64(len(l.labels)+x.Rows) > l.max || l.TotalRows() > l.max+l.max/8 {
			l.keep, l.dropped, l.labels = false, true, nil
			l.drop.Store(true)
		} else {
			l.labels = append(l.labels, l.Source.Labels()...)
		}
	}
	return x, err
}

// TotalRows passes on the rows counted, or the source's estimate, for progress.
func (l *labelTap) TotalRows() int64 {
	if l.total > 0 {
		return l.total
	}
	if z, ok := l.Source.(dataset.Sized); ok {
		return z.TotalRows()
	}
	return 0
}

// detectSink counts the anomalies of a stream of scores, keeps the scores when keep is set
// (for the metrics) while they number at most max, and passes them on to out, if any.
type detectSink struct {
	out       *scoreFile
	keep      bool
	max       int64
	drop      *atomic.Bool // set by the labelTap: the metrics are given up; nil: never
	dropped   bool
	anomalies int
	scores    []float64
}

func (d *detectSink) Write(scores []float64, isAnomaly []bool) error {
	for _, a := range isAnomaly {
		if a {
			d.anomalies++
		}
	}
	if d.keep {
		if int64(len(d.scores)+len(scores)) > d.max || (d.drop != nil && d.drop.Load()) {
			d.keep, d.dropped, d.scores = false, true, nil
		} else {
			d.scores = append(d.scores, scores...)
		}
	}
	if d.out != nil {
		return d.out.Write(scores, isAnomaly)
	}
	return nil
}

func (d *detectSink) Close() error { return nil }

// scoreRow is a row of a Parquet score file.
type scoreRow = dataset.ScoreRow

// scoreFile is a score file (CSV, or Parquet for a .parquet name) that takes its place only
// at close; abort drops it, leaving any file of that name as it was.
type scoreFile struct {
	dataset.ScoreWriter
	f *pendingFile
}

func createScoreFile(path string) (*scoreFile, error) {
	f, err := createPending(path)
	if err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	return &scoreFile{ScoreWriter: dataset.NewScoreWriter(f, path), f: f}, nil
}

func (s *scoreFile) close() error {
	if err := s.ScoreWriter.Close(); err != nil {
		s.f.abort()
		return err
	}
	if err := s.f.commit(); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	return nil
}

func (s *scoreFile) abort() { s.f.abort() }

// sameFile reports whether paths a and b name one existing file (through links too).
func sameFile(a, b string) bool {
	if a == "-" || b == "-" {
		return false
	}
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}
