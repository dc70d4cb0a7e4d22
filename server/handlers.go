package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/store"
)

// CodeConflict: the detector changed while it was being trained.
const CodeConflict = "conflict"

// toAPI maps an error from the store, the detectors or the data readers to its answer. The
// message of a 4xx is the error's own, in the client's terms; a 5xx says only "internal
// error" and keeps the error as its Cause, for the log: a driver's or a library's text never
// reaches a client.
func toAPI(err error) *apiError {
	var ae *apiError
	var pe *dataset.ParseError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, store.ErrNotFound):
		return errorf(http.StatusNotFound, CodeNotFound, "%s", plain(err))
	case errors.Is(err, detector.ErrUnknown), errors.Is(err, detector.ErrBadParameter), errors.Is(err, store.ErrInvalid):
		return errorf(http.StatusBadRequest, CodeInvalidParam, "%s", plain(err))
	case errors.Is(err, detector.ErrNotFitted):
		return errorf(http.StatusConflict, CodeNotFitted, "%s", plain(err))
	case errors.As(err, &pe), errors.Is(err, detector.ErrDimension), errors.Is(err, detector.ErrTooFewRows),
		errors.Is(err, detector.ErrNonFiniteInput), errors.Is(err, detector.ErrOverflow), errors.Is(err, dataset.ErrRagged):
		return errorf(http.StatusBadRequest, CodeInvalidData, "%s", plain(err))
	case errors.Is(err, store.ErrConflict):
		return errorf(http.StatusConflict, CodeConflict, "%s", plain(err))
	case errors.Is(err, context.DeadlineExceeded):
		return errorf(http.StatusGatewayTimeout, CodeTimeout, "the request took longer than the server allows")
	case errors.Is(err, store.ErrPoolTimeout):
		return &apiError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Msg: "the database is busy: try again shortly", Cause: err}
	case errors.Is(err, errSinkClosed):
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "the server is shutting down")
	case errors.Is(err, context.Canceled):
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "the request was cancelled")
	default:
		return &apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Msg: "internal error", Cause: err}
	}
}

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
	q := r.URL.Query()
	f := store.DetectorFilter{Algorithm: q.Get("algorithm")}
	var e *apiError
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
	// the store's check), and its training jobs stop.
	s.gone.add(id)
	s.jobs.cancelDetector(id, errDetectorDeleted)
	ctx := context.WithoutCancel(r.Context())
	if len(ds) == 1 {
		// Delete the cached copies under the tag's current generation before it moves on;
		// otherwise they would stay in Redis, unreachable, until their TTL.
		s.cache.Delete(ctx, modelKey(id, ds[0].Version), detectorTag(id))
		s.cache.Delete(ctx, metaKey(id), detectorTag(id))
	}
	s.cache.InvalidateTag(ctx, detectorTag(id))
	s.models.drop(id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func detectorTag(id string) string { return "detector:" + id }

// Datasets.

type datasetView struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	NSamples   int       `json:"n_samples"`
	NFeatures  int       `json:"n_features"`
	FileFormat string    `json:"file_format"`
	CreatedAt  time.Time `json:"created_at"`
}

func viewDataset(d *store.Dataset) datasetView {
	return datasetView{ID: d.ID, Name: d.Name, NSamples: d.NSamples, NFeatures: d.NFeatures, FileFormat: d.FileFormat, CreatedAt: d.CreatedAt}
}

