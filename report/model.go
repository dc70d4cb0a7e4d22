package report

import (
	"time"

	"github.com/gonomaly/gonomaly/monitor"
)

// Version is the version of the report model (docs/report-json.md). It changes when a field
// changes meaning or goes away; new fields may appear without a change.
const Version = 1

// Kind is the "kind" field of every report.
const Kind = "report"

// MaxPoints is the most points a sampled series keeps (see Series): a longer one is averaged
// in equal runs of consecutive samples, so a 30-day report stays as small as a day's.
const MaxPoints = 500

// MaxAlerts is the most alerts a report lists one by one (the counts cover them all).
const MaxAlerts = 200

// Period is the span a report covers: samples, alerts and runs at or after Since and before
// Until.
type Period struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
}

// Duration is Until - Since.
func (p Period) Duration() time.Duration { return p.Until.Sub(p.Since) }

// Previous is the period of the same length that ends where p starts.
func (p Period) Previous() Period { return Period{Since: p.Since.Add(-p.Duration()), Until: p.Since} }

// Report is everything the store knows about one period, ready to render. Sections with
// nothing in the store are empty lists, never null.
type Report struct {
	Version     int       `json:"version"`
	Kind        string    `json:"kind"`
	GeneratedAt time.Time `json:"generated_at"`
	Period      Period    `json:"period"`
	// Previous is the period of the same length just before, which the headline figures
	// are compared with.
	Previous Period `json:"previous_period"`

	Summary     Summary      `json:"summary"`
	Benchmarks  []Benchmark  `json:"benchmarks"`
	Comparisons []Comparison `json:"comparisons"`
	// Datasets ranks the algorithms over the compared datasets; absent unless the period's
	// comparisons cover at least two datasets with at least two algorithms in common.
	Datasets *CrossDataset `json:"datasets,omitempty"`
	// Versions compares benchmark cells across the builds they were measured with.
	Versions    Versions     `json:"versions"`
	Scalability []Curve      `json:"scalability"`
	Memory      []MemoryTest `json:"memory"`
	// LoadTests are the period's load tests, oldest first, at most MaxLoadTests (the newest).
	LoadTests []LoadTest `json:"load_tests"`
	// Searches are the period's hyper-parameter searches and TuneRuns its tune runs, oldest
	// first, at most MaxSearches and MaxTuneRuns (the newest).
	Searches        []Search          `json:"searches"`
	TuneRuns        []TuneRun         `json:"tune_runs"`
	Operations      []Operation       `json:"operations"`
	Alerts          Alerts            `json:"alerts"`
	Series          []Series          `json:"series"`
	Models          []Model           `json:"models"`
	Recommendations []Recommendation  `json:"recommendations"`
	Skipped         []SkippedDocument `json:"skipped_documents,omitempty"`
}

// Health values of Summary.Health.
const (
	HealthHealthy  = "healthy"
	HealthDegraded = "degraded"
	HealthCritical = "critical"
	HealthNoData   = "no_data"
)

// Summary is the executive summary: overall health, why, and the headline figures against
// the previous period.
type Summary struct {
	// Health is healthy, degraded (an alert still active at the period's end, a worsening
	// trend, a drifting model or a service error rate of 5 % or more), critical (a high or
	// critical alert still active at the end) or no_data (nothing stored in the period).
	Health string `json:"health"`
	// Reasons say what made the health what it is, most serious first.
	Reasons   []string   `json:"reasons"`
	Headlines []Headline `json:"headlines"`
}

// Headline is one headline figure in this period and in the previous one.
type Headline struct {
	Name string `json:"name"`
	Unit string `json:"unit,omitempty"`
	// Value and Previous are nil when the period held no data for the figure.
	Value    *float64 `json:"value"`
	Previous *float64 `json:"previous"`
	// ChangePercent is 100 (value - previous) / previous, when both exist and previous is
	// not 0.
	ChangePercent *float64 `json:"change_percent,omitempty"`
	// Change is better, worse, same (within 5 %) or unknown, by which way is good for the
	// figure.
	Change string `json:"change"`
}

// Benchmark is one stored benchmark suite (kind "benchmark").
type Benchmark struct {
	SuiteID   string      `json:"suite_id"`
	Name      string      `json:"name"`
	CreatedAt time.Time   `json:"created_at"`
	Cells     []BenchCell `json:"cells"`
}

