package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/eval"
)

type detectFlags struct {
	modelFlags
	model  string
	output string
	json   bool
	chunk  int
}

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
	cmd := &cobra.Command{
		Use:   "detect (--algorithm NAME | --model FILE) --input FILE [flags]",
		Short: "Score every row of a CSV or Parquet file for anomalies",
		Long: `detect scores every row of a CSV file (.csv, .csv.gz, or - for standard input) or a
Parquet file (.parquet; float and integer columns). With --algorithm it fits that detector on the
file and scores its rows (for knn and local_outlier_factor each row is left out of its own
neighbours, as scikit-learn does for training data). With --model it loads a model saved by
'gonomaly train' and streams the file through it in chunks, so memory stays bounded by the
chunk size, not the file size; each chunk is scored on all cores while the next is read.
On a terminal, stderr shows progress: the rows read and scored, their rate and the time
left, and how long a fit has been running.

A summary goes to stderr; --json prints one JSON object on stdout instead:
  {"algorithm","rows","cols","fit_seconds","score_seconds","anomalies","threshold",
   "roc_auc","average_precision","precision_at_n"}   (the metrics only with --label)
--output writes one row per input row, in input order: score,is_anomaly (CSV, or Parquet
when the name ends in .parquet).

` + algorithmHelp(),
		Example: `  gonomaly detect --algorithm isolation_forest --input testdata/datasets/adbench/thyroid.csv --label label
  gonomaly detect -a local_outlier_factor -i data.csv -p n_neighbors=35 --output scores.csv
  gonomaly detect --model forest.gnm --input new.csv --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDetect(cmd, f) },
	}
	f.register(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVarP(&f.model, "model", "m", "", "model file saved by 'gonomaly train' (instead of --algorithm)")
	fs.StringVarP(&f.output, "output", "o", "", "write score,is_anomaly per row to this file (.csv or .parquet)")
	fs.BoolVar(&f.json, "json", false, "print the result as one JSON object on stdout")
	fs.IntVar(&f.chunk, "chunk-rows", dataset.DefaultChunkRows, "rows per chunk when streaming through --model")
	cmd.MarkFlagsMutuallyExclusive("algorithm", "model")
	cmd.MarkFlagsOneRequired("algorithm", "model")
	cmd.MarkFlagRequired("input")
	return cmd
}

func runDetect(cmd *cobra.Command, f *detectFlags) error {
	if f.chunk < 1 {
		return usagef("--chunk-rows %d: must be at least 1", f.chunk)
	}
	prog := newProgress(cmd.ErrOrStderr(), f.json)
	defer prog.clear()
	ctx := detector.WithProgress(cmd.Context(), prog.report)
	if f.output != "" && sameFile(f.input, f.output) {
		return usagef("--output %s is the --input file: the scores would replace the data", f.output)
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
	var m *detector.Model

	if f.model == "" {
		var err error
		if m, err = f.newModel(cmd); err != nil {
			return err
		}
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
	} else {
		if cmd.Flags().Changed("param") || cmd.Flags().Changed("contamination") || cmd.Flags().Changed("seed") {
			return usagef("--param, --contamination and --seed set up a new detector; they do not apply to a saved --model")
		}
		for _, fl := range budgetFlags {
			if cmd.Flags().Changed(fl) {
				return usagef("--%s bounds a fit; a saved --model is not fitted again", fl)
			}
		}
		var err error
		if m, err = detector.LoadFile(f.model); err != nil {
			return err
		}
		src, err := dataset.Open(f.input, dataset.Options{Label: f.label, ChunkRows: f.chunk})
		if err != nil {
			return err
		}
		defer src.Close()
		if n := len(src.Columns()); n != m.Cols {
			hint := ""
			if n == m.Cols+1 && f.label == "" {
				hint = " (is one of them a label column? name it with --label)"
			}
			return fmt.Errorf("%s has %d feature columns, the model was fitted on %d%s: %w", f.input, n, m.Cols, hint, detector.ErrDimension)
		}
		tap := &labelTap{Source: src}
		sink := &detectSink{out: out, keep: f.label != ""}
		prog.step("score", "rows", "scoring %s", f.input)
		t0 := time.Now()
		n, err := m.ScoreStream(ctx, tap, sink)
		prog.clear()
		if err != nil {
			return err
		}
		res.Cols, res.Rows, res.ScoreSeconds = m.Cols, n, time.Since(t0).Seconds()
		res.Anomalies, scores = sink.anomalies, sink.scores
		if f.label != "" {
			labels = tap.labels
		}
	}
	res.Algorithm, res.Threshold = m.Algorithm, m.Threshold
	if out != nil {
		if err := out.close(); err != nil {
			return err
		}
	}
	if labels != nil {
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
	return nil
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
	ctx  context.Context
	rows int64
}

func (r *readProgress) Next(ctx context.Context) (*dataset.Matrix, error) {
	x, err := r.Source.Next(ctx)
	if err == nil {
		r.rows += int64(x.Rows)
		var total int64
		if z, ok := r.Source.(dataset.Sized); ok {
			total = z.TotalRows()
		}
		detector.ReportProgress(r.ctx, "read", r.rows, total)
	}
	return x, err
}

// labelTap keeps the labels of the chunks a Source returns, for the metrics.
type labelTap struct {
	dataset.Source
	labels []int
}

func (l *labelTap) Next(ctx context.Context) (*dataset.Matrix, error) {
	x, err := l.Source.Next(ctx)
	if err == nil {
		l.labels = append(l.labels, l.Source.Labels()...)
	}
	return x, err
}

// TotalRows passes on the source's estimate, for progress.
func (l *labelTap) TotalRows() int64 {
	if z, ok := l.Source.(dataset.Sized); ok {
		return z.TotalRows()
	}
	return 0
}

// detectSink counts the anomalies of a stream of scores, keeps the scores when keep is set
// (for the metrics) and passes them on to out, if any.
type detectSink struct {
	out       *scoreFile
	keep      bool
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
		d.scores = append(d.scores, scores...)
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
