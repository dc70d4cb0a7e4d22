package server

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/store"
)

// Detection: training (as jobs), prediction, results.

type trainRequest struct {
	DetectorID string   `json:"detector_id"`
	Data       jsonRows `json:"data"`
	DatasetID  string   `json:"dataset_id"`
	// Async answers 202 with the job at once instead of waiting up to the train wait.
	Async bool `json:"async"`
}

type trainResponse struct {
	DetectorID     string  `json:"detector_id"`
	TrainingTimeMS float64 `json:"training_time_ms"`
	NSamples       int     `json:"n_samples"`
	NFeatures      int     `json:"n_features"`
	Threshold      float64 `json:"threshold"`
	Version        int64   `json:"version"`
	Worker         string  `json:"worker,omitempty"` // the cluster worker that fitted it (serve --nats)
}

func (r *trainRequest) detector() string   { return r.DetectorID }
func (r *predictRequest) detector() string { return r.DetectorID }

// decodeDetectorRequest reads a JSON request about one detector into req, whose detector
// method gives the detector_id it names; that id is required.
func decodeDetectorRequest(r *http.Request, req any, detector func() string) *apiError {
	if e := decodeJSON(r, req); e != nil {
		return e
	}
	if detector() == "" {
		return errorf(http.StatusBadRequest, CodeBadRequest, "detector_id is required")
	}
	return nil
}

func (s *Server) train(w http.ResponseWriter, r *http.Request) *apiError {
	var req trainRequest
	if e := decodeDetectorRequest(r, &req, req.detector); e != nil {
		return e
	}
	if req.Data.present == (req.DatasetID != "") {
		return errorf(http.StatusBadRequest, CodeBadRequest, "send exactly one of data (rows of numbers) and dataset_id")
	}
	det, err := s.store.GetDetector(r.Context(), req.DetectorID)
	if err != nil {
		return toAPI(err)
	}
	X, e := s.trainingData(r.Context(), &req)
	if e != nil {
		return e
	}
	m, err := det.NewModel()
	if err != nil {
		return toAPI(err)
	}
	// Refuse, before it starts, a fit whose parameters would need more memory or time on
	// data of this shape than the server allows one training.
	if err := s.checkBudget(m, X); err != nil {
		return toAPI(err)
	}
	j, e := s.jobs.start("train", det.ID, func(ctx context.Context) (any, *apiError) {
		return s.fit(ctx, det, m, X)
	})
	if e != nil {
		w.Header().Set("Retry-After", "5")
		return e
	}
	if !req.Async {
		wait := time.NewTimer(s.cfg.TrainWait)
		defer wait.Stop()
		select {
		case <-j.done:
			v := j.snapshot()
			if j.err != nil {
				return j.err
			}
			writeJSON(w, http.StatusOK, v.Result)
			return nil
		case <-wait.C:
		case <-r.Context().Done():
		}
	}
	w.Header().Set("Location", "/api/v1/jobs/"+j.view.ID)
	writeJSON(w, http.StatusAccepted, j.snapshot())
	return nil
}

func (s *Server) trainingData(ctx context.Context, req *trainRequest) (*dataset.Matrix, *apiError) {
	if req.DatasetID == "" {
		X := &req.Data.m
		if X.Rows == 0 {
			return nil, errorf(http.StatusBadRequest, CodeInvalidData, "data has no rows")
		}
		if X.Cols == 0 {
			return nil, errorf(http.StatusBadRequest, CodeInvalidData, "data rows are empty")
		}
		return X, nil
	}
	ds, err := s.store.GetDataset(ctx, req.DatasetID)
	if err != nil {
		return nil, toAPI(err)
	}
	t, err := dataset.ReadCSV(bytes.NewReader(ds.Data), dataset.CSVOptions{Name: "dataset " + ds.ID})
	if err != nil {
		return nil, toAPI(err)
	}
	return t.X, nil
}

