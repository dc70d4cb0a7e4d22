package detector

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/progress"
)

// ProgressFunc receives the progress of a long step: phase names it ("fit", "score",
// "neighbours", ...), done and total count rows (total is 0 when not known, and may be an
// estimate that changes). It is called from one goroutine at a time per operation, often, so
// it must return quickly.
type ProgressFunc = progress.Func

// WithProgress returns a context that carries fn: long operations given it (Model.Fit and
// Score, ScoreStream, and the detectors' own long loops) report their progress to fn.
func WithProgress(ctx context.Context, fn ProgressFunc) context.Context {
	return progress.With(ctx, fn)
}

// ReportProgress passes progress to the ProgressFunc of ctx, if any. Without one it costs a
// context lookup and nothing else; a loop reports once per chunk of work, not per row.
func ReportProgress(ctx context.Context, phase string, done, total int64) {
	progress.Report(ctx, phase, done, total)
}

// streamBuffers is the number of chunks ScoreStream holds besides the source's own: one being
// scored while the next one is read.
const streamBuffers = 2

// chunk is a block of rows copied out of a Source, so the source can read on meanwhile.
type chunk struct {
	x     dataset.Matrix
	first int   // 1-based row of the source of the chunk's first row
	total int64 // the source's TotalRows after reading it, 0 when unknown
}

// ScoreStream scores every row of src into w, a chunk at a time, in input order, and
// returns the number of rows scored. The scores are those Score gives for the whole table
// (scoring never depends on the batch); each chunk is scored on all cores while the next one
// is read, so memory is bounded by a few chunks, whatever the size of the input. It reports
// progress as phase "score" (see WithProgress), with the total from the source when it is
// dataset.Sized.
//
// A source with columns other than the model's is an error wrapping ErrDimension before any
// row is read; an error of the source, the model or w stops the stream and is returned with
// the rows scored before it. Cancelling ctx stops it too.
func (m *Model) ScoreStream(ctx context.Context, src dataset.Source, w dataset.ScoreWriter) (n int, err error) {
	if !m.Fitted() {
		return 0, fmt.Errorf("detector: %s: %w", m.Algorithm, ErrNotFitted)
	}
	if c := len(src.Columns()); c != m.Cols {
		return 0, fmt.Errorf("detector: %s: model was fitted on %d columns, data has %d: %w", m.Algorithm, m.Cols, c, ErrDimension)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	free := make(chan *chunk, streamBuffers)
	for range streamBuffers {
		free <- &chunk{}
	}
	full := make(chan *chunk) // closed by the reader at the end or on error
	var readErr error         // the reader's, read after full is closed
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(full)
		readErr = m.readChunks(ctx, src, free, full)
	}()
	// The reader stops when ctx is cancelled; wait for it before returning, so it never
	// outlives the call nor touches src afterwards.
	defer func() {
		cancel()
		for range full {
		}
		<-done
	}()

	var scores []float64
	var flags []bool
	for c := range full {
		x := &c.x
		if cap(scores) < x.Rows {
			scores, flags = make([]float64, x.Rows), make([]bool, x.Rows)
		}
		s, err := m.Score(ctx, x, scores[:x.Rows])
		if err != nil {
			return n, fmt.Errorf("rows %d-%d: %w", c.first, c.first+x.Rows-1, err)
		}
		f := flags[:x.Rows]
		for i, v := range s {
			f[i] = v > m.Threshold
		}
		if err := w.Write(s, f); err != nil {
			return n, err
		}
		n += x.Rows
		total := c.total
		free <- c
		ReportProgress(ctx, "score", int64(n), total)
	}
	<-done
	if readErr != nil {
		return n, readErr
	}
	return n, ctx.Err()
}

// readChunks copies the chunks of src into free buffers and hands them on in order until
// the source ends (nil), fails, or ctx is done.
func (m *Model) readChunks(ctx context.Context, src dataset.Source, free <-chan *chunk, full chan<- *chunk) error {
	row := 1
	sized, _ := src.(dataset.Sized)
	for {
		var c *chunk
		select {
		case c = <-free:
		case <-ctx.Done():
			return ctx.Err()
		}
		x, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if x.Cols != m.Cols {
			return fmt.Errorf("detector: %s: model was fitted on %d columns, a chunk has %d: %w", m.Algorithm, m.Cols, x.Cols, ErrDimension)
		}
		c.x.Rows, c.x.Cols = x.Rows, x.Cols
		c.x.Data = append(c.x.Data[:0], x.Data...)
		c.first = row
		row += x.Rows
		if sized != nil {
			c.total = sized.TotalRows()
		}
		select {
		case full <- c:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
