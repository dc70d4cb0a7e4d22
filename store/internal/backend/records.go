package backend

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gonomaly/gonomaly/store"
)

// Records implements the record methods of store.Store (every method but Ping and Close) over
// a back end's DB and Dialect. A back end embeds it in its store type.
type Records struct {
	db DB
	d  Dialect
	q  queries
	ri ResultInserter // nil: the default
	si SampleInserter // nil: the default
}

// NewRecords returns the record methods over db, which speaks d.
func NewRecords(db DB, d Dialect) *Records {
	r := &Records{db: db, d: d, q: newQueries(d)}
	r.ri, _ = db.(ResultInserter)
	r.si, _ = db.(SampleInserter)
	return r
}

// queries are the statements whose text depends on the dialect, built once per store.
type queries struct {
	createDetector, getDetector, getDetectors, updateDetector, saveModel, setFitted string
	detectorsExist, createRun                                                       string
}

func newQueries(d Dialect) queries {
	// The stored algorithm, parameters and contamination (the old values, as UPDATE sees them
	// on its right-hand sides) equal the new ones.
	sameConfig := `(algorithm_name = $3 AND ` + d.JSONText("parameters") + ` = ` + d.JSONText("$4") + ` AND contamination = $5)`
	// $7, when not 0, is the version the update applies to.
	const ifVersion = `(CAST($7 AS bigint) = 0 OR version = CAST($7 AS bigint))`
	return queries{
		createDetector: `INSERT INTO detectors
			(id, name, algorithm_name, parameters, contamination, version, created_at, updated_at)
			VALUES ($1, $2, $3, ` + d.JSON("$4") + `, $5, 1, $6, $6)`,
		getDetector:    "SELECT " + detectorCols + ", model FROM detectors WHERE id = $1",
		getDetectors:   "SELECT " + detectorCols + " FROM detectors WHERE " + d.InList("id", "$1"),
		detectorsExist: "SELECT id FROM detectors WHERE " + d.InList("id", "$1"),
		updateDetector: `UPDATE detectors SET
				is_fitted     = CASE WHEN ` + sameConfig + ` THEN is_fitted ELSE false END,
				model         = CASE WHEN ` + sameConfig + ` THEN model ELSE NULL END,
				threshold     = CASE WHEN ` + sameConfig + ` THEN threshold ELSE 0 END,
				n_features    = CASE WHEN ` + sameConfig + ` THEN n_features ELSE 0 END,
				training_time = CASE WHEN ` + sameConfig + ` THEN training_time ELSE 0 END,
				name = $2, algorithm_name = $3, parameters = ` + d.JSON("$4") + `, contamination = $5,
				version = version + 1, updated_at = $6
			WHERE id = $1 AND ` + ifVersion + `
			RETURNING ` + detectorCols,
		saveModel: `UPDATE detectors SET
				model = $2, threshold = $3, n_features = $4, training_time = $5, is_fitted = true,
				version = version + 1, updated_at = $6
			WHERE id = $1 AND ` + ifVersion + `
			RETURNING ` + detectorCols,
		setFitted: `UPDATE detectors SET is_fitted = $2, version = version + 1, updated_at = $3
			WHERE ` + d.InList("id", "$1") + ` AND is_fitted <> $2 AND (NOT $2 OR model IS NOT NULL)`,
		createRun: `INSERT INTO benchmark_runs
			(id, suite_id, kind, name, created_at, document) VALUES ($1, $2, $3, $4, $5, ` + d.JSON("$6") + `)`,
	}
}

// HotQueries are the statements of the calls the server makes per request, the reads
// (GetDetector, GetDetectors) and the writes (a single result's insert), for a back end that
// prepares statements itself.
func HotQueries(d Dialect) (reads, writes []string) {
	q := newQueries(d)
	return []string{q.getDetector, q.getDetectors}, []string{InsertResult, InsertSample}
}