// fit is a training job's work: the serving protocol's Fit, answered in the API's terms.
func (s *Server) fit(ctx context.Context, det *store.Detector, m *detector.Model, X *dataset.Matrix) (any, *apiError) {
	done := s.monitor.Tracker().Track(ctx, "fit "+m.Algorithm, X.Rows)
	f, err := s.fitter.Fit(ctx, det, m, X)
	done(err)
	if err != nil {
		return nil, toAPI(err)
	}
	if s.gone.has(det.ID) {
		s.serving.Forget(context.WithoutCancel(ctx), det.ID, f.Version) // deleted while its model was saved
	}
	s.metrics.fit.WithLabelValues(m.Algorithm).Observe(f.Took.Seconds())
	return &trainResponse{DetectorID: det.ID, TrainingTimeMS: float64(f.Took) / 1e6, NSamples: X.Rows, NFeatures: X.Cols, Threshold: m.Threshold, Version: f.Version, Worker: f.Worker}, nil
}

// checkBudget refuses a fit of m on X whose estimated memory or time is over what the server
// allows one training (Config.TrainMemoryBudget, TrainTimeBudget).
func (s *Server) checkBudget(m *detector.Model, X *dataset.Matrix) error {
	return m.CheckBudget(X.Rows, X.Cols, detector.Budget{Bytes: s.cfg.TrainMemoryBudget, Time: s.cfg.TrainTimeBudget})
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) *apiError {
	j := s.jobs.get(r.PathValue("id"))
	if j == nil {
		return errorf(http.StatusNotFound, CodeNotFound, "job %s: not found (jobs are kept in memory, the last 1000)", r.PathValue("id"))
	}
	writeJSON(w, http.StatusOK, j.snapshot())
	return nil
}

type predictRequest struct {
	DetectorID string   `json:"detector_id"`
	Data       jsonRows `json:"data"`
}

type predictResponse struct {
	Scores    []float64 `json:"scores"`
	IsAnomaly []bool    `json:"is_anomaly"`
	Threshold float64   `json:"threshold"`
}

func (s *Server) predict(w http.ResponseWriter, r *http.Request) *apiError {
	var req predictRequest
	if e := decodeDetectorRequest(r, &req, req.detector); e != nil {
		return e
	}
	if req.Data.m.Rows == 0 {
		return errorf(http.StatusBadRequest, CodeInvalidData, "data has no rows: send [[x1, x2, ...], ...]")
	}
	l, err := s.serving.Live(r.Context(), req.DetectorID)
	if err != nil {
		return toAPI(err)
	}
	setRows(w, req.Data.m.Rows)
	scores, err := l.Score(r.Context(), &req.Data.m)
	if err != nil {
		return toAPI(err)
	}
	// Its only error is rows of another width than the model's, which Score refused already.
	_ = s.monitor.Health().Observe(l.ID, l.Version, l.Model, &req.Data.m, scores)
	resp := predictResponse{Scores: scores, IsAnomaly: make([]bool, len(scores)), Threshold: l.Model.Threshold}
	anomalies := 0
	for i, v := range scores {
		if l.Model.IsAnomaly(v) {
			resp.IsAnomaly[i] = true
			anomalies++
		}
	}
	res := &store.Result{DetectorID: req.DetectorID, NSamples: len(scores), Anomalies: anomalies, Threshold: l.Model.Threshold}
	if len(scores) <= s.cfg.KeepScoresUpTo {
		res.Scores = scores
	}
	if err := s.results.Put(r.Context(), res); err != nil {
		return toAPI(err)
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

type resultView struct {
	ID         string    `json:"id"`
	DetectorID string    `json:"detector_id"`
	NSamples   int       `json:"n_samples"`
	Anomalies  int       `json:"n_anomalies"`
	Threshold  float64   `json:"threshold"`
	Scores     []float64 `json:"scores,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

func (s *Server) listResults(w http.ResponseWriter, r *http.Request) *apiError {
	q, e := query(r)
	if e != nil {
		return e
	}
	f := store.ResultFilter{DetectorID: q.Get("detector_id")}
	if f.Limit, f.Offset, e = paging(q.Get("limit"), q.Get("offset")); e != nil {
		return e
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return errorf(http.StatusBadRequest, CodeBadRequest, "since=%q: want an RFC 3339 time", v)
		}
		f.Since = t
	}
	rs, err := s.store.ListResults(r.Context(), f)
	if err != nil {
		return toAPI(err)
	}
	out := make([]resultView, len(rs))
	for i, x := range rs {
		out[i] = resultView{ID: x.ID, DetectorID: x.DetectorID, NSamples: x.NSamples, Anomalies: x.Anomalies, Threshold: x.Threshold, Scores: x.Scores, CreatedAt: x.CreatedAt}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": out})
	return nil
}