// BenchCell is one cell of a suite: its median total (fit + score) time with the 95 %
// confidence interval of the mean (the chart's error bar).
type BenchCell struct {
	ID            string   `json:"id"`
	Algorithm     string   `json:"algorithm"`
	Rows          int      `json:"rows"`
	Cols          int      `json:"cols"`
	Contamination float64  `json:"contamination"`
	Status        string   `json:"status"`
	Seconds       float64  `json:"total_seconds_median"`
	CILow         float64  `json:"ci_low"`
	CIHigh        float64  `json:"ci_high"`
	Throughput    float64  `json:"throughput_rows_per_sec"`
	ROCAUC        *float64 `json:"roc_auc,omitempty"`
}

// Comparison is one stored algorithm comparison (kind "compare").
type Comparison struct {
	SuiteID     string            `json:"suite_id"`
	CreatedAt   time.Time         `json:"created_at"`
	Dataset     string            `json:"dataset"`
	Rows        int               `json:"rows"`
	Cols        int               `json:"cols"`
	Algorithms  []ComparedAlg     `json:"algorithms"`
	ParetoFront []string          `json:"pareto_front"`
	Significant []SignificantPair `json:"significant_pairs"`
}

// ComparedAlg is one algorithm of a comparison.
type ComparedAlg struct {
	Algorithm        string   `json:"algorithm"`
	Status           string   `json:"status"`
	Rank             int      `json:"rank"`
	Pareto           bool     `json:"pareto"`
	ROCAUC           *float64 `json:"roc_auc,omitempty"`
	AveragePrecision *float64 `json:"average_precision,omitempty"`
	Seconds          float64  `json:"total_seconds_median"`
	CILow            float64  `json:"ci_low"`
	CIHigh           float64  `json:"ci_high"`
	Throughput       float64  `json:"throughput_rows_per_sec"`
}

// SignificantPair is a pair whose times differ significantly (Mann-Whitney).
type SignificantPair struct {
	Faster string  `json:"faster"`
	Slower string  `json:"slower"`
	Ratio  float64 `json:"ratio"`
	P      float64 `json:"p_value"`
}

// Curve is a scalability curve: measured times against rows and the growth fitted to them.
type Curve struct {
	// Source is "scalability" (a scalability run) or "benchmark" (a suite's sizes).
	Source    string       `json:"source"`
	SuiteID   string       `json:"suite_id"`
	CreatedAt time.Time    `json:"created_at"`
	Algorithm string       `json:"algorithm"`
	Cols      int          `json:"cols"`
	Basis     string       `json:"basis"` // cpu or wall seconds
	Points    []CurvePoint `json:"points"`
	// Pattern, A and B are the fitted growth: seconds = A + B f(rows), f the pattern's
	// function (O(1), O(log n), O(n), O(n log n), O(n^2), O(n^3)).
	Pattern  string  `json:"pattern"`
	A        float64 `json:"a"`
	B        float64 `json:"b"`
	Exponent float64 `json:"exponent"`
	R2       float64 `json:"r2"`
	Grade    string  `json:"grade"`
	// LargestRows is the largest size measured; Predicted10x the fitted seconds at ten times
	// it.
	LargestRows  int     `json:"largest_rows"`
	Predicted10x float64 `json:"predicted_seconds_at_10x"`
}

// CurvePoint is one measured size.
type CurvePoint struct {
	Rows    int     `json:"rows"`
	Seconds float64 `json:"seconds"`
}

// MemoryTest is one stored memory stress test (kind "memory").
type MemoryTest struct {
	SuiteID            string       `json:"suite_id"`
	CreatedAt          time.Time    `json:"created_at"`
	Algorithm          string       `json:"algorithm"`
	StopReason         string       `json:"stop_reason"`
	KillAtBytes        int64        `json:"kill_at_bytes"`
	LargestRows        int          `json:"largest_rows_tested"`
	FitBytesPerRow     float64      `json:"fit_bytes_per_row"`
	FitPeakBytesPerRow float64      `json:"fit_peak_bytes_per_row"`
	RSSBytesPerRow     float64      `json:"rss_bytes_per_row"`
	GrowthClass        string       `json:"growth_class,omitempty"`
	Steps              []MemoryStep `json:"steps"`
}

// MemoryStep is one size of a memory test.
type MemoryStep struct {
	Rows        int    `json:"rows"`
	Status      string `json:"status"`
	PeakRSS     int64  `json:"peak_rss_bytes"`
	FitPeakHeap int64  `json:"fit_peak_heap_bytes"`
}

