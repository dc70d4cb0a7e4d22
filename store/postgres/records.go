package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/internal/backend"
)

// getOne runs a single-row query with the id as its only argument and maps no row to
// ErrNotFound.
func (s *DB) getOne(ctx context.Context, what, id, query string, scan func(pgx.Row) error) error {
	err := s.with(ctx, func(c *pgxpool.Conn) error {
		return scan(c.QueryRow(ctx, query, id))
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("store: %s %s: %w", what, id, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("store: %s %s: %w", what, id, err)
	}
	return nil
}

// list runs a query and scans every row.
func (s *DB) list(ctx context.Context, what, query string, args []any, scan func(pgx.Row) error) error {
	err := s.with(ctx, func(c *pgxpool.Conn) error {
		rows, err := c.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("store: list %s: %w", what, err)
	}
	return nil
}

// insert runs an INSERT and maps a taken id to ErrConflict.
func (s *DB) insert(ctx context.Context, what, id, query string, args ...any) error {
	err := s.with(ctx, func(c *pgxpool.Conn) error {
		_, err := c.Exec(ctx, query, args...)
		return err
	})
	switch {
	case pgCode(err) == uniqueViolation:
		return fmt.Errorf("store: %s %s: %w: it already exists", what, id, store.ErrConflict)
	case err != nil:
		return fmt.Errorf("store: %s %s: create: %w", what, id, err)
	}
	return nil
}

func (s *DB) exec(ctx context.Context, what, query string, args ...any) (int64, error) {
	var n int64
	err := s.with(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, query, args...)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

func (s *DB) deleteByID(ctx context.Context, what, query, id string) error {
	n, err := s.exec(ctx, "delete "+what, query, id)
	switch {
	case err != nil:
		return fmt.Errorf("store: %s %s: delete: %w", what, id, err)
	case n == 0:
		return fmt.Errorf("store: %s %s: %w", what, id, store.ErrNotFound)
	}
	return nil
}

func orNewID(id string) string {
	if id == "" {
		return backend.NewID()
	}
	return id
}

// timeRange adds from <= col < to, for the bounds that are set.
func timeRange(q *backend.Query, col string, from, to time.Time) {
	if !from.IsZero() {
		q.Where(col+" >= ?", backend.Time(from))
	}
	if !to.IsZero() {
		q.Where(col+" < ?", backend.Time(to))
	}
}

// nullable is b, or nil (SQL NULL) when b is empty.
func nullable(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// ---- datasets

const datasetCols = "id, name, n_samples, n_features, file_format, path, created_at"

func scanDataset(row pgx.Row, withData bool) (*store.Dataset, error) {
	var d store.Dataset
	dest := []any{&d.ID, &d.Name, &d.NSamples, &d.NFeatures, &d.FileFormat, &d.Path, &d.CreatedAt}
	if withData {
		dest = append(dest, &d.Data)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	d.CreatedAt = d.CreatedAt.UTC()
	return &d, nil
}

// CreateDataset implements store.Datasets.
func (s *DB) CreateDataset(ctx context.Context, d *store.Dataset) error {
	if err := backend.CheckDataset(d); err != nil {
		return err
	}
	id, created := orNewID(d.ID), backend.OrNow(d.CreatedAt)
	if err := s.insert(ctx, "dataset", id, `INSERT INTO datasets
		(id, name, n_samples, n_features, file_format, path, created_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		id, d.Name, d.NSamples, d.NFeatures, d.FileFormat, d.Path, created, nullable(d.Data)); err != nil {
		return err
	}
	d.ID, d.CreatedAt = id, created
	return nil
}

// GetDataset implements store.Datasets.
func (s *DB) GetDataset(ctx context.Context, id string) (*store.Dataset, error) {
	var d *store.Dataset
	err := s.getOne(ctx, "dataset", id, "SELECT "+datasetCols+", data FROM datasets WHERE id = $1", func(row pgx.Row) (err error) {
		d, err = scanDataset(row, true)
		return err
	})
	return d, err
}

// ListDatasets implements store.Datasets.
func (s *DB) ListDatasets(ctx context.Context, f store.DatasetFilter) ([]*store.Dataset, error) {
	var q backend.Query
	if f.FileFormat != "" {
		q.Where("file_format = ?", f.FileFormat)
	}
	if f.MinSamples > 0 {
		q.Where("n_samples >= ?", f.MinSamples)
	}
	query := "SELECT " + datasetCols + " FROM datasets" + q.Clause() + " ORDER BY created_at DESC, id DESC" + q.Page(f.Limit, f.Offset)
	var out []*store.Dataset
	err := s.list(ctx, "datasets", query, q.Args, func(row pgx.Row) error {
		d, err := scanDataset(row, false)
		out = append(out, d)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteDataset implements store.Datasets.
func (s *DB) DeleteDataset(ctx context.Context, id string) error {
	return s.deleteByID(ctx, "dataset", "DELETE FROM datasets WHERE id = $1", id)
}

// ---- detection results

const resultCols = "id, detector_id, n_samples, n_anomalies, threshold, created_at, scores"

func scanResult(row pgx.Row) (*store.Result, error) {
	var (
		r      store.Result
		scores []byte
	)
	if err := row.Scan(&r.ID, &r.DetectorID, &r.NSamples, &r.Anomalies, &r.Threshold, &r.CreatedAt, &scores); err != nil {
		return nil, err
	}
	var err error
	if r.Scores, err = backend.DecodeScores(scores); err != nil {
		return nil, fmt.Errorf("result %s: %w", r.ID, err)
	}
	r.CreatedAt = r.CreatedAt.UTC()
	return &r, nil
}

const insertResult = `INSERT INTO detection_results
	(id, detector_id, n_samples, n_anomalies, threshold, created_at, scores) VALUES ($1, $2, $3, $4, $5, $6, $7)`

// CreateResults implements store.Results: one INSERT, also for a batch, whose columns travel
// as arrays that unnest turns back into rows (half the time per row of a pipelined batch of
// single-row inserts, measured with storetest.Benchmark).
func (s *DB) CreateResults(ctx context.Context, rs ...*store.Result) error {
	for _, r := range rs {
		if err := backend.CheckResult(r); err != nil {
			return err
		}
	}
	if len(rs) == 0 {
		return nil
	}
	n := len(rs)
	var (
		ids       = make([]string, n)
		detectors = make([]string, n)
		samples   = make([]int32, n)
		anomalies = make([]int32, n)
		threshold = make([]float64, n)
		created   = make([]time.Time, n)
		scores    = make([][]byte, n)
	)
	for i, r := range rs {
		ids[i], created[i] = orNewID(r.ID), backend.OrNow(r.CreatedAt)
		detectors[i], samples[i], anomalies[i], threshold[i] = r.DetectorID, int32(r.NSamples), int32(r.Anomalies), r.Threshold
		scores[i] = backend.EncodeScores(r.Scores)
	}
	err := s.with(ctx, func(c *pgxpool.Conn) error {
		var err error
		if n == 1 {
			_, err = c.Exec(ctx, insertResult, ids[0], detectors[0], samples[0], anomalies[0], threshold[0], created[0], nullable(scores[0]))
		} else {
			_, err = c.Exec(ctx, `INSERT INTO detection_results (id, detector_id, n_samples, n_anomalies, threshold, created_at, scores)
				SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::int4[], $5::float8[], $6::timestamptz[], $7::bytea[])`,
				ids, detectors, samples, anomalies, threshold, created, scores)
		}
		return err
	})
	switch pgCode(err) {
	case foreignKeyViolation:
		return s.missingDetector(ctx, ids, detectors, err)
	case uniqueViolation:
		return fmt.Errorf("store: %d results: %w: an id is taken (%s)", n, store.ErrConflict, pgDetail(err))
	}
	if err != nil {
		return fmt.Errorf("store: create %d results: %w", n, err)
	}
	for i, r := range rs {
		r.ID, r.CreatedAt = ids[i], created[i]
	}
	return nil
}

// missingDetector names the first result whose detector does not exist, after the insert
// failed on the foreign key.
func (s *DB) missingDetector(ctx context.Context, ids, detectors []string, cause error) error {
	var missing string
	err := s.with(ctx, func(c *pgxpool.Conn) error {
		return c.QueryRow(ctx, `SELECT d FROM unnest($1::text[]) AS d
			WHERE NOT EXISTS (SELECT 1 FROM detectors WHERE id = d) LIMIT 1`, detectors).Scan(&missing)
	})
	if err != nil { // the detector appeared since; report what the database said
		return fmt.Errorf("store: create %d results: %s: %w", len(ids), pgDetail(cause), store.ErrNotFound)
	}
	i := slices.Index(detectors, missing)
	return fmt.Errorf("store: result %s: detector %s: %w", ids[i], missing, store.ErrNotFound)
}

// GetResult implements store.Results.
func (s *DB) GetResult(ctx context.Context, id string) (*store.Result, error) {
	var r *store.Result
	err := s.getOne(ctx, "result", id, "SELECT "+resultCols+" FROM detection_results WHERE id = $1", func(row pgx.Row) (err error) {
		r, err = scanResult(row)
		return err
	})
	return r, err
}

// ListResults implements store.Results.
func (s *DB) ListResults(ctx context.Context, f store.ResultFilter) ([]*store.Result, error) {
	var q backend.Query
	if f.DetectorID != "" {
		q.Where("detector_id = ?", f.DetectorID)
	}
	timeRange(&q, "created_at", f.Since, f.Until)
	query := "SELECT " + resultCols + " FROM detection_results" + q.Clause() + " ORDER BY created_at DESC, id DESC" + q.Page(f.Limit, f.Offset)
	var out []*store.Result
	err := s.list(ctx, "results", query, q.Args, func(row pgx.Row) error {
		r, err := scanResult(row)
		out = append(out, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ---- benchmark runs

const runCols = "id, suite_id, kind, name, created_at, document"

func scanRun(row pgx.Row) (*store.BenchmarkRun, error) {
	var (
		r   store.BenchmarkRun
		doc []byte
	)
	if err := row.Scan(&r.ID, &r.SuiteID, &r.Kind, &r.Name, &r.CreatedAt, &doc); err != nil {
		return nil, err
	}
	r.CreatedAt, r.Document = r.CreatedAt.UTC(), doc
	return &r, nil
}

// CreateBenchmarkRun implements store.BenchmarkRuns.
func (s *DB) CreateBenchmarkRun(ctx context.Context, r *store.BenchmarkRun) error {
	if err := backend.CheckBenchmarkRun(r); err != nil {
		return err
	}
	id, created := orNewID(r.ID), backend.OrNow(r.CreatedAt)
	if err := s.insert(ctx, "benchmark run", id, `INSERT INTO benchmark_runs
		(id, suite_id, kind, name, created_at, document) VALUES ($1, $2, $3, $4, $5, $6::text::json)`,
		id, r.SuiteID, r.Kind, r.Name, created, string(r.Document)); err != nil {
		return err
	}
	r.ID, r.CreatedAt = id, created
	return nil
}

// GetBenchmarkRun implements store.BenchmarkRuns.
func (s *DB) GetBenchmarkRun(ctx context.Context, id string) (*store.BenchmarkRun, error) {
	var r *store.BenchmarkRun
	err := s.getOne(ctx, "benchmark run", id, "SELECT "+runCols+" FROM benchmark_runs WHERE id = $1", func(row pgx.Row) (err error) {
		r, err = scanRun(row)
		return err
	})
	return r, err
}

// ListBenchmarkRuns implements store.BenchmarkRuns.
func (s *DB) ListBenchmarkRuns(ctx context.Context, f store.BenchmarkFilter) ([]*store.BenchmarkRun, error) {
	var q backend.Query
	if f.SuiteID != "" {
		q.Where("suite_id = ?", f.SuiteID)
	}
	if f.Kind != "" {
		q.Where("kind = ?", f.Kind)
	}
	timeRange(&q, "created_at", f.Since, f.Until)
	query := "SELECT " + runCols + " FROM benchmark_runs" + q.Clause() + " ORDER BY created_at DESC, id DESC" + q.Page(f.Limit, f.Offset)
	var out []*store.BenchmarkRun
	err := s.list(ctx, "benchmark runs", query, q.Args, func(row pgx.Row) error {
		r, err := scanRun(row)
		out = append(out, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteBenchmarkRun implements store.BenchmarkRuns.
func (s *DB) DeleteBenchmarkRun(ctx context.Context, id string) error {
	return s.deleteByID(ctx, "benchmark run", "DELETE FROM benchmark_runs WHERE id = $1", id)
}

// ---- metric samples

// AddSamples implements store.Metrics with COPY, one statement however many samples.
func (s *DB) AddSamples(ctx context.Context, samples ...store.Sample) error {
	for i := range samples {
		if err := backend.CheckSample(&samples[i]); err != nil {
			return err
		}
	}
	if len(samples) == 0 {
		return nil
	}
	err := s.with(ctx, func(c *pgxpool.Conn) error {
		_, err := c.CopyFrom(ctx, pgx.Identifier{"metric_samples"}, []string{"time", "name", "value", "labels"},
			pgx.CopyFromSlice(len(samples), func(i int) ([]any, error) {
				m := &samples[i]
				return []any{backend.Time(m.Time), m.Name, m.Value, backend.EncodeLabels(m.Labels)}, nil
			}))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: add %d metric samples: %w", len(samples), err)
	}
	return nil
}

// QuerySamples implements store.Metrics.
func (s *DB) QuerySamples(ctx context.Context, sq store.SampleQuery) ([]store.Sample, error) {
	if sq.Name == "" {
		return nil, fmt.Errorf("store: query metric samples: name is empty: %w", store.ErrInvalid)
	}
	var q backend.Query
	q.Where("name = ?", sq.Name)
	timeRange(&q, "time", sq.From, sq.To)
	if sq.Labels != nil {
		q.Where("labels = ?", backend.EncodeLabels(sq.Labels))
	}
	query := "SELECT time, name, value, labels FROM metric_samples" + q.Clause() + " ORDER BY time, labels" + q.Page(sq.Limit, 0)
	out := []store.Sample{}
	err := s.list(ctx, "metric samples of "+sq.Name, query, q.Args, func(row pgx.Row) error {
		var (
			m      store.Sample
			labels string
		)
		if err := row.Scan(&m.Time, &m.Name, &m.Value, &labels); err != nil {
			return err
		}
		var err error
		m.Time = m.Time.UTC()
		m.Labels, err = backend.DecodeLabels(labels)
		out = append(out, m)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteSamplesBefore implements store.Metrics.
func (s *DB) DeleteSamplesBefore(ctx context.Context, t time.Time) (int64, error) {
	n, err := s.exec(ctx, "delete samples", "DELETE FROM metric_samples WHERE time < $1", backend.Time(t))
	if err != nil {
		return 0, fmt.Errorf("store: delete metric samples before %v: %w", t, err)
	}
	return n, nil
}

// ---- alerts

const alertCols = "id, created_at, severity, metric, message, value, threshold, resolved_at"

func scanAlert(row pgx.Row) (*store.Alert, error) {
	var (
		a        store.Alert
		resolved *time.Time
	)
	if err := row.Scan(&a.ID, &a.CreatedAt, &a.Severity, &a.Metric, &a.Message, &a.Value, &a.Threshold, &resolved); err != nil {
		return nil, err
	}
	a.CreatedAt = a.CreatedAt.UTC()
	if resolved != nil {
		a.ResolvedAt = resolved.UTC()
	}
	return &a, nil
}

// CreateAlert implements store.Alerts.
func (s *DB) CreateAlert(ctx context.Context, a *store.Alert) error {
	if err := backend.CheckAlert(a); err != nil {
		return err
	}
	id, created := orNewID(a.ID), backend.OrNow(a.CreatedAt)
	var resolved any
	if !a.ResolvedAt.IsZero() {
		resolved = backend.Time(a.ResolvedAt)
	}
	if err := s.insert(ctx, "alert", id, `INSERT INTO alerts
		(id, created_at, severity, metric, message, value, threshold, resolved_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		id, created, a.Severity, a.Metric, a.Message, a.Value, a.Threshold, resolved); err != nil {
		return err
	}
	a.ID, a.CreatedAt = id, created
	if !a.ResolvedAt.IsZero() {
		a.ResolvedAt = backend.Time(a.ResolvedAt)
	}
	return nil
}

// GetAlert implements store.Alerts.
func (s *DB) GetAlert(ctx context.Context, id string) (*store.Alert, error) {
	var a *store.Alert
	err := s.getOne(ctx, "alert", id, "SELECT "+alertCols+" FROM alerts WHERE id = $1", func(row pgx.Row) (err error) {
		a, err = scanAlert(row)
		return err
	})
	return a, err
}

// ListAlerts implements store.Alerts.
func (s *DB) ListAlerts(ctx context.Context, f store.AlertFilter) ([]*store.Alert, error) {
	var q backend.Query
	if f.Severity != "" {
		q.Where("severity = ?", f.Severity)
	}
	if f.Metric != "" {
		q.Where("metric = ?", f.Metric)
	}
	if f.ActiveOnly {
		q.Where("resolved_at IS NULL")
	}
	timeRange(&q, "created_at", f.Since, f.Until)
	query := "SELECT " + alertCols + " FROM alerts" + q.Clause() + " ORDER BY created_at DESC, id DESC" + q.Page(f.Limit, f.Offset)
	var out []*store.Alert
	err := s.list(ctx, "alerts", query, q.Args, func(row pgx.Row) error {
		a, err := scanAlert(row)
		out = append(out, a)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ResolveAlert implements store.Alerts.
func (s *DB) ResolveAlert(ctx context.Context, id string, at time.Time) error {
	n, err := s.exec(ctx, "resolve alert", "UPDATE alerts SET resolved_at = $2 WHERE id = $1 AND resolved_at IS NULL", id, backend.OrNow(at))
	if err != nil {
		return fmt.Errorf("store: alert %s: resolve: %w", id, err)
	}
	if n == 1 {
		return nil
	}
	a, err := s.GetAlert(ctx, id)
	if err != nil {
		return err
	}
	return fmt.Errorf("store: alert %s: %w: resolved already at %s", id, store.ErrConflict, a.ResolvedAt.Format(time.RFC3339Nano))
}
