package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
)

// streamPlan is detect's plan for data fitted on a sample and scored streaming.
type streamPlan struct {
	fitRows  int   // the sample's size asked for
	keepRows int64 // rows of scores and labels the metrics may hold beside the model
	fits     bool  // the sample, its fit and the stream fit the budget (not --force'd past it)
	// Filled by the sampling pass.
	sampled       int
	seen          int64
	sampleSeconds float64
}

// inputShape is what detect learns of --input before reading it whole: its feature columns
// and an estimate of its rows.
type inputShape struct {
	cols int
	rows int64 // 0 when unknown
}

// probeInput reads the first chunk of path to learn its columns and estimate its rows: a
// Parquet footer says how many; for CSV the file's size over the first chunk's bytes per row
// (gzip: the share of the compressed file the chunk took). An error of that chunk (a bad
// row, no rows) is returned as reading the file would return it.
func probeInput(ctx context.Context, path, label string) (inputShape, error) {
	src, err := dataset.Open(path, dataset.Options{Label: label})
	if err != nil {
		return inputShape{}, err
	}
	defer src.Close()
	sh := inputShape{cols: len(src.Columns())}
	if _, err := src.Next(ctx); err != nil {
		return sh, err
	}
	if z, ok := src.(dataset.Sized); ok {
		sh.rows = z.TotalRows()
	}
	return sh, nil
}

