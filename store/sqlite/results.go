package sqlite

import (
	"context"
	"math/bits"
	"strings"
	"time"

	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/internal/backend"
)

var _ backend.ResultInserter = engine{}

// resultsPerInsert is the most results one INSERT of InsertResults carries (7 parameters
// each, far under SQLite's 32766).
const resultsPerInsert = 64

// insertResultsQueries[k] inserts 2^k results: a batch is written with one statement per set
// bit of its size (at most 64 results each), so that a few statements, prepared once on the
// writer, cover every size.
var insertResultsQueries = func() []string {
	qs := make([]string, bits.Len(resultsPerInsert))
	for k := range qs {
		var b strings.Builder
		b.WriteString("INSERT INTO detection_results (id, detector_id, n_samples, n_anomalies, threshold, created_at, scores) VALUES ")
		for i := range 1 << k {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?)")
		}
		qs[k] = b.String()
	}
	return qs
}()

// InsertResults implements backend.ResultInserter: a batch is written in one transaction with
// multi-row INSERTs of up to resultsPerInsert results, not one statement per result. The
// result writer saves every prediction's result this way, on the service's CPU: one statement
// per result paid database/sql's and the driver's per-statement cost (argument conversion,
// a step and a reset of the VM) for each (BenchmarkInsertResults).
func (e engine) InsertResults(ctx context.Context, rs []*store.Result, ids []string, created []time.Time) error {
	args := make([]any, 0, 7*min(len(rs), resultsPerInsert))
	insert := func(c backend.Conn) error {
		for lo := 0; lo < len(rs); {
			k := bits.Len(uint(min(len(rs)-lo, resultsPerInsert))) - 1 // the largest 2^k that fits
			args = args[:0]
			for i := lo; i < lo+1<<k; i++ {
				r := rs[i]
				args = append(args, ids[i], r.DetectorID, r.NSamples, r.Anomalies, r.Threshold, backend.Micros(created[i]), backend.EncodeScores(r.Scores))
			}
			if _, err := c.Exec(ctx, insertResultsQueries[k], args...); err != nil {
				return err
			}
			lo += 1 << k
		}
		return nil
	}
	if len(rs) == 1 {
		return e.Write(ctx, insert)
	}
	return e.Tx(ctx, insert)
}