// createDataset stores a CSV dataset sent as the body (text/csv) or as the "file" part of a
// multipart form. ?label=COL names a label column that is left out of the stored features;
// ?name= names the dataset.
func (s *Server) createDataset(w http.ResponseWriter, r *http.Request) *apiError {
	name, label := r.URL.Query().Get("name"), r.URL.Query().Get("label")
	var body io.Reader = r.Body
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		f, hdr, err := r.FormFile("file")
		if err != nil {
			return jsonOrForm(err)
		}
		defer f.Close()
		body = f
		if name == "" {
			name = hdr.Filename
		}
		if v := r.FormValue("label"); v != "" && label == "" {
			label = v
		}
	case "text/csv", "application/csv", "text/plain", "application/octet-stream", "":
	default:
		return errorf(http.StatusUnsupportedMediaType, CodeUnsupported, "content type %q: send text/csv or multipart/form-data with a \"file\" part", mt)
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		return jsonOrForm(err)
	}
	t, err := dataset.ReadCSV(bytes.NewReader(raw), dataset.CSVOptions{Label: label, Name: "dataset"})
	if err != nil {
		return toAPI(err)
	}
	if t.X.Rows == 0 {
		return errorf(http.StatusBadRequest, CodeInvalidData, "dataset has a header but no rows")
	}
	data := raw
	if label != "" {
		data = encodeCSV(t)
	}
	if name == "" {
		name = "dataset"
	}
	d := &store.Dataset{Name: name, NSamples: t.X.Rows, NFeatures: t.X.Cols, FileFormat: "csv", Data: data}
	if err := s.store.CreateDataset(r.Context(), d); err != nil {
		return toAPI(err)
	}
	w.Header().Set("Location", "/api/v1/datasets/"+d.ID)
	writeJSON(w, http.StatusCreated, viewDataset(d))
	return nil
}

// jsonOrForm maps a body-reading error: over the limit, or a bad form.
func jsonOrForm(err error) *apiError {
	if e := bodyError(err); e != nil {
		return e
	}
	return errorf(http.StatusBadRequest, CodeBadRequest, "reading the upload: %s", plain(err))
}

