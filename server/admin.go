package server

import (
	"net/http"
	"runtime"
	"time"

	"github.com/gonomaly/gonomaly/optimize"
	"github.com/gonomaly/gonomaly/serving"
)

// CodeForbidden answers an admin request to a service that runs without API keys.
const CodeForbidden = "forbidden"

// tuningPath is the admin endpoint of the service's tuning (docs/api.md, docs/tuning.md).
const tuningPath = "/api/v1/admin/tuning"

// tuning is the JSON of the micro-batching settings: GET's answer, PUT's answer (with the
// settings it replaced in Previous).
type tuning struct {
	BatchMax   int     `json:"batch_max"`
	BatchWait  string  `json:"batch_wait"`
	Workers    int     `json:"workers"`
	Queue      int     `json:"queue"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	Previous   *tuning `json:"previous,omitempty"`
}

func tuningOf(o optimize.BatchOptions) *tuning {
	return &tuning{BatchMax: o.MaxBatch, BatchWait: o.MaxWait.String(), Workers: o.Workers, Queue: o.Queue, GOMAXPROCS: runtime.GOMAXPROCS(0)}
}

// tuningPatch is PUT's body: the settings to change; a field left out keeps its value.
type tuningPatch struct {
	BatchMax  *int    `json:"batch_max"`
	BatchWait *string `json:"batch_wait"`
	Workers   *int    `json:"workers"`
}

// apply returns cur with p's fields, refusing a patch that changes nothing and values out of
// serving's bounds, in the API's words.
func (p tuningPatch) apply(cur optimize.BatchOptions) (optimize.BatchOptions, *apiError) {
	if p.BatchMax == nil && p.BatchWait == nil && p.Workers == nil {
		return cur, errorf(http.StatusBadRequest, CodeBadRequest, "nothing to change: give batch_max, batch_wait or workers")
	}
	if p.BatchMax != nil {
		if *p.BatchMax < 1 || *p.BatchMax > serving.MaxBatchRows {
			return cur, errorf(http.StatusBadRequest, CodeInvalidParam, "batch_max %d: must be from 1 to %d", *p.BatchMax, serving.MaxBatchRows)
		}
		cur.MaxBatch = *p.BatchMax
	}
	if p.BatchWait != nil {
		d, err := time.ParseDuration(*p.BatchWait)
		if err != nil {
			return cur, errorf(http.StatusBadRequest, CodeInvalidParam, "batch_wait %q: not a duration such as \"500us\" or \"2ms\"", truncate(*p.BatchWait, 64))
		}
		if d < 0 || d > serving.MaxBatchWait {
			return cur, errorf(http.StatusBadRequest, CodeInvalidParam, "batch_wait %v: must be from 0 to %v", d, serving.MaxBatchWait)
		}
		cur.MaxWait = d
	}
	if p.Workers != nil {
		if *p.Workers < 1 || *p.Workers > serving.MaxBatchWorkers {
			return cur, errorf(http.StatusBadRequest, CodeInvalidParam, "workers %d: must be from 1 to %d", *p.Workers, serving.MaxBatchWorkers)
		}
		cur.Workers = *p.Workers
	}
	return cur, nil
}

// adminAllowed refuses the admin endpoints of a service without API keys: anyone who can
// reach an open service could otherwise retune it (a batch wait of a second on every
// prediction). requireKey has already checked the key when there are keys.
func (s *Server) adminAllowed() *apiError {
	if len(s.keyHashes) == 0 {
		return errorf(http.StatusForbidden, CodeForbidden, "the admin endpoints need an API key: start the service with --api-key-hash (or --api-key)")
	}
	return nil
}

// getTuning answers GET /api/v1/admin/tuning: the micro-batching settings in force.
func (s *Server) getTuning(w http.ResponseWriter, r *http.Request) *apiError {
	if e := s.adminAllowed(); e != nil {
		return e
	}
	writeJSON(w, http.StatusOK, tuningOf(s.serving.Batch()))
	return nil
}

// putTuning answers PUT /api/v1/admin/tuning: it changes the micro-batching settings of every
// detector, served now and later, without failing a prediction in flight (serving.SetBatch),
// and answers the settings now in force with the previous ones.
func (s *Server) putTuning(w http.ResponseWriter, r *http.Request) *apiError {
	if e := s.adminAllowed(); e != nil {
		return e
	}
	var p tuningPatch
	if e := decodeJSON(r, &p); e != nil {
		return e
	}
	prev := s.serving.Batch()
	// The queue stays as configured (0: derived from batch_max), not the derived value of
	// the old batch_max.
	cur := optimize.BatchOptions{MaxBatch: prev.MaxBatch, MaxWait: prev.MaxWait, Workers: prev.Workers, Queue: s.cfg.Batch.Queue}
	next, e := p.apply(cur)
	if e != nil {
		return e
	}
	if err := s.serving.SetBatch(next); err != nil {
		return errorf(http.StatusBadRequest, CodeInvalidParam, "%s", plain(err))
	}
	now := s.serving.Batch()
	s.log.Info("batch settings changed", "remote", r.RemoteAddr,
		"batch_max", now.MaxBatch, "batch_wait", now.MaxWait, "workers", now.Workers, "queue", now.Queue,
		"was_batch_max", prev.MaxBatch, "was_batch_wait", prev.MaxWait, "was_workers", prev.Workers)
	out := tuningOf(now)
	out.Previous = tuningOf(prev)
	writeJSON(w, http.StatusOK, out)
	return nil
}
