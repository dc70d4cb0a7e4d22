package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gonomaly/gonomaly/detector"
)

// NewModel builds the unfitted detector.Model that d describes (its algorithm, parameters
// and contamination), ready to fit.
func (d *Detector) NewModel() (*detector.Model, error) {
	var raw map[string]any
	if p := bytes.TrimSpace(d.Parameters); len(p) > 0 {
		if err := json.Unmarshal(p, &raw); err != nil {
			return nil, fmt.Errorf("store: detector %s: parameters: %w", d.ID, err)
		}
	}
	m, err := detector.NewModel(d.Algorithm, raw, d.Contamination)
	if err != nil {
		return nil, fmt.Errorf("store: detector %s: %w", d.ID, err)
	}
	return m, nil
}

// DecodeModel decodes the fitted model that GetDetector returned with d. A detector that is
// not fitted, or was read by a listing (which leaves Model nil), is detector.ErrNotFitted.
func (d *Detector) DecodeModel() (*detector.Model, error) {
	if !d.IsFitted || len(d.Model) == 0 {
		return nil, fmt.Errorf("store: detector %s: %w", d.ID, detector.ErrNotFitted)
	}
	m, err := detector.UnmarshalModel(d.Model)
	if err != nil {
		return nil, fmt.Errorf("store: detector %s: %w", d.ID, err)
	}
	return m, nil
}

// EncodeModel returns what SaveModel stores for a fitted detector.Model: its binary encoding,
// threshold and width.
func EncodeModel(m *detector.Model, trainingTime time.Duration) (FittedModel, error) {
	b, err := m.MarshalBinary()
	if err != nil {
		return FittedModel{}, fmt.Errorf("store: %w", err)
	}
	return FittedModel{Model: b, Threshold: m.Threshold, NFeatures: m.Cols, TrainingTime: trainingTime}, nil
}
