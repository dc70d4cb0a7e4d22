package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/internal/backend"
)

// detectorCols are the columns scanDetector reads, without the model.
const detectorCols = `id, name, algorithm_name, parameters, contamination, is_fitted, threshold,
	n_features, training_time, version, created_at, updated_at`

func scanDetector(row pgx.Row, withModel bool) (*store.Detector, error) {
	var (
		d            store.Detector
		params       []byte
		train        float64
		created, upd time.Time
	)
	dest := []any{&d.ID, &d.Name, &d.Algorithm, &params, &d.Contamination, &d.IsFitted,
		&d.Threshold, &d.NFeatures, &train, &d.Version, &created, &upd}
	if withModel {
		dest = append(dest, &d.Model)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	d.Parameters = params
	d.TrainingTime = backend.FromSeconds(train)
	d.CreatedAt, d.UpdatedAt = created.UTC(), upd.UTC()
	return &d, nil
}

// CreateDetector implements store.Detectors.
func (s *DB) CreateDetector(ctx context.Context, d *store.Detector) error {
	if err := backend.CheckDetector(d); err != nil {
		return err
	}
	params, _ := backend.Params(d)
	id, created := orNewID(d.ID), backend.OrNow(d.CreatedAt)
	if err := s.insert(ctx, "detector", id, `INSERT INTO detectors
		(id, name, algorithm_name, parameters, contamination, version, created_at, updated_at)
		VALUES ($1, $2, $3, $4::text::json, $5, 1, $6, $6)`,
		id, d.Name, d.Algorithm, string(params), d.Contamination, created); err != nil {
		return err
	}
	d.ID, d.Parameters, d.CreatedAt, d.UpdatedAt, d.Version = id, params, created, created, 1
	d.IsFitted, d.Model, d.Threshold, d.NFeatures, d.TrainingTime = false, nil, 0, 0, 0
	return nil
}

// GetDetector implements store.Detectors.
func (s *DB) GetDetector(ctx context.Context, id string) (*store.Detector, error) {
	var d *store.Detector
	err := s.getOne(ctx, "detector", id, "SELECT "+detectorCols+", model FROM detectors WHERE id = $1", func(row pgx.Row) (err error) {
		d, err = scanDetector(row, true)
		return err
	})
	return d, err
}

// GetDetectors implements store.Detectors in one statement.
func (s *DB) GetDetectors(ctx context.Context, ids []string) ([]*store.Detector, error) {
	ids = backend.Dedup(ids)
	if len(ids) == 0 {
		return []*store.Detector{}, nil
	}
	found := make(map[string]*store.Detector, len(ids))
	err := s.list(ctx, fmt.Sprintf("%d detectors", len(ids)), "SELECT "+detectorCols+" FROM detectors WHERE id = ANY($1)", []any{ids},
		func(row pgx.Row) error {
			d, err := scanDetector(row, false)
			if err == nil {
				found[d.ID] = d
			}
			return err
		})
	if err != nil {
		return nil, err
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
	query := "SELECT " + detectorCols + " FROM detectors" + q.Clause() + " ORDER BY created_at DESC, id DESC" + q.Page(f.Limit, f.Offset)
	var out []*store.Detector
	err := s.list(ctx, "detectors", query, q.Args, func(row pgx.Row) error {
		d, err := scanDetector(row, false)
		out = append(out, d)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// sameConfig is true when the stored algorithm, parameters and contamination (the old values,
// as UPDATE sees them on its right-hand sides) equal the new ones.
const sameConfig = `(algorithm_name = $3 AND parameters::text = $4::text AND contamination = $5)`

// UpdateDetector implements store.Detectors: one statement, which drops the model exactly when
// the configuration it was fitted with changes.
func (s *DB) UpdateDetector(ctx context.Context, d *store.Detector) error {
	if err := backend.CheckDetector(d); err != nil {
		return err
	}
	params, _ := backend.Params(d)
	var got *store.Detector
	err := s.with(ctx, func(c *pgxpool.Conn) (err error) {
		got, err = scanDetector(c.QueryRow(ctx, `UPDATE detectors SET
				is_fitted     = CASE WHEN `+sameConfig+` THEN is_fitted ELSE false END,
				model         = CASE WHEN `+sameConfig+` THEN model ELSE NULL END,
				threshold     = CASE WHEN `+sameConfig+` THEN threshold ELSE 0 END,
				n_features    = CASE WHEN `+sameConfig+` THEN n_features ELSE 0 END,
				training_time = CASE WHEN `+sameConfig+` THEN training_time ELSE 0 END,
				name = $2, algorithm_name = $3, parameters = $4::text::json, contamination = $5,
				version = version + 1, updated_at = $6
			WHERE id = $1 AND ($7::bigint = 0 OR version = $7::bigint)
			RETURNING `+detectorCols,
			d.ID, d.Name, d.Algorithm, string(params), d.Contamination, backend.Now(), d.Version), false)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return s.missOrConflict(ctx, d.ID, d.Version)
	}
	if err != nil {
		return fmt.Errorf("store: detector %s: update: %w", d.ID, err)
	}
	*d = *got
	return nil
}

// missOrConflict explains why a conditional update matched no row.
func (s *DB) missOrConflict(ctx context.Context, id string, version int64) error {
	var stored int64
	err := s.getOne(ctx, "detector", id, "SELECT version FROM detectors WHERE id = $1", func(row pgx.Row) error {
		return row.Scan(&stored)
	})
	if err != nil {
		return err
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
	err := s.with(ctx, func(c *pgxpool.Conn) (err error) {
		d, err = scanDetector(c.QueryRow(ctx, `UPDATE detectors SET
				model = $2, threshold = $3, n_features = $4, training_time = $5, is_fitted = true,
				version = version + 1, updated_at = $6
			WHERE id = $1 AND ($7::bigint = 0 OR version = $7::bigint)
			RETURNING `+detectorCols,
			id, m.Model, m.Threshold, m.NFeatures, backend.Seconds(m.TrainingTime), backend.Now(), m.IfVersion), false)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
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
	err := s.with(ctx, func(c *pgxpool.Conn) error {
		tag, err := c.Exec(ctx, `UPDATE detectors SET is_fitted = $2, version = version + 1, updated_at = $3
			WHERE id = ANY($1) AND is_fitted <> $2 AND (NOT $2 OR model IS NOT NULL)`,
			ids, fitted, backend.Now())
		n = tag.RowsAffected()
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
