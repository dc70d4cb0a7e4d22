package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/store"
)

// Detectors: create, list, get, delete.

// detectorView is a detector as the API shows it.
type detectorView struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	Algorithm      string          `json:"algorithm"`
	Parameters     json.RawMessage `json:"parameters"`
	Contamination  float64         `json:"contamination"`
	IsFitted       bool            `json:"is_fitted"`
	Threshold      *float64        `json:"threshold,omitempty"`
	NFeatures      int             `json:"n_features,omitempty"`
	TrainingTimeMS float64         `json:"training_time_ms,omitempty"`
	Version        int64           `json:"version"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

func viewDetector(d *store.Detector) detectorView {
	v := detectorView{ID: d.ID, Name: d.Name, Algorithm: d.Algorithm, Parameters: d.Parameters,
		Contamination: d.Contamination, IsFitted: d.IsFitted, Version: d.Version, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if len(v.Parameters) == 0 {
		v.Parameters = json.RawMessage("{}")
	}
	if d.IsFitted {
		th := d.Threshold
		v.Threshold, v.NFeatures = &th, d.NFeatures
		v.TrainingTimeMS = float64(d.TrainingTime) / 1e6
	}
	return v
}

type createDetectorRequest struct {
	Name          string          `json:"name"`
	Algorithm     string          `json:"algorithm"`
	Parameters    json.RawMessage `json:"parameters"`
	Contamination *float64        `json:"contamination"`
}

func (s *Server) createDetector(w http.ResponseWriter, r *http.Request) *apiError {
	var req createDetectorRequest
	if e := decodeJSON(r, &req); e != nil {
		return e
	}
	if req.Algorithm == "" {
		return errorf(http.StatusBadRequest, CodeInvalidParam, "algorithm is required (one of %s)", strings.Join(detector.Names(), ", "))
	}
	contamination := detector.DefaultContamination
	if req.Contamination != nil {
		contamination = *req.Contamination
	}
	raw, e := parseParams(req.Parameters)
	if e != nil {
		return e
	}
	// Building the model validates the algorithm, every parameter and the contamination,
	// with errors that list the valid values.
	m, err := detector.NewModel(req.Algorithm, raw, contamination)
	if err != nil {
		return toAPI(err)
	}
	params, err := json.Marshal(m.Params)
	if err != nil {
		return toAPI(err)
	}
	name := req.Name
	if name == "" {
		name = m.Algorithm
	}
	d := &store.Detector{Name: name, Algorithm: m.Algorithm, Parameters: params, Contamination: contamination}
	if err := s.store.CreateDetector(r.Context(), d); err != nil {
		return toAPI(err)
	}
	w.Header().Set("Location", "/api/v1/detectors/"+d.ID)
	writeJSON(w, http.StatusCreated, viewDetector(d))
	return nil
}

// parseParams reads a JSON object of parameters; null or absent is none.
func parseParams(b json.RawMessage) (map[string]any, *apiError) {
	if len(bytes.TrimSpace(b)) == 0 || string(bytes.TrimSpace(b)) == "null" {
		return nil, nil
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, errorf(http.StatusBadRequest, CodeInvalidParam, "parameters must be a JSON object of name: value")
	}
	return raw, nil
}

func (s *Server) getDetector(w http.ResponseWriter, r *http.Request) *apiError {
	ds, err := s.store.GetDetectors(r.Context(), []string{r.PathValue("id")})
	if err != nil {
		return toAPI(err)
	}
	if len(ds) == 0 {
		return errorf(http.StatusNotFound, CodeNotFound, "detector %s: not found", r.PathValue("id"))
	}
	writeJSON(w, http.StatusOK, viewDetector(ds[0]))
	return nil
}

func (s *Server) listDetectors(w http.ResponseWriter, r *http.Request) *apiError {
	q, e := query(r)
	if e != nil {
		return e
	}
	f := store.DetectorFilter{Algorithm: q.Get("algorithm")}
	if f.Limit, f.Offset, e = paging(q.Get("limit"), q.Get("offset")); e != nil {
		return e
	}
	if v := q.Get("is_fitted"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errorf(http.StatusBadRequest, CodeBadRequest, "is_fitted=%q: want true or false", v)
		}
		f.Fitted = &b
	}
	ds, err := s.store.ListDetectors(r.Context(), f)
	if err != nil {
		return toAPI(err)
	}
	out := make([]detectorView, len(ds))
	for i, d := range ds {
		out[i] = viewDetector(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"detectors": out})
	return nil
}

func paging(limit, offset string) (int, int, *apiError) {
	var l, o int
	var err error
	if limit != "" {
		if l, err = strconv.Atoi(limit); err != nil || l < 1 || l > 10000 {
			return 0, 0, errorf(http.StatusBadRequest, CodeBadRequest, "limit=%q: want an integer in [1, 10000]", limit)
		}
	}
	if offset != "" {
		if o, err = strconv.Atoi(offset); err != nil || o < 0 {
			return 0, 0, errorf(http.StatusBadRequest, CodeBadRequest, "offset=%q: want a non-negative integer", offset)
		}
	}
	return l, o, nil
}

func (s *Server) deleteDetector(w http.ResponseWriter, r *http.Request) *apiError {
	id := r.PathValue("id")
	ds, err := s.store.GetDetectors(r.Context(), []string{id})
	if err != nil {
		return toAPI(err)
	}
	if err := s.store.DeleteDetector(r.Context(), id); err != nil {
		return toAPI(err)
	}
	// Results of its predictions still in flight are dropped, not written (they would fail
	// the store's check), its training jobs stop, and nothing of it is served any more.
	s.gone.add(id)
	s.jobs.cancelDetector(id, errDetectorDeleted)
	var version int64
	if len(ds) == 1 {
		version = ds[0].Version
	}
	s.serving.Forget(context.WithoutCancel(r.Context()), id, version)
	s.monitor.Health().Forget(id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
