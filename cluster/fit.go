package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/serving"
	"github.com/gonomaly/gonomaly/store"
)

// FitSpec is the spec of a fit job: fit stored detector Detector, at Version, on the matrix in
// object Data, and save its model (the serving protocol's Fit: every service instance sharing
// the store and the cache serves the new version at once).
type FitSpec struct {
	Detector string `json:"detector"`
	Version  int64  `json:"version"`
	Data     string `json:"data"` // "inputs/<sha256 of the matrix bytes>"
}

// FitResult is a fit job's result, as its state's Result holds it (JSON).
type FitResult struct {
	Version    int64   `json:"version"`
	TookMS     float64 `json:"took_ms"`
	Threshold  float64 `json:"threshold"`
	Redelivery bool    `json:"redelivery,omitempty"` // saved by an earlier attempt
}

// FitStore is what a fit job needs of the store.
type FitStore interface {
	GetDetector(ctx context.Context, id string) (*store.Detector, error)
}

// FitHandler returns the handler of fit jobs: it reads the detector from st, fits a new model
// on the job's data and saves it through svc (which refuses it if the detector changed since
// the job was queued: the job is then dead, "train it again"). A job run again after its
// model was saved (its worker died before acknowledging) finds the detector one version on
// and fitted, and is done without fitting again.
func FitHandler(c *Conn, st FitStore, svc *serving.Service) Handler {
	return func(ctx context.Context, job *Job, p *Progress) (string, error) {
		var spec FitSpec
		if err := json.Unmarshal(job.Spec, &spec); err != nil {
			return "", Permanent(fmt.Errorf("fit spec: %w", err))
		}
		if !strings.HasPrefix(spec.Data, "inputs/") {
			return "", Permanent(fmt.Errorf("fit spec: data %q is not an input's name", clip(spec.Data)))
		}
		det, err := st.GetDetector(ctx, spec.Detector)
		if errors.Is(err, store.ErrNotFound) {
			return "", Permanent(err)
		}
		if err != nil {
			return "", err
		}
		if det.Version != spec.Version {
			if det.Version == spec.Version+1 && det.IsFitted && job.Submitted.Before(det.UpdatedAt) {
				// Most likely this job's own save, before a lost acknowledgement.
				b, _ := json.Marshal(FitResult{Version: det.Version, TookMS: float64(det.TrainingTime) / 1e6, Threshold: det.Threshold, Redelivery: true})
				return string(b), nil
			}
			return "", Permanent(fmt.Errorf("detector %s: %w", det.ID, serving.ErrChanged))
		}
		raw, err := c.data.GetBytes(ctx, spec.Data)
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return "", Permanent(fmt.Errorf("training data %s is not in the cluster's object store (expired?)", spec.Data))
		}
		if err != nil {
			return "", fmt.Errorf("fetching the training data: %w", err)
		}
		X, err := DecodeMatrix(raw)
		if err != nil {
			return "", Permanent(err)
		}
		p.SetTotal(int64(X.Rows))
		m, err := det.NewModel()
		if err != nil {
			return "", Permanent(err)
		}
		f, err := svc.Fit(ctx, det, m, X)
		if err != nil {
			if errors.Is(err, serving.ErrChanged) || errors.Is(err, detector.ErrDimension) || errors.Is(err, store.ErrInvalid) {
				err = Permanent(err)
			}
			return "", err
		}
		p.Add(int64(X.Rows))
		_ = c.data.Delete(ctx, spec.Data)
		b, _ := json.Marshal(FitResult{Version: f.Version, TookMS: float64(f.Took) / 1e6, Threshold: m.Threshold})
		return string(b), nil
	}
}

// RemoteFitter fits detectors on the cluster's workers: a service instance with a cluster
// hands its training jobs to them. Service is the instance's own serving.Service, from which
// the new model is read back once a worker saved it.
type RemoteFitter struct {
	Conn    *Conn
	Service *serving.Service
}

