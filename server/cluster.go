package server

import (
	"context"
	"net/http"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/serving"
	"github.com/gonomaly/gonomaly/store"
)

// fitter fits a detector's model and saves it: the serving protocol here, or a cluster's
// workers (cluster.RemoteFitter).
type fitter interface {
	Fit(ctx context.Context, det *store.Detector, m *detector.Model, X *dataset.Matrix) (*serving.Fitted, error)
}

// clusterStatus answers GET /api/v1/cluster: the queue and the workers of the service's
// cluster, with the jobs each runs and how far they got.
func (s *Server) clusterStatus(w http.ResponseWriter, r *http.Request) *apiError {
	if s.cfg.Cluster == nil {
		return errorf(http.StatusNotFound, CodeNotFound, "this service has no cluster (start it with --nats)")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	st, err := s.cfg.Cluster.Status(ctx)
	if err != nil {
		s.log.Warn("cluster status", "err", err)
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "the cluster's NATS server did not answer")
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