// planDetect decides how detect --algorithm runs on a file: nil to read it into memory and
// fit on every row (the data, its growth while read, and the fit fit --max-memory), or a
// plan to fit on a sample and stream (the data would not fit, or --fit-rows asks for it).
// The switch is said on w. A sample that does not fit the budget either is refused like a
// fit over it (a warning, exit 1) unless --force.
func (f *detectFlags) planDetect(ctx context.Context, w io.Writer, m *detector.Model, fitRowsSet bool) (*streamPlan, error) {
	sh, err := probeInput(ctx, f.input, f.label)
	if err != nil {
		return nil, err
	}
	budget := int64(f.maxMemory)
	rows, cols := sh.rows, sh.cols
	labelled := f.label != ""
	if !fitRowsSet && (rows <= 0 || inMemoryBytes(m, f.input, rows, cols, labelled) <= float64(budget)) {
		return nil, nil
	}
	stream := streamBytes(f.chunk, cols, f.input, f.output)
	p := &streamPlan{fitRows: f.fitRows}
	if !fitRowsSet {
		hi := int64(maxAutoFitRows)
		if rows > 0 {
			hi = min(hi, rows)
		}
		// The largest sample whose rows and fit fit the budget with the stream's buffers:
		// Estimate grows with the rows, so a binary search finds it.
		lo := int64(0)
		for lo < hi {
			mid := lo + (hi-lo+1)/2
			if float64(baseMemory+stream)+sampleBytes(m, mid, cols) <= float64(budget) {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		p.fitRows = int(lo)
		if lo < minFitRows {
			p.fitRows = minFitRows
			if rows > 0 {
				p.fitRows = int(min(rows, minFitRows))
			}
		}
		fmt.Fprintf(w, "note: %s holds about %s rows x %d columns: reading them and fitting %s on all of them needs about %s, over --max-memory %s; fitting on a seeded sample of %s rows instead, then scoring every row streaming\n",
			f.input, group(sh.rows), cols, m.Algorithm, humanSize(int64(min(inMemoryBytes(m, f.input, rows, cols, labelled), math.MaxInt64/2))),
			formatSize(budget), group(int64(p.fitRows)))
	} else {
		fmt.Fprintf(w, "note: fitting %s on a seeded sample of %s rows (--fit-rows) of %s, then scoring every row streaming\n", m.Algorithm, group(int64(p.fitRows)), f.input)
	}
	need := float64(baseMemory+stream) + sampleBytes(m, int64(p.fitRows), cols)
	p.fits = need <= float64(budget)
	if err := m.CheckBudget(p.fitRows, cols, detector.Budget{Bytes: budget, Time: f.maxFitTime}); err != nil {
		if !errors.Is(err, detector.ErrOverBudget) {
			return nil, err
		}
		if err := f.checkBudget(w, m, p.fitRows, cols); err != nil { // the warning, and --force
			return nil, err
		}
		p.fits = false
	} else if !p.fits {
		fmt.Fprintf(w, "warning: a sample of %s rows x %d columns, its fit and the stream's buffers need about %s, over --max-memory %s\n",
			group(int64(p.fitRows)), cols, humanSize(int64(need)), formatSize(budget))
		if !f.force {
			return nil, errors.New("not fitting over the budget: ask for fewer rows with --fit-rows, raise --max-memory, or pass --force to fit anyway")
		}
		fmt.Fprintln(w, "warning: fitting anyway (--force)")
	}
	left := float64(budget-baseMemory-stream) - retainedBytes(int64(p.fitRows), cols)
	p.keepRows = int64(max(0, left) / metricBytesPerRow)
	return p, nil
}

// inMemoryBytes estimates what reading rows x cols into memory and fitting on them needs:
// the base and the reader's buffers, the matrix twice (a slice grown by appending holds up to
// twice its length), the labels and metrics, the anomaly flags, and the detector's estimate
// of the fit.
func inMemoryBytes(m *detector.Model, in string, rows int64, cols int, labelled bool) float64 {
	r := float64(rows)
	need := float64(baseMemory+readerBytes(in, cols)) + 2*r*float64(cols)*8 + r
	if labelled {
		need += 2*r*8 + metricBytesPerRow*r
	}
	if rows > math.MaxInt32 {
		return need + float64(m.Estimate(math.MaxInt32, cols).Bytes)
	}
	return need + float64(m.Estimate(int(rows), cols).Bytes)
}

// sampleBytes is what a sample of n rows x cols and the fit on it need: the rows, the
// sampler's bookkeeping (a stream row and a slot a row), and the detector's estimate.
func sampleBytes(m *detector.Model, n int64, cols int) float64 {
	return retainedBytes(n, cols) + float64(m.Estimate(int(n), cols).Bytes)
}

// retainedBytes is what may outlive a fit on n rows: the sample itself, which neighbour
// detectors keep as their model.
func retainedBytes(n int64, cols int) float64 {
	return float64(n) * (float64(cols)*8 + 16)
}

// streamBytes is what the scoring pass holds whatever the rows: the source's chunk and the
// two ScoreStream copies, their scores and flags, and the Parquet reader's pages (a page of
// every column) or writer's row group when those formats are in play.
func streamBytes(chunk, cols int, in, out string) int64 {
	b := int64(chunk)*(3*int64(cols)*8+2*9) + readerBytes(in, cols)
	if isParquetName(out) {
		b += 48 << 20
	}
	return b
}

// readerBytes is what reading in holds besides its chunk: for Parquet, a page of every
// column and the library's decode buffers (a page is a megabyte or so).
func readerBytes(in string, cols int) int64 {
	if isParquetName(in) {
		return 8<<20 + int64(min(cols, 1024))<<20
	}
	return 0
}

func isParquetName(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".parquet" || ext == ".pq"
}

// modelBytes is the size of a model file, a stand-in for what the loaded model holds.
func modelBytes(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return 2 * fi.Size()
}

// setMemoryLimit sets the runtime's soft memory limit to the budget, so the heap of a large
// sample does not grow to twice its live size before a collection, and returns what undoes
// it. A GOMEMLIMIT the user set is left alone, as is a budget too small to steer by.
func setMemoryLimit(budget int64) func() {
	if os.Getenv("GOMEMLIMIT") != "" || budget < 2*baseMemory {
		return func() {}
	}
	prev := debug.SetMemoryLimit(budget)
	return func() { debug.SetMemoryLimit(prev) }
}
