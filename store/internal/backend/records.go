package backend

import (
	"context"
	"database/sql"
	"errors"
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