// Fit has a worker fit det on X, waits for it, and leaves the fitted model in m (read back
// through the serving protocol, as every instance reads it). It returns the version saved
// and the worker that fitted it. When no worker that runs fit jobs is alive, it fits here,
// through Service, rather than queue a job nobody takes.
func (r *RemoteFitter) Fit(ctx context.Context, det *store.Detector, m *detector.Model, X *dataset.Matrix) (*serving.Fitted, error) {
	if !r.fitWorkerAlive(ctx) {
		return r.Service.Fit(ctx, det, m, X)
	}
	data := EncodeMatrix(X)
	sum := sha256.Sum256(data)
	name := "inputs/" + hex.EncodeToString(sum[:])
	if _, err := r.Conn.data.PutBytes(ctx, name, data); err != nil {
		return nil, fmt.Errorf("sending the training data to the cluster: %w", err)
	}
	b, err := r.Conn.Submit(ctx, KindFit, []any{FitSpec{Detector: det.ID, Version: det.Version, Data: name}})
	if err != nil {
		return nil, err
	}
	var res *JobState
	if err := b.Wait(ctx, func(s *JobState) error { res = s; return nil }, nil, 0); err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = b.Cancel(cctx)
		var dead *DeadError
		if errors.As(err, &dead) && strings.Contains(dead.Err, serving.ErrChanged.Error()) {
			return nil, serving.ErrChanged
		}
		return nil, err
	}
	var fr FitResult
	if err := json.Unmarshal([]byte(res.Result), &fr); err != nil {
		return nil, fmt.Errorf("worker %s's fit result: %w", res.Worker, err)
	}
	live, err := r.Service.Live(ctx, det.ID)
	if err != nil {
		return nil, err
	}
	if live.Version != fr.Version {
		return nil, serving.ErrChanged // retrained again since: this fit is already stale
	}
	*m = *live.Model
	return &serving.Fitted{Version: fr.Version, Took: time.Duration(fr.TookMS * 1e6), Worker: res.Worker}, nil
}

// fitWorkerAlive reports whether a worker that runs fit jobs has a recent heartbeat.
func (r *RemoteFitter) fitWorkerAlive(ctx context.Context) bool {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ws, err := r.Conn.Workers(cctx)
	if err != nil {
		return false
	}
	for _, w := range ws {
		if slices.Contains(w.Kinds, KindFit) && !w.Draining {
			return true
		}
	}
	return false
}

// The encoding of a matrix in the object store: the magic "GNYMATR1", rows and columns
// (uint64, little-endian), then the values row by row (float64, little-endian).
const matrixMagic = "GNYMATR1"

// EncodeMatrix encodes X for the object store.
func EncodeMatrix(X *dataset.Matrix) []byte {
	b := make([]byte, len(matrixMagic)+16+8*len(X.Data))
	copy(b, matrixMagic)
	o := len(matrixMagic)
	binary.LittleEndian.PutUint64(b[o:], uint64(X.Rows))
	binary.LittleEndian.PutUint64(b[o+8:], uint64(X.Cols))
	o += 16
	for _, v := range X.Data {
		binary.LittleEndian.PutUint64(b[o:], math.Float64bits(v))
		o += 8
	}
	return b
}

// DecodeMatrix decodes what EncodeMatrix wrote; the length must match the shape exactly, and
// the matrix must pass dataset's Validate (finite values).
func DecodeMatrix(b []byte) (*dataset.Matrix, error) {
	h := len(matrixMagic) + 16
	if len(b) < h || string(b[:len(matrixMagic)]) != matrixMagic {
		return nil, errors.New("not a matrix: no header")
	}
	rows := binary.LittleEndian.Uint64(b[len(matrixMagic):])
	cols := binary.LittleEndian.Uint64(b[len(matrixMagic)+8:])
	if rows == 0 || cols == 0 || rows > MaxResultRows || cols > 1<<20 || rows*cols > uint64(len(b)) {
		return nil, fmt.Errorf("not a matrix: %d x %d in %d bytes", rows, cols, len(b))
	}
	if uint64(len(b)-h) != 8*rows*cols {
		return nil, fmt.Errorf("not a matrix: %d bytes for %d x %d", len(b), rows, cols)
	}
	X := dataset.NewMatrix(int(rows), int(cols))
	o := h
	for i := range X.Data {
		X.Data[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[o:]))
		o += 8
	}
	if err := X.Validate(); err != nil {
		return nil, err
	}
	return X, nil
}
