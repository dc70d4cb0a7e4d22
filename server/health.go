package server

import (
	"context"
	"net/http"
	"time"
)

// Health: liveness and readiness.

// healthz answers that the process is alive, and which instance it is (Config.Instance).
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "instance": s.cfg.Instance})
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