// getRecord runs a single-row query with the id as its only argument, makes the record of
// the row with scan, and maps no row, or an id that is not well-formed, to ErrNotFound.
func getRecord[T any](ctx context.Context, r *Records, what, id, query string, scan func(Row) (T, error)) (T, error) {
	var v T
	if !ValidID(id) {
		return v, notFound(what, id)
	}
	err := r.db.Read(ctx, func(c Conn) (err error) {
		v, err = scan(c.QueryRow(ctx, query, id))
		return err
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return v, notFound(what, id)
	case err != nil:
		return v, r.fail(what+" "+id, err)
	}
	return v, nil
}

// list runs a query and makes a record of every row with scan.
func list[T any](ctx context.Context, r *Records, what, query string, args []any, scan func(Row) (T, error)) ([]T, error) {
	var out []T
	err := r.db.Read(ctx, func(c Conn) error {
		return c.Query(ctx, query, args, func(row Row) error {
			v, err := scan(row)
			out = append(out, v)
			return err
		})
	})
	if err != nil {
		return nil, r.fail("list "+what, err)
	}
	return out, nil
}

// insert runs an INSERT and maps a taken id to ErrConflict.
func (r *Records) insert(ctx context.Context, what, id, query string, args ...any) error {
	err := r.db.Write(ctx, func(c Conn) error {
		_, err := c.Exec(ctx, query, args...)
		return err
	})
	if err != nil {
		return r.fail(what+" "+id+": create", err)
	}
	return nil
}

// exec runs a statement that changes rows and returns how many it changed.
func (r *Records) exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := r.db.Write(ctx, func(c Conn) (err error) {
		n, err = c.Exec(ctx, query, args...)
		return err
	})
	return n, err
}

func (r *Records) deleteByID(ctx context.Context, what, query, id string) error {
	if !ValidID(id) {
		return notFound(what, id)
	}
	n, err := r.exec(ctx, query, id)
	switch {
	case err != nil:
		return r.fail(what+" "+id+": delete", err)
	case n == 0:
		return notFound(what, id)
	}
	return nil
}

// time is t, rounded as the store keeps times, as a statement argument.
func (r *Records) time(t time.Time) any { return r.d.TimeArg(Time(t)) }

// timeRange adds from <= col < to, for the bounds that are set.
func (r *Records) timeRange(q *Query, col string, from, to time.Time) {
	if !from.IsZero() {
		q.Where(col+" >= ?", r.time(from))
	}
	if !to.IsZero() {
		q.Where(col+" < ?", r.time(to))
	}
}

func orNewID(id string) string {
	if id == "" {
		return NewID()
	}
	return id
}

