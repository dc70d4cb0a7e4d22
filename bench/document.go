package bench

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strings"
	"time"

	"github.com/gonomaly/gonomaly/eval"
	"github.com/gonomaly/gonomaly/store"
)

// SchemaVersion is the version of the JSON documents this package writes
// (docs/performance-json.md). It changes when a field changes meaning or goes away; new
// fields may appear without a change.
const SchemaVersion = 1

// Document kinds, the "kind" field of every document. They are the store's kinds of
// benchmark run (store.KindBenchmark, ...), under which the documents are stored.
const (
	KindBenchmark   = store.KindBenchmark
	KindScalability = store.KindScalability
	KindMemory      = store.KindMemory
	KindCompare     = store.KindCompare
)

// Cell and step statuses.
const (
	StatusOK         = "ok"
	StatusTimeout    = "timeout"     // stopped at its timeout
	StatusError      = "error"       // failed: see the error field
	StatusOverBudget = "over_budget" // memory test: stopped before passing the budget
	StatusSkipped    = "skipped"     // not run (a smaller size already timed out)
)

// Header opens every document: what it is, where and when it was measured, by what.
type Header struct {
	SchemaVersion int    `json:"schema_version"`
	Kind          string `json:"kind"`
	// SuiteID identifies this run in the store (see NewSuiteID).
	SuiteID     string `json:"suite_id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// GonomalyVersion is the version the caller gave in Options; Build is the binary's build
	// information (BuildVersion).
	GonomalyVersion string  `json:"gonomaly_version"`
	Build           string  `json:"build"`
	Machine         Machine `json:"machine"`
	Seed            uint64  `json:"seed"`
	// Isolated reports that every cell ran in its own child process.
	Isolated        bool      `json:"isolated"`
	StartedAt       time.Time `json:"started_at"`
	FinishedAt      time.Time `json:"finished_at"`
	DurationSeconds float64   `json:"duration_seconds"`
}

var unsafeID = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// NewSuiteID returns an identifier for a run of the named suite started at t:
// NAME-YYYYMMDDTHHMMSSZ-RANDOM, with RANDOM eight hex digits.
func NewSuiteID(name string, t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	n := strings.Trim(unsafeID.ReplaceAllString(name, "-"), "-")
	if n == "" {
		n = "run"
	}
	return n + "-" + t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// Memory holds a cell's memory figures in bytes (see Measurement and CellResult): the largest
// over its iterations.
type Memory struct {
	FitPeakHeap   int64  `json:"fit_peak_heap_bytes"`
	ScorePeakHeap int64  `json:"score_peak_heap_bytes"`
	DataBytes     int64  `json:"data_bytes"`
	ModelBytes    int64  `json:"model_bytes"`
	PeakRSS       int64  `json:"peak_rss_bytes"`
	RSSScope      string `json:"rss_scope"`
}

// MaxSamples is the most per-iteration times a Cell keeps.
const MaxSamples = 100

// Cell is one cell of a benchmark document.
type Cell struct {
	ID            string         `json:"id"`
	Algorithm     string         `json:"algorithm"`
	Params        map[string]any `json:"parameters,omitempty"`
	Rows          int            `json:"rows"`
	Cols          int            `json:"cols"`
	Contamination float64        `json:"contamination"`
	// Dataset is "synthetic" or the file's path.
	Dataset string `json:"dataset"`
	Status  string `json:"status"`
	Error   string `json:"error,omitempty"`
	// Iterations measured, after Warmup discarded ones.
	Iterations int `json:"iterations"`
	Warmup     int `json:"warmup_iterations"`
	// Times in seconds over the measured iterations; Total is fit + score per iteration.
	Fit   *Summary `json:"fit_seconds,omitempty"`
	Score *Summary `json:"score_seconds,omitempty"`
	Total *Summary `json:"total_seconds,omitempty"`
	CPU   *Summary `json:"cpu_seconds,omitempty"`
	// Samples are the measured iterations' total (fit + score) seconds in the order measured,
	// at most MaxSamples of them (a longer run keeps MaxSamples evenly spaced ones): what
	// reports compare builds with, as benchstat does. Documents written before they existed
	// have none; their cells compare by their median.
	Samples []float64 `json:"total_seconds_samples,omitempty"`
	// Throughput is rows / median total seconds; ScoreThroughput rows / median score seconds.
	Throughput      float64 `json:"throughput_rows_per_sec"`
	ScoreThroughput float64 `json:"score_rows_per_sec"`
	// Memory is present with memory profiling.
	Memory *Memory `json:"memory,omitempty"`
	// Accuracy is present when the data has labels of both classes.
	Accuracy *eval.Metrics `json:"accuracy,omitempty"`
	// Profile is the pprof CPU profile file of the measured iterations.
	Profile string `json:"cpu_profile,omitempty"`
	// WallSeconds is the cell's whole wall time: starting a child, making the data, warm-up,
	// the harness's collections between phases.
	WallSeconds float64 `json:"wall_seconds"`
	// Worker, Host and Machine say where the cell ran when a cluster's worker ran it
	// (Options.Executor): the worker's name, its host and that machine. Absent otherwise: the
	// cell ran on the document's machine. A cell whose worker died has no Machine.
	Worker  string   `json:"worker,omitempty"`
	Host    string   `json:"host,omitempty"`
	Machine *Machine `json:"machine,omitempty"`
}

// BenchmarkDoc is the result of a benchmark suite (kind "benchmark").
type BenchmarkDoc struct {
	Header
	Config Config `json:"config"`
	Cells  []Cell `json:"cells"`
	// Scalability holds one growth analysis per algorithm, width and contamination rate over
	// the suite's sizes, when the suite asked for it and has at least three sizes.
	Scalability []ScalabilityFit `json:"scalability,omitempty"`
	// Distributed reports that a cluster's workers ran the cells (each cell says where); the
	// header's machine is then the one that coordinated them.
	Distributed bool `json:"distributed,omitempty"`
	// Machines lists the machines the cells ran on, when workers ran them; Warning is set
	// when there were several (MachinesWarning): timings of different machines must not be
	// compared with one another, while each cell's own statistics come from one machine.
	Machines []CellMachine `json:"machines,omitempty"`
	Warning  string        `json:"warning,omitempty"`
}

// ScalabilityFit is the growth of one series of a benchmark's cells over its sizes, fitted
// to the median total (fit + score) wall seconds and to the median CPU seconds.
type ScalabilityFit struct {
	Algorithm     string     `json:"algorithm"`
	Cols          int        `json:"cols"`
	Contamination float64    `json:"contamination"`
	Sizes         []int      `json:"sizes"`
	Seconds       []float64  `json:"seconds"`
	CPUSeconds    []float64  `json:"cpu_seconds"`
	Total         Complexity `json:"total"`
	CPU           Complexity `json:"cpu"`
	// Warning is set when the series' cells ran on more than one machine (MachinesWarning):
	// the growth then mixes machines.
	Warning string `json:"warning,omitempty"`
}

// ScalePoint is one size of a scalability document.
type ScalePoint struct {
	Rows   int      `json:"rows"`
	Status string   `json:"status"`
	Error  string   `json:"error,omitempty"`
	Fit    *Summary `json:"fit_seconds,omitempty"`
	Score  *Summary `json:"score_seconds,omitempty"`
	Total  *Summary `json:"total_seconds,omitempty"`
	CPU    *Summary `json:"cpu_seconds,omitempty"`
	// Throughput is rows / median total seconds.
	Throughput float64 `json:"throughput_rows_per_sec"`
}

// ScalabilityDoc is the result of a scalability analysis (kind "scalability"). The growth
// fits use the median of each size that finished: Fit, Score and Total of wall seconds (Total
// is fit + score), CPU of the CPU seconds of fit + score. Basis says which of CPU and Total is
// the headline that Pattern, Exponent, R2, Grade and Predicted10x repeat.
type ScalabilityDoc struct {
	Header
	Config ScalabilityConfig `json:"config"`
	Points []ScalePoint      `json:"points"`
	Fit    *Complexity       `json:"fit,omitempty"`
	Score  *Complexity       `json:"score,omitempty"`
	Total  *Complexity       `json:"total,omitempty"`
	CPU    *Complexity       `json:"cpu,omitempty"`

	Basis        string  `json:"basis"`
	Pattern      string  `json:"pattern,omitempty"`
	Exponent     float64 `json:"exponent"`
	R2           float64 `json:"r2"`
	Grade        string  `json:"grade,omitempty"`
	Predicted10x float64 `json:"predicted_seconds_at_10x"`
	// LargestRows is the largest size that finished.
	LargestRows int `json:"largest_rows"`
}

// MemoryStep is one size of a memory stress test.
type MemoryStep struct {
	Rows   int    `json:"rows"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// PredictedPeakRSS is the peak resident set size the growth so far predicted for this
	// step before it started (0 for the first two steps).
	PredictedPeakRSS int64 `json:"predicted_peak_rss_bytes"`
	// PeakRSS is the child process's peak resident set size (its own VmHWM, or the largest
	// the parent saw when it had to stop it).
	PeakRSS       int64   `json:"peak_rss_bytes"`
	FitPeakHeap   int64   `json:"fit_peak_heap_bytes"`
	ScorePeakHeap int64   `json:"score_peak_heap_bytes"`
	DataBytes     int64   `json:"data_bytes"`
	ModelBytes    int64   `json:"model_bytes"`
	FitSeconds    float64 `json:"fit_seconds"`
	ScoreSeconds  float64 `json:"score_seconds"`
}

