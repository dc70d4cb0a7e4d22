// Package monitor watches a running gonomaly: how fast, how healthy and how accurate it is,
// live, and what to do when that changes. A Monitor (New) runs the parts below; a library user
// can also use any of them alone. docs/monitoring.md tells the whole design for operators.
//
// Resources: a ResourceSampler reads, every Interval (default 1 s), the process (CPU share,
// resident set, Go heap and its goal, the collector's CPU share and longest pause, goroutines,
// open files) and the machine (load, available memory) through internal/sysstat, keeps the
// last Window readings in a ring, and every PersistEvery (1 min) stores their means as metric
// samples (process_cpu_percent, process_rss_bytes, ...).
//
// Operations: a Tracker times named operations (Track or TrackRows for code, Middleware for
// HTTP handlers, TrackModel for a detector.Model), with Hooks on start and end, and summarises
// each over a sliding window from HDR histograms: count, errors, rows, throughput, mean,
// p50/p95/p99, max and the memory an operation allocated.
//
// Judgement: every rule reports a Condition per subject, firing or not: Thresholds (the seed's
// PerformanceThresholds plus error rates, per operation, from YAML or JSON) on operations and
// resources; Diagnose, the bottleneck rules (cpu, gc, memory, database pool, cache, waiting,
// errors) with immediate actions; ModelHealth, which counts every predicted row into the
// training Profile a model keeps and tests its flagged share (binomial), its scores and each
// feature (PSI, Kolmogorov-Smirnov) for drift; the DBMonitor (pool, connections, cache hit
// ratio, slow statements); the LeakDetector (heap by allocation site and goroutines by
// function, sustained growth). AnalyzeTrend reads any series (Mann-Kendall, Theil-Sen,
// Pettitt) and says what it means.
//
// Alerts: Alerts turns conditions into alerts grouped by key (one active alert per key,
// escalation, resolution, cooldown, repeat interval, resolve timeout), stores them and tells
// Notifiers such as Webhook, whose delivery never blocks the caller.
//
// Showing it: Monitor.Status is everything at once (the seed's response_time, throughput,
// memory_usage and error_rate first), with WriteText for a terminal; Monitor.Collector puts it
// on Prometheus with the user's custom gauges; StatusFromStore rebuilds it from what a monitor
// stored; FetchStatus asks a service for it.
package monitor