// Nullable is b, or nil (SQL NULL) when b is empty.
func Nullable(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// ---- datasets

const datasetCols = "id, name, n_samples, n_features, file_format, path, created_at"

func (r *Records) scanDataset(row Row, withData bool) (*store.Dataset, error) {
	var d store.Dataset
	dest := []any{&d.ID, &d.Name, &d.NSamples, &d.NFeatures, &d.FileFormat, &d.Path, r.d.ScanTime(&d.CreatedAt)}
	if withData {
		dest = append(dest, &d.Data)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	return &d, nil
}

// CreateDataset implements store.Datasets.
func (r *Records) CreateDataset(ctx context.Context, d *store.Dataset) error {
	if err := CheckDataset(d); err != nil {
		return err
	}
	id, created := orNewID(d.ID), OrNow(d.CreatedAt)
	if err := r.insert(ctx, "dataset", id, `INSERT INTO datasets
		(id, name, n_samples, n_features, file_format, path, created_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		id, d.Name, d.NSamples, d.NFeatures, d.FileFormat, d.Path, r.d.TimeArg(created), Nullable(d.Data)); err != nil {
		return err
	}
	d.ID, d.CreatedAt = id, created
	return nil
}

// GetDataset implements store.Datasets.
func (r *Records) GetDataset(ctx context.Context, id string) (*store.Dataset, error) {
	return getRecord(ctx, r, "dataset", id, "SELECT "+datasetCols+", data FROM datasets WHERE id = $1",
		func(row Row) (*store.Dataset, error) { return r.scanDataset(row, true) })
}

// ListDatasets implements store.Datasets.
func (r *Records) ListDatasets(ctx context.Context, f store.DatasetFilter) ([]*store.Dataset, error) {
	if err := checkFilter("datasets", textField{name: "file format", value: f.FileFormat}); err != nil {
		return nil, err
	}
	var q Query
	if f.FileFormat != "" {
		q.Where("file_format = ?", f.FileFormat)
	}
	if f.MinSamples > 0 {
		q.Where("n_samples >= ?", f.MinSamples)
	}
	query := "SELECT " + datasetCols + " FROM datasets" + q.Clause() + " ORDER BY created_at DESC, id DESC" + q.Page(f.Limit, f.Offset)
	return list(ctx, r, "datasets", query, q.Args,
		func(row Row) (*store.Dataset, error) { return r.scanDataset(row, false) })
}

// DeleteDataset implements store.Datasets.
func (r *Records) DeleteDataset(ctx context.Context, id string) error {
	return r.deleteByID(ctx, "dataset", "DELETE FROM datasets WHERE id = $1", id)
}

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

// ---- benchmark runs

const runCols = "id, suite_id, kind, name, created_at, document"

func (r *Records) scanRun(row Row) (*store.BenchmarkRun, error) {
	var (
		run store.BenchmarkRun
		doc []byte
	)
	if err := row.Scan(&run.ID, &run.SuiteID, &run.Kind, &run.Name, r.d.ScanTime(&run.CreatedAt), &doc); err != nil {
		return nil, err
	}
	run.Document = doc
	return &run, nil
}

// CreateBenchmarkRun implements store.BenchmarkRuns.
func (r *Records) CreateBenchmarkRun(ctx context.Context, run *store.BenchmarkRun) error {
	if err := CheckBenchmarkRun(run); err != nil {
		return err
	}
	id, created := orNewID(run.ID), OrNow(run.CreatedAt)
	if err := r.insert(ctx, "benchmark run", id, r.q.createRun,
		id, run.SuiteID, run.Kind, run.Name, r.d.TimeArg(created), string(run.Document)); err != nil {
		return err
	}
	run.ID, run.CreatedAt = id, created
	return nil
}

// GetBenchmarkRun implements store.BenchmarkRuns.
func (r *Records) GetBenchmarkRun(ctx context.Context, id string) (*store.BenchmarkRun, error) {
	return getRecord(ctx, r, "benchmark run", id, "SELECT "+runCols+" FROM benchmark_runs WHERE id = $1", r.scanRun)
}

// ListBenchmarkRuns implements store.BenchmarkRuns.
func (r *Records) ListBenchmarkRuns(ctx context.Context, f store.BenchmarkFilter) ([]*store.BenchmarkRun, error) {
	if err := checkFilter("benchmark runs",
		textField{name: "suite id", value: f.SuiteID}, textField{name: "kind", value: f.Kind}); err != nil {
		return nil, err
	}
	var q Query
	if f.SuiteID != "" {
		q.Where("suite_id = ?", f.SuiteID)
	}
	if f.Kind != "" {
		q.Where("kind = ?", f.Kind)
	}
	r.timeRange(&q, "created_at", f.Since, f.Until)
	query := "SELECT " + runCols + " FROM benchmark_runs" + q.Clause() + " ORDER BY created_at DESC, id DESC" + q.Page(f.Limit, f.Offset)
	return list(ctx, r, "benchmark runs", query, q.Args, r.scanRun)
}

// DeleteBenchmarkRun implements store.BenchmarkRuns.
func (r *Records) DeleteBenchmarkRun(ctx context.Context, id string) error {
	return r.deleteByID(ctx, "benchmark run", "DELETE FROM benchmark_runs WHERE id = $1", id)
}

// ---- metric samples

// InsertSample inserts one metric sample: time, name, value, labels.
const InsertSample = "INSERT INTO metric_samples (time, name, value, labels) VALUES ($1, $2, $3, $4)"

// AddSamples implements store.Metrics: the DB's SampleInserter when it has one, else one
// prepared INSERT per sample in a transaction.
func (r *Records) AddSamples(ctx context.Context, samples ...store.Sample) error {
	for i := range samples {
		if err := CheckSample(&samples[i]); err != nil {
			return err
		}
	}
	if len(samples) == 0 {
		return nil
	}
	var err error
	if r.si != nil {
		err = r.si.InsertSamples(ctx, samples)
	} else {
		err = r.db.Tx(ctx, func(c Conn) error {
			for _, m := range samples {
				if _, err := c.Exec(ctx, InsertSample, r.time(m.Time), m.Name, m.Value, EncodeLabels(m.Labels)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return r.fail(fmt.Sprintf("add %d metric samples", len(samples)), err)
	}
	return nil
}

// QuerySamples implements store.Metrics.
func (r *Records) QuerySamples(ctx context.Context, sq store.SampleQuery) ([]store.Sample, error) {
	if sq.Name == "" {
		return nil, fmt.Errorf("store: query metric samples: name is empty: %w", store.ErrInvalid)
	}
	if err := checkFilter("metric samples", textField{name: "name", value: sq.Name}); err != nil {
		return nil, err
	}
	if err := checkLabels("query metric samples", sq.Labels, 0); err != nil {
		return nil, err
	}
	var q Query
	q.Where("name = ?", sq.Name)
	r.timeRange(&q, "time", sq.From, sq.To)
	if sq.Labels != nil {
		q.Where("labels = ?", EncodeLabels(sq.Labels))
	}
	query := "SELECT time, name, value, labels FROM metric_samples" + q.Clause() + " ORDER BY time, labels" + q.Page(sq.Limit, 0)
	out, err := list(ctx, r, "metric samples", query, q.Args, func(row Row) (store.Sample, error) {
		var (
			m      store.Sample
			labels string
		)
		if err := row.Scan(r.d.ScanTime(&m.Time), &m.Name, &m.Value, &labels); err != nil {
			return m, err
		}
		var err error
		m.Labels, err = DecodeLabels(labels)
		return m, err
	})
	if err == nil && out == nil {
		out = []store.Sample{}
	}
	return out, err
}

// DeleteSamplesBefore implements store.Metrics.
func (r *Records) DeleteSamplesBefore(ctx context.Context, t time.Time) (int64, error) {
	n, err := r.exec(ctx, "DELETE FROM metric_samples WHERE time < $1", r.time(t))
	if err != nil {
		return 0, r.fail(fmt.Sprintf("delete metric samples before %v", t), err)
	}
	return n, nil
}

// ---- alerts

const alertCols = "id, created_at, severity, metric, message, value, threshold, resolved_at"

func (r *Records) scanAlert(row Row) (*store.Alert, error) {
	var a store.Alert
	err := row.Scan(&a.ID, r.d.ScanTime(&a.CreatedAt), &a.Severity, &a.Metric, &a.Message, &a.Value, &a.Threshold,
		r.d.ScanTime(&a.ResolvedAt))
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// CreateAlert implements store.Alerts.
func (r *Records) CreateAlert(ctx context.Context, a *store.Alert) error {
	if err := CheckAlert(a); err != nil {
		return err
	}
	id, created := orNewID(a.ID), OrNow(a.CreatedAt)
	var resolved any
	if !a.ResolvedAt.IsZero() {
		resolved = r.time(a.ResolvedAt)
	}
	if err := r.insert(ctx, "alert", id, `INSERT INTO alerts
		(id, created_at, severity, metric, message, value, threshold, resolved_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		id, r.d.TimeArg(created), a.Severity, a.Metric, a.Message, a.Value, a.Threshold, resolved); err != nil {
		return err
	}
	a.ID, a.CreatedAt = id, created
	if !a.ResolvedAt.IsZero() {
		a.ResolvedAt = Time(a.ResolvedAt)
	}
	return nil
}

// GetAlert implements store.Alerts.
func (r *Records) GetAlert(ctx context.Context, id string) (*store.Alert, error) {
	return getRecord(ctx, r, "alert", id, "SELECT "+alertCols+" FROM alerts WHERE id = $1", r.scanAlert)
}

// ListAlerts implements store.Alerts.
func (r *Records) ListAlerts(ctx context.Context, f store.AlertFilter) ([]*store.Alert, error) {
	if err := checkFilter("alerts",
		textField{name: "severity", value: f.Severity}, textField{name: "metric", value: f.Metric}); err != nil {
		return nil, err
	}
	var q Query
	if f.Severity != "" {
		q.Where("severity = ?", f.Severity)
	}
	if f.Metric != "" {
		q.Where("metric = ?", f.Metric)
	}
	if f.ActiveOnly {
		q.Where("resolved_at IS NULL")
	}
	r.timeRange(&q, "created_at", f.Since, f.Until)
	query := "SELECT " + alertCols + " FROM alerts" + q.Clause() + " ORDER BY created_at DESC, id DESC" + q.Page(f.Limit, f.Offset)
	return list(ctx, r, "alerts", query, q.Args, r.scanAlert)
}

// ResolveAlert implements store.Alerts.
func (r *Records) ResolveAlert(ctx context.Context, id string, at time.Time) error {
	if !ValidID(id) {
		return notFound("alert", id)
	}
	n, err := r.exec(ctx, "UPDATE alerts SET resolved_at = $2 WHERE id = $1 AND resolved_at IS NULL", id, r.d.TimeArg(OrNow(at)))
	if err != nil {
		return r.fail("alert "+id+": resolve", err)
	}
	if n == 1 {
		return nil
	}
	a, err := r.GetAlert(ctx, id)
	if err != nil {
		return err
	}
	return fmt.Errorf("store: alert %s: %w: resolved already at %s", id, store.ErrConflict, a.ResolvedAt.Format(time.RFC3339Nano))
}