// MemoryDoc is the result of a memory stress test (kind "memory").
type MemoryDoc struct {
	Header
	Config MemoryConfig `json:"config"`
	Steps  []MemoryStep `json:"steps"`
	// KillAtBytes is the resident set size at which a step's child is stopped: the budget
	// less a safety margin (5 %, at least 16 MiB).
	KillAtBytes int64 `json:"kill_at_bytes"`
	// StopReason says why the test ended: "predicted" (the next step's predicted peak would
	// pass the kill line), "over_budget" (a step was stopped), "timeout", "error" or
	// "max_steps".
	StopReason string `json:"stop_reason"`
	// NextRows and NextPredictedPeakRSS describe the step that was not started.
	NextRows             int   `json:"next_rows,omitempty"`
	NextPredictedPeakRSS int64 `json:"next_predicted_peak_rss_bytes,omitempty"`
	LargestRows          int   `json:"largest_rows_tested"`
	// Bytes per row are least-squares slopes over the finished steps against their rows, so
	// the runtime's fixed cost drops out. FitBytesPerRow is what the data and the fitted
	// model hold (live heap); FitPeakBytesPerRow the peak heap during fit; ScoreBytesPerRow
	// the peak heap during scoring beyond the data and model; RSSBytesPerRow the process's
	// peak resident set.
	FitBytesPerRow     float64 `json:"fit_bytes_per_row"`
	FitPeakBytesPerRow float64 `json:"fit_peak_bytes_per_row"`
	ScoreBytesPerRow   float64 `json:"score_bytes_per_row"`
	RSSBytesPerRow     float64 `json:"rss_bytes_per_row"`
	// Growth is the growth pattern of the fit's peak heap against rows (at least three
	// finished steps; only those whose peak reached 4 MiB when three did, since the runtime
	// collects nothing below that and a small step's peak counts every allocation);
	// GrowthClass repeats its best pattern.
	Growth      *Complexity `json:"growth,omitempty"`
	GrowthClass string      `json:"growth_class,omitempty"`
}

