package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
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
		Short: "Score every row of a CSV file for anomalies",
		Long: `detect scores every row of a CSV file. With --algorithm it fits that detector on the
file and scores its rows (for knn and local_outlier_factor each row is left out of its own
neighbours, as scikit-learn does for training data). With --model it loads a model saved by
'gonomaly train' and streams the file through it in chunks, so memory stays bounded by the
chunk size, not the file size.

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
	ctx := cmd.Context()
	if f.chunk < 1 {
		return usagef("--chunk-rows %d: must be at least 1", f.chunk)
	}
	var out scoreWriter
	if f.output != "" {
		w, err := createScoreWriter(f.output)
		if err != nil {
			return err
		}
		out = w
		defer w.Abort() // leaves an existing file as it was unless Close below committed
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
		prog := newProgress(cmd.ErrOrStderr(), "", f.json)
		prog.status("reading %s", f.input)
		tab, err := readInput(f.input, f.label, 0)
		if err != nil {
			prog.done()
			return err
		}
		prog.done() // clears the status line for a warning
		if err := f.checkBudget(cmd.ErrOrStderr(), m, tab.X.Rows, tab.X.Cols); err != nil {
			return err
		}
		prog.status("fitting %s on %d x %d", m.Algorithm, tab.X.Rows, tab.X.Cols)
		fr, err := m.Fit(ctx, tab.X)
		prog.done()
		if err != nil {
			return err
		}
		res.Rows, res.Cols = tab.X.Rows, tab.X.Cols
		res.FitSeconds, res.ScoreSeconds = fr.FitTime.Seconds(), fr.ScoreTime.Seconds()
		scores, labels = fr.Scores, tab.Labels
		res.Anomalies = countAbove(scores, m.Threshold)
		if out != nil {
			if err := out.Write(scores, m.Threshold); err != nil {
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
		cr, closer, err := openInput(f.input, f.label, f.chunk)
		if err != nil {
			return err
		}
		defer closer.Close()
		if n := len(cr.Columns()); n != m.Cols {
			hint := ""
			if n == m.Cols+1 && f.label == "" {
				hint = " (is one of them a label column? name it with --label)"
			}
			return fmt.Errorf("%s has %d feature columns, the model was fitted on %d%s: %w", f.input, n, m.Cols, hint, detector.ErrDimension)
		}
		prog := newProgress(cmd.ErrOrStderr(), "scoring", f.json)
		res.Cols = m.Cols
		var buf []float64
		for {
			ch, err := cr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			t0 := time.Now()
			if len(buf) != ch.X.Rows {
				buf = make([]float64, ch.X.Rows)
			}
			s, err := m.Score(ctx, ch.X, buf)
			if err != nil {
				return fmt.Errorf("rows %d-%d: %w", ch.FirstRow, ch.FirstRow+ch.X.Rows-1, err)
			}
			res.ScoreSeconds += time.Since(t0).Seconds()
			res.Rows += ch.X.Rows
			res.Anomalies += countAbove(s, m.Threshold)
			if ch.Labels != nil {
				scores = append(scores, s...)
				labels = append(labels, ch.Labels...)
			}
			if out != nil {
				if err := out.Write(s, m.Threshold); err != nil {
					return err
				}
			}
			prog.update(res.Rows)
		}
		prog.done()
	}
	res.Algorithm, res.Threshold = m.Algorithm, m.Threshold
	if out != nil {
		if err := out.Close(); err != nil {
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

func countAbove(s []float64, thr float64) int {
	n := 0
	for _, v := range s {
		if v > thr {
			n++
		}
	}
	return n
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

// openInput opens a CSV file, or standard input for "-", for streaming.
func openInput(path, label string, chunk int) (*dataset.CSVReader, io.Closer, error) {
	opts := dataset.CSVOptions{Label: label, ChunkRows: chunk}
	if path == "-" {
		opts.Name = "stdin"
		cr, err := dataset.NewCSVReader(bufio.NewReaderSize(os.Stdin, 1<<16), opts)
		return cr, io.NopCloser(nil), err
	}
	return dataset.OpenCSV(path, opts)
}

// readInput reads a whole CSV file (or standard input) into memory.
func readInput(path, label string, chunk int) (*dataset.Table, error) {
	cr, closer, err := openInput(path, label, chunk)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return cr.ReadAll()
}

// scoreWriter writes per-row scores and anomaly flags to a file. The file takes its place
// only at Close; Abort drops it, leaving any file of that name as it was.
type scoreWriter interface {
	Write(scores []float64, threshold float64) error
	Close() error
	Abort()
}

func createScoreWriter(path string) (scoreWriter, error) {
	f, err := createPending(path)
	if err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	if strings.HasSuffix(strings.ToLower(path), ".parquet") {
		return &parquetScores{f: f, w: parquet.NewGenericWriter[scoreRow](f)}, nil
	}
	w := &csvScores{f: f, w: bufio.NewWriterSize(f, 1<<16)}
	_, err = w.w.WriteString("score,is_anomaly\n")
	return w, err
}

type csvScores struct {
	f      *pendingFile
	w      *bufio.Writer
	b      []byte
	closed bool
}

func (c *csvScores) Write(scores []float64, thr float64) error {
	for _, s := range scores {
		c.b = strconv.AppendFloat(c.b[:0], s, 'g', -1, 64)
		if s > thr {
			c.b = append(c.b, ",1\n"...)
		} else {
			c.b = append(c.b, ",0\n"...)
		}
		if _, err := c.w.Write(c.b); err != nil {
			return fmt.Errorf("output: %w", err)
		}
	}
	return nil
}

func (c *csvScores) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	if err := c.w.Flush(); err != nil {
		c.f.abort()
		return fmt.Errorf("output: %w", err)
	}
	if err := c.f.commit(); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	return nil
}

func (c *csvScores) Abort() {
	c.closed = true
	c.f.abort()
}

type scoreRow struct {
	Score     float64 `parquet:"score"`
	IsAnomaly bool    `parquet:"is_anomaly"`
}

type parquetScores struct {
	f      *pendingFile
	w      *parquet.GenericWriter[scoreRow]
	rows   []scoreRow
	closed bool
}

func (p *parquetScores) Write(scores []float64, thr float64) error {
	p.rows = p.rows[:0]
	for _, s := range scores {
		p.rows = append(p.rows, scoreRow{s, s > thr})
	}
	if _, err := p.w.Write(p.rows); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	return nil
}

func (p *parquetScores) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	if err := p.w.Close(); err != nil {
		p.f.abort()
		return fmt.Errorf("output: %w", err)
	}
	if err := p.f.commit(); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	return nil
}

func (p *parquetScores) Abort() {
	p.closed = true
	p.f.abort()
}
