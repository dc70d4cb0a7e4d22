package backend

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/gonomaly/gonomaly/store"
)

// detectorCols are the columns scanDetector reads, without the model.
const detectorCols = `id, name, algorithm_name, parameters, contamination, is_fitted, threshold,
	n_features, training_time, version, created_at, updated_at`

func (r *Records) scanDetector(row Row, withModel bool) (*store.Detector, error) {
	var (
		d      store.Detector
		params []byte
		train  float64
	)
	dest := []any{&d.ID, &d.Name, &d.Algorithm, &params, &d.Contamination, &d.IsFitted,
		&d.Threshold, &d.NFeatures, &train, &d.Version, r.d.ScanTime(&d.CreatedAt), r.d.ScanTime(&d.UpdatedAt)}
	if withModel {
		dest = append(dest, &d.Model)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	d.Parameters = params
	d.TrainingTime = FromSeconds(train)
	return &d, nil
}

// CreateDetector implements store.Detectors.
func (r *Records) CreateDetector(ctx context.Context, d *store.Detector) error {
	if err := checkNewID("detector", d.ID); err != nil {
		return err
	}
	if err := CheckDetector(d); err != nil {
		return err
	}
	params, _ := Params(d)
	id, created := orNewID(d.ID), OrNow(d.CreatedAt)
	if err := r.insert(ctx, "detector", id, r.q.createDetector,
		id, d.Name, d.Algorithm, string(params), d.Contamination, r.d.TimeArg(created)); err != nil {
		return err
	}
	d.ID, d.Parameters, d.CreatedAt, d.UpdatedAt, d.Version = id, params, created, created, 1
	d.IsFitted, d.Model, d.Threshold, d.NFeatures, d.TrainingTime = false, nil, 0, 0, 0
	return nil
}

// GetDetector implements store.Detectors.
func (r *Records) GetDetector(ctx context.Context, id string) (*store.Detector, error) {
	return getRecord(ctx, r, "detector", id, r.q.getDetector,
		func(row Row) (*store.Detector, error) { return r.scanDetector(row, true) })
}

// GetDetectors implements store.Detectors in one statement.
func (r *Records) GetDetectors(ctx context.Context, ids []string) ([]*store.Detector, error) {
	ids = wellFormed(Dedup(ids))
	if len(ids) == 0 {
		return []*store.Detector{}, nil
	}
	found := make(map[string]*store.Detector, len(ids))
	err := r.db.Read(ctx, func(c Conn) error {
		return c.Query(ctx, r.q.getDetectors, []any{r.d.ListArg(ids)}, func(row Row) error {
			d, err := r.scanDetector(row, false)
			if err == nil {
				found[d.ID] = d
			}
			return err
		})
	})
	if err != nil {
		return nil, r.fail(fmt.Sprintf("get %d detectors", len(ids)), err)
	}
	return InOrder(ids, found), nil
}

// ListDetectors implements store.Detectors.
func (r *Records) ListDetectors(ctx context.Context, f store.DetectorFilter) ([]*store.Detector, error) {
	if err := checkFilter("detectors", textField{name: "algorithm", value: f.Algorithm}); err != nil {
		return nil, err
	}
	var q Query
	if f.Algorithm != "" {
		q.Where("algorithm_name = ?", f.Algorithm)
	}
	if f.Fitted != nil {
		q.Where("is_fitted = ?", *f.Fitted)
	}
	query := "SELECT " + detectorCols + " FROM detectors" + q.Clause() + " ORDER BY created_at DESC, id DESC" + q.Page(f.Limit, f.Offset)
	return list(ctx, r, "detectors", query, q.Args,
		func(row Row) (*store.Detector, error) { return r.scanDetector(row, false) })
}

// UpdateDetector implements store.Detectors: one statement, which drops the model exactly when
// the configuration it was fitted with changes.
func (r *Records) UpdateDetector(ctx context.Context, d *store.Detector) error {
	if err := CheckDetector(d); err != nil {
		return err
	}
	if !ValidID(d.ID) {
		return notFound("detector", d.ID)
	}
	params, _ := Params(d)
	got, err := r.updateReturning(ctx, r.q.updateDetector,
		d.ID, d.Name, d.Algorithm, string(params), d.Contamination, r.d.TimeArg(Now()), d.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return r.missOrConflict(ctx, d.ID, d.Version)
	}
	if err != nil {
		return r.fail("detector "+d.ID+": update", err)
	}
	*d = *got
	return nil
}

// SaveModel implements store.Detectors: a single UPDATE, so the model, its threshold and width
// and is_fitted are committed together.
func (r *Records) SaveModel(ctx context.Context, id string, m store.FittedModel) (*store.Detector, error) {
	if err := CheckModel(id, &m); err != nil {
		return nil, err
	}
	if !ValidID(id) {
		return nil, notFound("detector", id)
	}
	d, err := r.updateReturning(ctx, r.q.saveModel,
		id, m.Model, m.Threshold, m.NFeatures, Seconds(m.TrainingTime), r.d.TimeArg(Now()), m.IfVersion)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, r.missOrConflict(ctx, id, m.IfVersion)
	}
	if err != nil {
		return nil, r.fail("detector "+id+": save model", err)
	}
	d.Model = m.Model
	return d, nil
}

// updateReturning runs an UPDATE of one detector that returns its columns.
func (r *Records) updateReturning(ctx context.Context, query string, args ...any) (*store.Detector, error) {
	var d *store.Detector
	err := r.db.Write(ctx, func(c Conn) (err error) {
		d, err = r.scanDetector(c.QueryRow(ctx, query, args...), false)
		return err
	})
	return d, err
}

// missOrConflict explains why a conditional update matched no row.
func (r *Records) missOrConflict(ctx context.Context, id string, version int64) error {
	stored, err := getRecord(ctx, r, "detector", id, "SELECT version FROM detectors WHERE id = $1", func(row Row) (v int64, err error) {
		err = row.Scan(&v)
		return v, err
	})
	if err != nil {
		return err
	}
	return fmt.Errorf("store: detector %s: %w: it is at version %d, not %d", id, store.ErrConflict, stored, version)
}

// SetFitted implements store.Detectors in one statement.
func (r *Records) SetFitted(ctx context.Context, ids []string, fitted bool) (int64, error) {
	ids = wellFormed(ids)
	if len(ids) == 0 {
		return 0, nil
	}
	n, err := r.exec(ctx, r.q.setFitted, r.d.ListArg(ids), fitted, r.d.TimeArg(Now()))
	if err != nil {
		return 0, r.fail(fmt.Sprintf("set fitted=%v on %d detectors", fitted, len(ids)), err)
	}
	return n, nil
}

// DeleteDetector implements store.Detectors; the foreign key deletes the detector's results.
func (r *Records) DeleteDetector(ctx context.Context, id string) error {
	return r.deleteByID(ctx, "detector", "DELETE FROM detectors WHERE id = $1", id)
}

// wellFormed returns the ids that are well-formed (ValidID), leaving out those that can name
// no detector; ids itself when all are.
func wellFormed(ids []string) []string {
	for i, id := range ids {
		if !ValidID(id) {
			out := slices.Clone(ids[:i])
			for _, id := range ids[i+1:] {
				if ValidID(id) {
					out = append(out, id)
				}
			}
			return out
		}
	}
	return ids
}