// CompareEntry is one algorithm of a comparison.
type CompareEntry struct {
	Algorithm string         `json:"algorithm"`
	Params    map[string]any `json:"parameters,omitempty"`
	Status    string         `json:"status"`
	Error     string         `json:"error,omitempty"`
	// Rank orders the algorithms by ROC-AUC, then average precision, then median total
	// time (1 = best; 0 for one that failed).
	Rank int `json:"rank"`
	// Pareto reports that no other algorithm is at least as accurate (ROC-AUC) and at least
	// as fast (median total seconds) while better in one of them.
	Pareto     bool          `json:"pareto"`
	Accuracy   *eval.Metrics `json:"accuracy,omitempty"`
	Fit        *Summary      `json:"fit_seconds,omitempty"`
	Score      *Summary      `json:"score_seconds,omitempty"`
	Total      *Summary      `json:"total_seconds,omitempty"`
	Throughput float64       `json:"throughput_rows_per_sec"`
	Memory     *Memory       `json:"memory,omitempty"`

	totals []float64
}

// PairTest is the Mann-Whitney U test of two algorithms' total times.
type PairTest struct {
	A string  `json:"a"`
	B string  `json:"b"`
	U float64 `json:"u"`
	P float64 `json:"p"`
	// Significant reports P < 1 - confidence.
	Significant bool `json:"significant"`
	// Faster names the algorithm with the smaller median total time; Ratio is the slower
	// median over the faster one.
	Faster string  `json:"faster"`
	Ratio  float64 `json:"ratio"`
}

// CompareDoc is the result of comparing algorithms on one labelled dataset (kind "compare").
type CompareDoc struct {
	Header
	Config    CompareConfig  `json:"config"`
	Rows      int            `json:"rows"`
	Cols      int            `json:"cols"`
	Anomalies int            `json:"anomalies"`
	Entries   []CompareEntry `json:"algorithms"`
	// ParetoFront names the algorithms on the front, fastest first.
	ParetoFront []string   `json:"pareto_front"`
	Pairs       []PairTest `json:"pairs"`
}