// encodeCSV writes t's features as CSV, each value in the shortest form that reads back
// exactly.
func encodeCSV(t *dataset.Table) []byte {
	var b bytes.Buffer
	b.WriteString(strings.Join(t.Columns, ","))
	b.WriteByte('\n')
	buf := make([]byte, 0, 32)
	for i := range t.X.Rows {
		for j, v := range t.X.Row(i) {
			if j > 0 {
				b.WriteByte(',')
			}
			b.Write(strconv.AppendFloat(buf[:0], v, 'g', -1, 64))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func (s *Server) getDataset(w http.ResponseWriter, r *http.Request) *apiError {
	d, err := s.store.GetDataset(r.Context(), r.PathValue("id"))
	if err != nil {
		return toAPI(err)
	}
	writeJSON(w, http.StatusOK, viewDataset(d))
	return nil
}

func (s *Server) listDatasets(w http.ResponseWriter, r *http.Request) *apiError {
	q := r.URL.Query()
	f := store.DatasetFilter{FileFormat: q.Get("file_format")}
	var e *apiError
	if f.Limit, f.Offset, e = paging(q.Get("limit"), q.Get("offset")); e != nil {
		return e
	}
	ds, err := s.store.ListDatasets(r.Context(), f)
	if err != nil {
		return toAPI(err)
	}
	out := make([]datasetView, len(ds))
	for i, d := range ds {
		out[i] = viewDataset(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"datasets": out})
	return nil
}

// Training.

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
}

func (s *Server) train(w http.ResponseWriter, r *http.Request) *apiError {
	var req trainRequest
	if e := decodeJSON(r, &req); e != nil {
		return e
	}
	if req.DetectorID == "" {
		return errorf(http.StatusBadRequest, CodeBadRequest, "detector_id is required")
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
	raw, e := parseParams(det.Parameters)
	if e != nil {
		return e
	}
	m, err := detector.NewModel(det.Algorithm, raw, det.Contamination)
	if err != nil {
		return toAPI(err)
	}
	// Refuse, before it starts, a fit whose parameters would need more memory or time on
	// data of this shape than the server allows one training.
	if err := s.checkBudget(m, X); err != nil {
		return toAPI(err)
	}
	j, e := s.jobs.start("train", det.ID, func(ctx context.Context) (*trainResponse, *apiError) {
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

// fit trains m on X and saves it as det's model, unless det changed meanwhile; then it serves
// the new version and drops every cached entry of the old one.
func (s *Server) fit(ctx context.Context, det *store.Detector, m *detector.Model, X *dataset.Matrix) (*trainResponse, *apiError) {
	t0 := time.Now()
	if _, err := m.Fit(ctx, X); err != nil {
		return nil, toAPI(err)
	}
	took := time.Since(t0)
	s.metrics.fit.WithLabelValues(m.Algorithm).Observe(took.Seconds())
	blob, err := m.MarshalBinary()
	if err != nil {
		return nil, toAPI(err)
	}
	saved, err := s.store.SaveModel(ctx, det.ID, store.FittedModel{Model: blob, Threshold: m.Threshold, NFeatures: m.Cols, TrainingTime: took, IfVersion: det.Version})
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, errorf(http.StatusConflict, CodeConflict, "detector %s changed while it was being trained; train it again", det.ID)
		}
		return nil, toAPI(err)
	}
	// Drop every cached entry of the old version, here and (through Redis) on every other
	// instance, then write the new version through, so that the other instances read it
	// from Redis rather than from the store.
	cctx := context.WithoutCancel(ctx)
	// Delete the old version's copies under the tag's current generation first, else they
	// would stay in Redis, unreachable, until their TTL.
	s.cache.Delete(cctx, modelKey(det.ID, det.Version), detectorTag(det.ID))
	s.cache.Delete(cctx, metaKey(det.ID), detectorTag(det.ID))
	s.cache.InvalidateTag(cctx, detectorTag(det.ID))
	s.cache.Set(cctx, modelKey(det.ID, saved.Version), blob, cacheTTL, detectorTag(det.ID))
	s.cache.Set(cctx, metaKey(det.ID), encodeMeta(saved.Version, true), cacheTTL, detectorTag(det.ID))
	s.models.put(det.ID, saved.Version, m)
	if s.gone.has(det.ID) {
		s.models.drop(det.ID) // deleted while the model was being saved: serve nothing of it
	}
	return &trainResponse{DetectorID: det.ID, TrainingTimeMS: float64(took) / 1e6, NSamples: X.Rows, NFeatures: X.Cols, Threshold: m.Threshold, Version: saved.Version}, nil
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) *apiError {
	j := s.jobs.get(r.PathValue("id"))
	if j == nil {
		return errorf(http.StatusNotFound, CodeNotFound, "job %s: not found (jobs are kept in memory, the last 1000)", r.PathValue("id"))
	}
	writeJSON(w, http.StatusOK, j.snapshot())
	return nil
}

// Prediction.

type predictRequest struct {
	DetectorID string   `json:"detector_id"`
	Data       jsonRows `json:"data"`
}

type predictResponse struct {
	Scores    []float64 `json:"scores"`
	IsAnomaly []bool    `json:"is_anomaly"`
	Threshold float64   `json:"threshold"`
}

// cacheTTL is how long detector metadata and models live in the cache; retraining and
// deleting invalidate them at once, so this only bounds memory.
const cacheTTL = time.Hour

// served returns the live model of a detector: its current version from the cache (the
// store on a miss), then the model of that version from memory, the cache or the store.
func (s *Server) served(ctx context.Context, id string) (*live, error) {
	for attempt := 0; ; attempt++ {
		meta, err := s.cache.GetOrLoad(ctx, metaKey(id), cacheTTL, func(ctx context.Context) ([]byte, error) {
			ds, err := s.store.GetDetectors(ctx, []string{id})
			if err != nil {
				return nil, err
			}
			if len(ds) == 0 {
				return nil, fmt.Errorf("store: detector %s: %w", id, store.ErrNotFound)
			}
			return encodeMeta(ds[0].Version, ds[0].IsFitted), nil
		}, detectorTag(id))
		if err != nil {
			return nil, err
		}
		version, fitted := decodeMeta(meta)
		if !fitted {
			return nil, errorf(http.StatusConflict, CodeNotFitted, "detector %s is not fitted: train it first (POST /api/v1/detection/train)", id)
		}
		if l := s.models.get(id, version); l != nil {
			return l, nil
		}
		blob, err := s.cache.GetOrLoad(ctx, modelKey(id, version), cacheTTL, func(ctx context.Context) ([]byte, error) {
			d, err := s.store.GetDetector(ctx, id)
			if err != nil {
				return nil, err
			}
			if d.Version != version || !d.IsFitted {
				return nil, errStale
			}
			return d.Model, nil
		}, detectorTag(id))
		if errors.Is(err, errStale) && attempt < 3 {
			// The detector changed between the two reads: its new metadata is on its way.
			s.cache.InvalidateTag(ctx, detectorTag(id))
			continue
		}
		if err != nil {
			return nil, err
		}
		// Concurrent requests for a version not yet in memory decode it once.
		v, err, _ := s.decodes.Do(modelKey(id, version), func() (any, error) {
			if l := s.models.get(id, version); l != nil {
				return l, nil
			}
			s.decoded.Add(1)
			m, err := detector.UnmarshalModel(blob)
			if err != nil {
				return nil, fmt.Errorf("detector %s version %d: %w", id, version, err)
			}
			return s.models.put(id, version, m), nil
		})
		if err != nil {
			return nil, err
		}
		return v.(*live), nil
	}
}

// metaKey holds a detector's current version and whether it is fitted (encodeMeta); modelKey
// the model bytes of one version.
func metaKey(id string) string { return "detector-meta:" + id }

func modelKey(id string, version int64) string {
	return "model:" + id + ":" + strconv.FormatInt(version, 10)
}

var errStale = errors.New("detector changed while its model was read")

func encodeMeta(version int64, fitted bool) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(version))
	if fitted {
		return append(b, 1)
	}
	return append(b, 0)
}

func decodeMeta(b []byte) (version int64, fitted bool) {
	if len(b) != 9 {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint64(b)), b[8] == 1
}

func (s *Server) predict(w http.ResponseWriter, r *http.Request) *apiError {
	var req predictRequest
	if e := decodeJSON(r, &req); e != nil {
		return e
	}
	if req.DetectorID == "" {
		return errorf(http.StatusBadRequest, CodeBadRequest, "detector_id is required")
	}
	if req.Data.m.Rows == 0 {
		return errorf(http.StatusBadRequest, CodeInvalidData, "data has no rows: send [[x1, x2, ...], ...]")
	}
	l, err := s.served(r.Context(), req.DetectorID)
	if err != nil {
		return toAPI(err)
	}
	scores, err := l.score(r.Context(), &req.Data.m)
	if err != nil {
		return toAPI(err)
	}
	resp := predictResponse{Scores: scores, IsAnomaly: make([]bool, len(scores)), Threshold: l.model.Threshold}
	anomalies := 0
	for i, v := range scores {
		if l.model.IsAnomaly(v) {
			resp.IsAnomaly[i] = true
			anomalies++
		}
	}
	res := &store.Result{DetectorID: req.DetectorID, NSamples: len(scores), Anomalies: anomalies, Threshold: l.model.Threshold}
	if len(scores) <= s.cfg.KeepScoresUpTo {
		res.Scores = scores
	}
	if err := s.results.put(r.Context(), res); err != nil {
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
	q := r.URL.Query()
	f := store.ResultFilter{DetectorID: q.Get("detector_id")}
	var e *apiError
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

// Health.

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz reports the store and the cache: 503 when the store does not answer; 200 with status
// "degraded" and a warning when only Redis is down (the service still answers from L1 and
// the store).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	body := map[string]any{"status": "ok"}
	storeStatus := map[string]any{"status": "ok"}
	status := http.StatusOK
	if err := s.store.Ping(ctx); err != nil {
		storeStatus = map[string]any{"status": "down", "error": err.Error()}
		body["status"], status = "unavailable", http.StatusServiceUnavailable
	}
	h := s.cache.Health()
	cacheStatus := map[string]any{"status": string(h.Status), "l2": h.L2, "since": h.Since}
	if h.Err != nil {
		cacheStatus["error"] = h.Err.Error()
		if status == http.StatusOK {
			body["status"] = "degraded"
			body["warnings"] = []string{"redis (L2 cache) unreachable: serving from the in-process cache and the store"}
		}
	}
	body["store"], body["cache"] = storeStatus, cacheStatus
	writeJSON(w, status, body)
}
