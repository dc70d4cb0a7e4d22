package backend

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gonomaly/gonomaly/store"
)

// ---- detection results

const resultCols = "id, detector_id, n_samples, n_anomalies, threshold, created_at, scores"

// InsertResult inserts one detection result; its arguments are the columns in this order.
const InsertResult = `INSERT INTO detection_results
	(id, detector_id, n_samples, n_anomalies, threshold, created_at, scores) VALUES ($1, $2, $3, $4, $5, $6, $7)`

func (r *Records) scanResult(row Row) (*store.Result, error) {
	var (
		res    store.Result
		scores []byte
	)
	if err := row.Scan(&res.ID, &res.DetectorID, &res.NSamples, &res.Anomalies, &res.Threshold, r.d.ScanTime(&res.CreatedAt), &scores); err != nil {
		return nil, err
	}
	var err error
	if res.Scores, err = DecodeScores(scores); err != nil {
		return nil, fmt.Errorf("result %s: %w", res.ID, err)
	}
	return &res, nil
}

// CreateResults implements store.Results: the DB's ResultInserter when it has one, else one
// INSERT (prepared, for back ends that prepare) per result, in a transaction for a batch.
//
// The foreign key finds results of detectors that do not exist, also of one deleted while
// the insert runs; then one more read names them all, for the caller to retry without
// them (store.MissingDetectorsError). When that read finds every detector (one was created
// in between), the insert is tried again.
func (r *Records) CreateResults(ctx context.Context, rs ...*store.Result) error {
	for _, res := range rs {
		if err := CheckResult(res); err != nil {
			return err
		}
	}
	if len(rs) == 0 {
		return nil
	}
	for _, res := range rs {
		if !ValidID(res.DetectorID) { // names no detector: no insert can succeed
			return r.missingDetectors(ctx, rs, nil)
		}
	}
	ids := make([]string, len(rs))
	created := make([]time.Time, len(rs))
	for i, res := range rs {
		ids[i], created[i] = orNewID(res.ID), OrNow(res.CreatedAt)
	}
	what := fmt.Sprintf("create %d results", len(rs))
	if len(rs) == 1 {
		what = "result " + ids[0] + ": create"
	}
	const attempts = 3
	for attempt := 1; ; attempt++ {
		var err error
		if r.ri != nil {
			err = r.ri.InsertResults(ctx, rs, ids, created)
		} else {
			err = r.insertResults(ctx, rs, ids, created)
		}
		if err == nil {
			break
		}
		if !r.d.IsForeignKey(err) || attempt == attempts {
			return r.fail(what, err)
		}
		if err := r.missingDetectors(ctx, rs, err); err != nil {
			return err
		}
	}
	for i, res := range rs {
		res.ID, res.CreatedAt = ids[i], created[i]
	}
	return nil
}

// missingDetectors returns a *store.MissingDetectorsError naming the detectors of rs that do
// not exist, found with one read, or nil when every one exists. cause is the error of the
// insert that failed on the foreign key, nil when there was none.
func (r *Records) missingDetectors(ctx context.Context, rs []*store.Result, cause error) error {
	var ids []string // the well-formed distinct detector ids, to look up
	seen := make(map[string]struct{}, len(rs))
	for _, res := range rs {
		if _, ok := seen[res.DetectorID]; !ok {
			seen[res.DetectorID] = struct{}{}
			if ValidID(res.DetectorID) {
				ids = append(ids, res.DetectorID)
			}
		}
	}
	found := make(map[string]bool, len(ids))
	if len(ids) > 0 {
		err := r.db.Read(ctx, func(c Conn) error {
			return c.Query(ctx, r.q.detectorsExist, []any{r.d.ListArg(ids)}, func(row Row) error {
				var id string
				err := row.Scan(&id)
				found[id] = true
				return err
			})
		})
		if err != nil {
			what := fmt.Sprintf("create %d results: find the missing detectors", len(rs))
			if cause != nil {
				err = errors.Join(cause, err)
			}
			return r.fail(what, err)
		}
	}
	var missing []string
	for _, res := range rs {
		if _, ok := seen[res.DetectorID]; ok && !found[res.DetectorID] {
			missing = append(missing, res.DetectorID)
			delete(seen, res.DetectorID)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &store.MissingDetectorsError{IDs: missing}
}

// insertResults is CreateResults' default: one INSERT per result, in a transaction for a
// batch. It returns the database's error.
func (r *Records) insertResults(ctx context.Context, rs []*store.Result, ids []string, created []time.Time) error {
	insertAll := func(c Conn) error {
		for i, res := range rs {
			_, err := c.Exec(ctx, InsertResult,
				ids[i], res.DetectorID, res.NSamples, res.Anomalies, res.Threshold, r.d.TimeArg(created[i]), EncodeScores(res.Scores))
			if err != nil {
				return err
			}
		}
		return nil
	}
	if len(rs) == 1 {
		return r.db.Write(ctx, insertAll)
	}
	return r.db.Tx(ctx, insertAll)
}

// GetResult implements store.Results.
func (r *Records) GetResult(ctx context.Context, id string) (*store.Result, error) {
	return getRecord(ctx, r, "result", id, "SELECT "+resultCols+" FROM detection_results WHERE id = $1", r.scanResult)
}

// ListResults implements store.Results.
func (r *Records) ListResults(ctx context.Context, f store.ResultFilter) ([]*store.Result, error) {
	var q Query
	if f.DetectorID != "" {
		if !ValidID(f.DetectorID) { // names no detector
			return nil, nil
		}
		q.Where("detector_id = ?", f.DetectorID)
	}
	r.timeRange(&q, "created_at", f.Since, f.Until)
	query := "SELECT " + resultCols + " FROM detection_results" + q.Clause() + " ORDER BY created_at DESC, id DESC" + q.Page(f.Limit, f.Offset)
	return list(ctx, r, "results", query, q.Args, r.scanResult)
}