// Operation summarises one tracked operation over the period from the per-minute summaries a
// service stored ("service" is the whole API).
type Operation struct {
	Name    string `json:"name"`
	Samples int    `json:"samples"` // minutes with a summary
	// PerSecond and ErrorRate are means over the minutes; P99Seconds is the median of the
	// minutes' p99, P99Max the worst minute's.
	PerSecond      float64 `json:"per_second"`
	ErrorRate      float64 `json:"error_rate"`
	P99Seconds     float64 `json:"p99_seconds"`
	P99MaxSeconds  float64 `json:"p99_max_seconds"`
	MeanAllocBytes float64 `json:"mean_alloc_bytes,omitempty"`
	// Latency is the operation's latency curve: the percentiles the monitor stores each
	// minute (50, 95 and 99; it stores no histogram), each in the median and worst minute.
	Latency []LatencyPercentile `json:"latency_percentiles"`
}

// Alerts are the alerts raised in the period, and those raised before it that were still
// active at its start.
type Alerts struct {
	// Total counts the alerts raised in the period; BySeverity and ByRule them.
	Total int `json:"total"`
	// Active counts the alerts still unresolved at the period's end, carried-over ones
	// included; ActiveBySeverity them.
	Active           int            `json:"active"`
	BySeverity       map[string]int `json:"by_severity"`
	ActiveBySeverity map[string]int `json:"active_by_severity"`
	ByRule           map[string]int `json:"by_rule"`
	// Items lists the newest MaxAlerts raised in the period, newest first.
	Items []Alert `json:"items"`
	// CarriedOver lists, newest first, at most MaxAlerts alerts raised before the period and
	// still active at its start: those of the previous period, and older ones not resolved
	// when the report is built (an older alert resolved since is not known to the report).
	CarriedOver []Alert `json:"carried_over"`
}

// Alert is one alert of the period.
type Alert struct {
	Time       time.Time         `json:"time"`
	ResolvedAt *time.Time        `json:"resolved_at,omitempty"`
	Severity   string            `json:"severity"`
	Rule       string            `json:"rule"`
	Metric     string            `json:"metric"`
	Title      string            `json:"title"`
	Value      float64           `json:"value"`
	Threshold  float64           `json:"threshold"`
	Labels     map[string]string `json:"labels,omitempty"`
}

// Series is a sampled metric over the period, with its trend: a chart.
type Series struct {
	Name   string `json:"name"`
	Metric string `json:"metric"` // the store's metric name
	// Operation is the operation label of operation_* metrics.
	Operation string `json:"operation,omitempty"`
	Unit      string `json:"unit"`
	// Samples is how many stored samples the period held; Points at most MaxPoints means of
	// equal runs of them, each at its run's first time.
	Samples int     `json:"samples"`
	Points  []Point `json:"points"`
	Min     float64 `json:"min"`
	Mean    float64 `json:"mean"`
	Max     float64 `json:"max"`
	// Trend is monitor.AnalyzeTrend of the samples; TrendLine the Theil-Sen line through
	// the points, at their first and last times.
	Trend     monitor.TrendReport `json:"trend"`
	TrendLine [2]Point            `json:"trend_line"`
}

// Point is one value at one time.
type Point struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// Model is one served detector's health over the period, from the model_* samples.
type Model struct {
	Detector string `json:"detector"`
	Samples  int    `json:"samples"` // minutes with a score PSI stored
	// Rows is the newest count of rows scored; the rates and tests are the newest values,
	// ScorePSIMax and RateMinP the worst over the period.
	Rows         int64   `json:"rows"`
	AnomalyRate  float64 `json:"anomaly_rate"`
	ExpectedRate float64 `json:"expected_rate"`
	RateP        float64 `json:"anomaly_rate_p"`
	ScorePSI     float64 `json:"score_psi"`
	ScorePSIMax  float64 `json:"score_psi_max"`
	ScoreKSP     float64 `json:"score_ks_p"`
	// Status is ok, watch (score PSI at least 0.1) or drifting (PSI at least 0.25, or the
	// flagged share or the scores' KS test below p 0.01).
	Status string `json:"status"`
}

// Recommendation is one thing to do, from a rule over the stored figures.
type Recommendation struct {
	// Source is the rule family: trend, bottleneck, alert, model, scalability, memory,
	// datasets or search.
	Source   string   `json:"source"`
	Severity string   `json:"severity"`
	Subject  string   `json:"subject"`
	Text     string   `json:"text"`
	Actions  []string `json:"actions,omitempty"`
}

// SkippedDocument is a stored run whose document could not be read.
type SkippedDocument struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}
