package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/internal/backend"
)

// detectorCols are the columns scanDetector reads, without the model.
const detectorCols = `id, name, algorithm_name, parameters, contamination, is_fitted, threshold,
	n_features, training_time, version, created_at, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanDetector(row scanner, withModel bool) (*store.Detector, error) {
	var (
		d            store.Detector
		params       []byte
		train        float64
		created, upd int64
		extra        []any
	)
	if withModel {
		extra = append(extra, &d.Model)
	}
	err := row.Scan(append([]any{&d.ID, &d.Name, &d.Algorithm, &params, &d.Contamination, &d.IsFitted,
		&d.Threshold, &d.NFeatures, &train, &d.Version, &created, &upd}, extra...)...)
	if err != nil {
		return nil, err
	}
	d.Parameters = json.RawMessage(params)
	d.TrainingTime = backend.FromSeconds(train)
	d.CreatedAt, d.UpdatedAt = backend.FromMicros(created), backend.FromMicros(upd)
	return &d, nil
}

// CreateDetector implements store.Detectors.
func (s *DB) CreateDetector(ctx context.Context, d *store.Detector) error {
	if err := backend.CheckDetector(d); err != nil {
		return err
	}
	params, _ := backend.Params(d)
	id := d.ID
	if id == "" {
		id = backend.NewID()
	}
	created := backend.OrNow(d.CreatedAt)
	err := s.write(ctx, func() error {
		_, err := s.w.ExecContext(ctx, `INSERT INTO detectors
			(id, name, algorithm_name, parameters, contamination, version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, 1, $6, $6)`,
			id, d.Name, d.Algorithm, string(params), d.Contamination, backend.Micros(created))
		return err
	})
	switch {
	case isUnique(err):
		return fmt.Errorf("store: detector %s: %w: it already exists", id, store.ErrConflict)
	case err != nil:
		return fmt.Errorf("store: detector %s: create: %w", id, err)
	}
	d.ID, d.Parameters, d.CreatedAt, d.UpdatedAt, d.Version = id, params, created, created, 1
	d.IsFitted, d.Model, d.Threshold, d.NFeatures, d.TrainingTime = false, nil, 0, 0, 0
	return nil
}

// GetDetector implements store.Detectors.
func (s *DB) GetDetector(ctx context.Context, id string) (*store.Detector, error) {
	var d *store.Detector
	err := s.read(ctx, func() (err error) {
		d, err = scanDetector(s.getDetector.QueryRowContext(ctx, id), true)
		return err
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("store: detector %s: %w", id, store.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("store: detector %s: %w", id, err)
	}
	return d, nil
}

// idList is ids as the JSON array that json_each expands: one bound parameter however many
// ids there are (SQLite caps a statement's parameters at 32766).
func idList(ids []string) string {
	b, _ := json.Marshal(ids)
	return string(b)
}

// GetDetectors implements store.Detectors in one statement.
func (s *DB) GetDetectors(ctx context.Context, ids []string) ([]*store.Detector, error) {
	ids = backend.Dedup(ids)
	if len(ids) == 0 {
		return []*store.Detector{}, nil
	}
	found := make(map[string]*store.Detector, len(ids))
	err := s.read(ctx, func() error {
		rows, err := s.getDetectors.QueryContext(ctx, idList(ids))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDetector(rows, false)
			if err != nil {
				return err
			}
			found[d.ID] = d
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: get %d detectors: %w", len(ids), err)
	}
	return backend.InOrder(ids, found), nil
}

// ListDetectors implements store.Detectors.
func (s *DB) ListDetectors(ctx context.Context, f store.DetectorFilter) ([]*store.Detector, error) {
	var q backend.Query
	if f.Algorithm != "" {
		q.Where("algorithm_name = ?", f.Algorithm)
	}
	if f.Fitted != nil {
		q.Where("is_fitted = ?", *f.Fitted)
	}
	query := "SELECT " + detectorCols + " FROM detectors" + q.Clause() +
		" ORDER BY created_at DESC, id DESC" + q.Page(f.Limit, f.Offset)
	var out []*store.Detector
	err := s.read(ctx, func() error {
		rows, err := s.r.QueryContext(ctx, query, q.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDetector(rows, false)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: list detectors: %w", err)
	}
	return out, nil
}

// UpdateDetector implements store.Detectors. One statement: the model is dropped exactly when
// the stored algorithm, parameters or contamination (the old values, as UPDATE sees them on
// its right-hand sides) differ from the new ones.
func (s *DB) UpdateDetector(ctx context.Context, d *store.Detector) error {
	if err := backend.CheckDetector(d); err != nil {
		return err
	}
	params, _ := backend.Params(d)
	var got *store.Detector
	err := s.write(ctx, func() (err error) {
		got, err = scanDetector(s.w.QueryRowContext(ctx, `UPDATE detectors SET
				is_fitted     = CASE WHEN `+sameConfig+` THEN is_fitted ELSE 0 END,
				model         = CASE WHEN `+sameConfig+` THEN model ELSE NULL END,
				threshold     = CASE WHEN `+sameConfig+` THEN threshold ELSE 0 END,
				n_features    = CASE WHEN `+sameConfig+` THEN n_features ELSE 0 END,
				training_time = CASE WHEN `+sameConfig+` THEN training_time ELSE 0 END,
				name = $2, algorithm_name = $3, parameters = $4, contamination = $5,
				version = version + 1, updated_at = $6
			WHERE id = $1 AND ($7 = 0 OR version = $7)
			RETURNING `+detectorCols,
			d.ID, d.Name, d.Algorithm, string(params), d.Contamination, backend.Micros(backend.Now()), d.Version), false)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return s.missOrConflict(ctx, d.ID, d.Version)
	}
	if err != nil {
		return fmt.Errorf("store: detector %s: update: %w", d.ID, err)
	}
	*d = *got
	return nil
}

const sameConfig = `(algorithm_name = $3 AND parameters = $4 AND contamination = $5)`

// missOrConflict explains why a conditional update matched no row.
func (s *DB) missOrConflict(ctx context.Context, id string, version int64) error {
	var stored int64
	err := s.read(ctx, func() error {
		return s.r.QueryRowContext(ctx, "SELECT version FROM detectors WHERE id = $1", id).Scan(&stored)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: detector %s: %w", id, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("store: detector %s: %w", id, err)
	}
	return fmt.Errorf("store: detector %s: %w: it is at version %d, not %d", id, store.ErrConflict, stored, version)
}

// SaveModel implements store.Detectors: a single UPDATE, so the model, its threshold and width
// and is_fitted are committed together.
func (s *DB) SaveModel(ctx context.Context, id string, m store.FittedModel) (*store.Detector, error) {
	if err := backend.CheckModel(id, &m); err != nil {
		return nil, err
	}
	var d *store.Detector
	err := s.write(ctx, func() (err error) {
		d, err = scanDetector(s.w.QueryRowContext(ctx, `UPDATE detectors SET
				model = $2, threshold = $3, n_features = $4, training_time = $5, is_fitted = 1,
				version = version + 1, updated_at = $6
			WHERE id = $1 AND ($7 = 0 OR version = $7)
			RETURNING `+detectorCols,
			id, m.Model, m.Threshold, m.NFeatures, backend.Seconds(m.TrainingTime), backend.Micros(backend.Now()), m.IfVersion), false)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, s.missOrConflict(ctx, id, m.IfVersion)
	}
	if err != nil {
		return nil, fmt.Errorf("store: detector %s: save model: %w", id, err)
	}
	d.Model = m.Model
	return d, nil
}

// SetFitted implements store.Detectors in one statement.
func (s *DB) SetFitted(ctx context.Context, ids []string, fitted bool) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var n int64
	err := s.write(ctx, func() error {
		res, err := s.w.ExecContext(ctx, `UPDATE detectors SET is_fitted = $2, version = version + 1, updated_at = $3
			WHERE id IN (SELECT value FROM json_each($1)) AND is_fitted <> $2 AND ($2 = 0 OR model IS NOT NULL)`,
			idList(ids), fitted, backend.Micros(backend.Now()))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: set fitted=%v on %d detectors: %w", fitted, len(ids), err)
	}
	return n, nil
}

// DeleteDetector implements store.Detectors; the foreign key deletes the detector's results.
func (s *DB) DeleteDetector(ctx context.Context, id string) error {
	return s.deleteByID(ctx, "detector", "DELETE FROM detectors WHERE id = $1", id)
}

func (s *DB) deleteByID(ctx context.Context, what, query, id string) error {
	var n int64
	err := s.write(ctx, func() error {
		res, err := s.w.ExecContext(ctx, query, id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("store: %s %s: delete: %w", what, id, err)
	case n == 0:
		return fmt.Errorf("store: %s %s: %w", what, id, store.ErrNotFound)
	}
	return nil
}
