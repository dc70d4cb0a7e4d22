// Package monitor watches a running gonomaly: the resources of its process and machine now,
// over a bounded window in memory and, at a coarser pace, in the store.
//
// This first part is the resource sampler. Every Interval (default 1 s) it reads the process
// (CPU share since the last reading, resident set, Go heap and its goal, the share of CPU the
// collector took, goroutines, open files) and the machine (load, available memory) through
// internal/sysstat, keeps the last Window readings in a ring, and every PersistEvery (default
// 1 min) writes the mean of the readings since the last write to the store as metric samples
// (process_cpu_percent, process_rss_bytes, ...; the longest GC pause as
// process_gc_pause_max_seconds), so that reports and trends can read them
// later.
//
// The second part is operation tracking: a Tracker times named operations (Track for code,
// Middleware for HTTP handlers), with hooks on start and end, and summarises each over a
// sliding window: count, errors, rows, throughput, mean, p50/p95/p99 and max from an HDR
// histogram. Thresholds and alerts, bottleneck rules, trends, the database monitor, leak
// detection and model health build on these (docs/architecture.md).
package monitor
