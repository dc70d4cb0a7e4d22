package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the service's Prometheus metrics, on a registry of its own (so two servers in
// one process, as in tests, do not collide). Every metric carries the constant label
// instance_id naming the server process: Prometheus sets "instance" itself, to the scrape
// target's address, which says nothing when the instances sit behind one load balancer or
// the metrics are federated or pushed.
type metrics struct {
	registry  *prometheus.Registry
	reg       prometheus.Registerer // registry, adding the instance_id label
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	fit       *prometheus.HistogramVec
	score     *prometheus.HistogramVec
	batchRows *prometheus.HistogramVec
	results   *prometheus.CounterVec
	refused   *prometheus.CounterVec
	jobs      *prometheus.CounterVec
}

// InstanceLabel is the constant label that names the server process on every metric.
const InstanceLabel = "instance_id"

func newMetrics(instance string) *metrics {
	m := &metrics{registry: prometheus.NewRegistry()}
	m.reg = prometheus.WrapRegistererWith(prometheus.Labels{InstanceLabel: instance}, m.registry)
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "gonomaly", Name: "http_requests_total",
		Help: "HTTP requests answered, by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "gonomaly", Name: "http_request_duration_seconds",
		Help: "Time from request to answer, by route pattern.",
		// 50 us to 10 s: single-row predictions take tens of microseconds, training seconds.
		Buckets: prometheus.ExponentialBucketsRange(50e-6, 10, 18),
	}, []string{"route"})
	m.fit = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "gonomaly", Name: "detector_fit_seconds",
		Help:    "Time to fit a detector, by algorithm.",
		Buckets: prometheus.ExponentialBucketsRange(1e-3, 600, 16),
	}, []string{"algorithm"})
	m.score = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "gonomaly", Name: "detector_score_seconds",
		Help:    "Time of one scoring call (a micro-batch or a multi-row request), by algorithm.",
		Buckets: prometheus.ExponentialBucketsRange(1e-6, 10, 18),
	}, []string{"algorithm"})
	m.batchRows = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "gonomaly", Name: "predict_batch_rows",
		Help:    "Rows per micro-batch of single-row predictions, by algorithm.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
	}, []string{"algorithm"})
	m.results = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "gonomaly", Name: "results_persisted_total",
		Help: "Detection results handed to the store, by outcome: ok (written), deleted (dropped: " +
			"the detector was deleted meanwhile), rejected (dropped: the store refused the row), " +
			"error (dropped after the retries of a failing store).",
	}, []string{"outcome"})
	for _, o := range outcomeLabel {
		m.results.WithLabelValues(o)
	}
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "gonomaly", Name: "http_requests_refused_total",
		Help: "API requests refused with 503 because the server was at a limit, by limit.",
	}, []string{"limit"})
	m.jobs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "gonomaly", Name: "jobs_total",
		Help: "Jobs ended, by outcome: succeeded, failed, cancelled (detector deleted or shutdown), panicked.",
	}, []string{"outcome"})
	m.reg.MustRegister(m.requests, m.latency, m.fit, m.score, m.batchRows, m.results, m.refused, m.jobs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.reg})
}

// observeRequest records one answered request.
func (m *metrics) observeRequest(route, method string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, methodLabel(method), strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// methodLabel is method as a label: the methods HTTP defines, or "other" for any a client
// invented, so that made-up methods cannot add series without end.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}
