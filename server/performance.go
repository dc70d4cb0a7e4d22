package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gonomaly/gonomaly/cache"
	"github.com/gonomaly/gonomaly/monitor"
	"github.com/gonomaly/gonomaly/store"
)

// errServerFailed marks a request answered 5xx as a failed operation for the monitor.
var errServerFailed = errors.New("answered 5xx")

// isAPI picks the operations that make the service's response time, throughput and error
// rate: the /api/v1 routes (not the probes, metrics, or the monitor's own endpoints).
func isAPI(op string) bool { return strings.Contains(op, " /api/v1/") }

// newMonitor starts the service's monitor from opts, filling in what the server knows, and
// registers the server's components for its health.
func (s *Server) newMonitor(ctx context.Context, opts monitor.Options) *monitor.Monitor {
	if opts.Store == nil {
		opts.Store = s.store
	}
	if opts.DB == nil {
		if db, ok := s.store.(store.DBStater); ok {
			opts.DB = db
		}
	}
	if opts.Logger == nil {
		opts.Logger = s.log
	}
	if opts.API == nil {
		opts.API = isAPI
	}
	m := monitor.New(opts)
	if err := m.Alerts().Restore(ctx); err != nil {
		s.log.Warn("monitor: could not read the active alerts back", "err", err)
	}
	m.AddComponent("store", func(ctx context.Context) monitor.ComponentHealth {
		if err := s.store.Ping(ctx); err != nil {
			s.log.Warn("health: the store does not answer", "err", err)
			return monitor.ComponentHealth{Status: monitor.StatusDown, Detail: "the database does not answer"}
		}
		return monitor.ComponentHealth{Status: monitor.StatusOK}
	})
	m.AddComponent("cache", func(context.Context) monitor.ComponentHealth {
		h := s.cache.Health()
		switch {
		case h.Status == cache.StatusOK && h.L2:
			return monitor.ComponentHealth{Status: monitor.StatusOK, Detail: "memory and Redis"}
		case h.Status == cache.StatusOK:
			return monitor.ComponentHealth{Status: monitor.StatusOK, Detail: "memory only"}
		default:
			return monitor.ComponentHealth{Status: monitor.StatusDegraded, Detail: "Redis unreachable since " + h.Since.UTC().Format(time.RFC3339) + ": serving from memory and the store"}
		}
	})
	m.AddComponent("result_writer", func(context.Context) monitor.ComponentHealth {
		n, c := s.results.Queued()
		h := monitor.ComponentHealth{Status: monitor.StatusOK, Detail: fmt.Sprintf("%d of %d results queued", n, c)}
		if n > c/2 {
			h.Status = monitor.StatusDegraded
			h.Detail += ": the store is not keeping up"
		}
		return h
	})
	m.AddComponent("workers", func(context.Context) monitor.ComponentHealth {
		active, limit := s.jobs.load()
		h := monitor.ComponentHealth{Status: monitor.StatusOK, Detail: fmt.Sprintf("%d of %d training jobs queued or running", active, limit)}
		if active >= limit {
			h.Status = monitor.StatusDegraded
			h.Detail += ": new trainings are refused (429)"
		}
		return h
	})
	return m
}

// Monitor is the service's monitor (for a caller that mounted Handler and wants to track
// its own operations or register metrics).
func (s *Server) Monitor() *monitor.Monitor { return s.monitor }

// performanceMetrics answers GET /api/performance/metrics: the monitor's Status.
func (s *Server) performanceMetrics(w http.ResponseWriter, r *http.Request) *apiError {
	if _, e := query(r); e != nil {
		return e
	}
	writeJSON(w, http.StatusOK, s.monitor.Status(r.Context()))
	return nil
}

// performanceAlerts answers GET /api/performance/alerts: stored alerts, newest first, by
// severity, state and time.
func (s *Server) performanceAlerts(w http.ResponseWriter, r *http.Request) *apiError {
	q, e := query(r)
	if e != nil {
		return e
	}
	f := store.AlertFilter{}
	if v := q.Get("severity"); v != "" {
		sev, err := monitor.ParseSeverity(v)
		if err != nil {
			return errorf(http.StatusBadRequest, CodeBadRequest, "severity=%q: want info, low, medium, high or critical", truncate(v, 32))
		}
		f.Severity = sev.String()
	}
	switch v := q.Get("active"); v {
	case "", "false":
	case "true":
		f.ActiveOnly = true
	default:
		return errorf(http.StatusBadRequest, CodeBadRequest, "active=%q: want true or false", truncate(v, 32))
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return errorf(http.StatusBadRequest, CodeBadRequest, "%s=%q: want an RFC 3339 time", p.name, truncate(v, 64))
			}
			*p.dst = t
		}
	}
	if f.Limit, f.Offset, e = paging(q.Get("limit"), q.Get("offset")); e != nil {
		return e
	}
	alerts, err := s.monitor.Alerts().List(r.Context(), f)
	if err != nil {
		return toAPI(err)
	}
	if alerts == nil {
		alerts = []monitor.Alert{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": alerts, "stats": s.monitor.Alerts().Stats()})
	return nil
}
