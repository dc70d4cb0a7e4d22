package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// ScoreWriter writes per-row scores and anomaly flags, a chunk at a time, in input order.
// Close flushes what is buffered; it does not close the io.Writer under it.
type ScoreWriter interface {
	Write(scores []float64, isAnomaly []bool) error
	Close() error
}

// ScoreRow is one row of a Parquet score file.
type ScoreRow struct {
	Score     float64 `parquet:"score"`
	IsAnomaly bool    `parquet:"is_anomaly"`
}

// scoreRowsPerGroup bounds the rows a Parquet score writer buffers before it writes a row
// group (16 bytes a row: 16 MiB), so its memory does not grow with the input.
const scoreRowsPerGroup = 1 << 20

// NewScoreWriter returns a ScoreWriter in the format of name's extension: Parquet for
// .parquet, CSV otherwise.
func NewScoreWriter(w io.Writer, name string) ScoreWriter {
	if ext := strings.ToLower(filepath.Ext(name)); ext == ".parquet" || ext == ".pq" {
		return NewParquetScoreWriter(w)
	}
	return NewCSVScoreWriter(w)
}

// NewCSVScoreWriter returns a ScoreWriter of CSV with the header score,is_anomaly and one
// line a row: the score in the shortest form that reads back exactly, then 1 or 0.
func NewCSVScoreWriter(w io.Writer) ScoreWriter {
	return &csvScores{w: bufio.NewWriterSize(w, 1<<16)}
}

type csvScores struct {
	w       *bufio.Writer
	b       []byte
	started bool
}

func (c *csvScores) Write(scores []float64, isAnomaly []bool) error {
	if len(scores) != len(isAnomaly) {
		return fmt.Errorf("dataset: %d scores, %d anomaly flags", len(scores), len(isAnomaly))
	}
	if !c.started {
		c.started = true
		if _, err := c.w.WriteString("score,is_anomaly\n"); err != nil {
			return fmt.Errorf("output: %w", err)
		}
	}
	for i, s := range scores {
		c.b = strconv.AppendFloat(c.b[:0], s, 'g', -1, 64)
		if isAnomaly[i] {
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
	if err := c.Write(nil, nil); err != nil { // the header, for no rows
		return err
	}
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	return nil
}

// NewParquetScoreWriter returns a ScoreWriter of Parquet with the columns score (DOUBLE) and
// is_anomaly (BOOLEAN), in row groups of at most a million rows.
func NewParquetScoreWriter(w io.Writer) ScoreWriter {
	return &parquetScores{w: parquet.NewGenericWriter[ScoreRow](w, parquet.MaxRowsPerRowGroup(scoreRowsPerGroup))}
}

type parquetScores struct {
	w      *parquet.GenericWriter[ScoreRow]
	rows   []ScoreRow
	closed bool
}

func (p *parquetScores) Write(scores []float64, isAnomaly []bool) error {
	if len(scores) != len(isAnomaly) {
		return fmt.Errorf("dataset: %d scores, %d anomaly flags", len(scores), len(isAnomaly))
	}
	if p.closed {
		return errors.New("output: write after close")
	}
	p.rows = p.rows[:0]
	for i, s := range scores {
		p.rows = append(p.rows, ScoreRow{s, isAnomaly[i]})
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
		return fmt.Errorf("output: %w", err)
	}
	return nil
}
