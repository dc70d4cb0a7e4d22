package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors that callers branch on with errors.Is. Every error a Store returns names the record
// (and its id) it was about, as in "store: detector 0194...: not found".
var (
	// ErrNotFound: no record has the id (or a result names a detector that does not exist).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the record already exists, or it changed since the version the caller
	// read (optimistic concurrency), or an alert is resolved a second time.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the record breaks a rule of the store (an empty name, a contamination
	// outside (0, 0.5], parameters that are not a JSON object, text with a NUL byte or that is
	// not UTF-8, text longer than its limit, an id that is not a UUID, ...), or a filter holds
	// text no record can hold.
	ErrInvalid = errors.New("invalid record")
	// ErrPoolTimeout: no database connection became free within Options.AcquireTimeout.
	ErrPoolTimeout = errors.New("no database connection free in time")
)

// Rules every back end keeps for the text of a record, checked before any SQL runs (an
// error wrapping ErrInvalid that names the field, such as "store: detector: name contains
// a NUL byte: invalid record"):
//
//   - Every text field (names, algorithm, file format, path, kind, suite id, an alert's
//     key, rule, severity, metric, title, message and actions, label keys and values, and
//     the JSON of parameters and documents) is valid UTF-8 without NUL bytes, which
//     PostgreSQL's text cannot hold.
//   - A name or other short text (all but Path and Message; an alert's actions are short
//     texts) is at most MaxNameBytes long, a Path at most MaxPathBytes, an alert's Message
//     at most MaxMessageBytes; an alert has at most MaxAlertItems actions and labels.
//   - A record id is a UUID in the form the store issues: 36 characters, lower-case hex
//     digits grouped 8-4-4-4-12 by hyphens. A create with any other id is ErrInvalid; a get,
//     update or delete by one is ErrNotFound, and batch look-ups and filters by one find
//     nothing.
const (
	MaxNameBytes    = 1000
	MaxPathBytes    = 4096
	MaxMessageBytes = 64 << 10
)

// MissingDetectorsError is CreateResults' error when results name detectors that do not
// exist, never created or deleted while the results were on their way. Nothing of the batch
// was written; the batch without those detectors' results can be retried. Find it with
//
//	var missing *store.MissingDetectorsError
//	if errors.As(err, &missing) { ... missing.IDs ... }
//
// It wraps ErrNotFound.
type MissingDetectorsError struct {
	IDs []string // each missing detector once, in the order of the batch
}

func (e *MissingDetectorsError) Error() string {
	const show = 5
	var b strings.Builder
	b.WriteString("store: results name detectors that do not exist: ")
	for i, id := range e.IDs {
		if i == show {
			fmt.Fprintf(&b, " and %d more", len(e.IDs)-show)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		if len(id) > 40 {
			fmt.Fprintf(&b, "%.40q...", id)
		} else {
			fmt.Fprintf(&b, "%q", id)
		}
	}
	b.WriteString(": ")
	b.WriteString(ErrNotFound.Error())
	return b.String()
}

// Unwrap makes the error match ErrNotFound.
func (e *MissingDetectorsError) Unwrap() error { return ErrNotFound }

// Store is gonomaly's persistence: one small interface per kind of record, all behind one
// value. Implementations are safe for concurrent use. Open one with Open.
type Store interface {
	Detectors
	Datasets
	Results
	BenchmarkRuns
	Metrics
	Alerts
	// Ping checks that the database answers (for a readiness probe).
	Ping(ctx context.Context) error
	// Close releases the connections. Calls after Close fail.
	Close() error
}

// Detectors persists detectors and their fitted models.
type Detectors interface {
	// CreateDetector stores a new, unfitted detector. It assigns ID when empty and sets
	// CreatedAt (when zero), UpdatedAt and Version, writing them back into d. A detector
	// whose ID exists is ErrConflict. IsFitted, Model and the fit fields are ignored: a
	// detector becomes fitted only through SaveModel.
	CreateDetector(ctx context.Context, d *Detector) error
	// GetDetector returns the detector with its model bytes.
	GetDetector(ctx context.Context, id string) (*Detector, error)
	// GetDetectors returns the detectors with the given ids, without their model bytes, in
	// one statement. They come in the order of ids; ids that do not exist are left out
	// (compare the lengths), and a repeated id is returned once.
	GetDetectors(ctx context.Context, ids []string) ([]*Detector, error)
	// ListDetectors returns detectors without their model bytes, newest first.
	ListDetectors(ctx context.Context, f DetectorFilter) ([]*Detector, error)
	// UpdateDetector writes d's Name, Algorithm, Parameters and Contamination. When the
	// algorithm, parameters or contamination change, the stored model no longer matches, so
	// it is dropped in the same statement (the detector becomes unfitted). When d.Version is
	// not 0 the update applies only to that version, else it is ErrConflict. d receives the
	// stored state (new Version, UpdatedAt, fit fields; Model nil).
	UpdateDetector(ctx context.Context, d *Detector) error
	// SaveModel stores a fitted model: model, threshold, width, training time and
	// is_fitted change together in one transaction, so no reader ever sees a detector
	// half-trained. It returns the stored detector (Model is m.Model).
	SaveModel(ctx context.Context, id string, m FittedModel) (*Detector, error)
	// SetFitted sets is_fitted on every detector in ids in one statement and returns how
	// many changed. Setting true applies only to detectors that hold a model; setting false
	// keeps the model bytes (a later SetFitted true restores them). Unknown ids are skipped.
	SetFitted(ctx context.Context, ids []string, fitted bool) (int64, error)
	// DeleteDetector deletes a detector and its detection results.
	DeleteDetector(ctx context.Context, id string) error
}

// Datasets persists datasets: their shape, format and either their bytes or a path.
type Datasets interface {
	// CreateDataset stores a dataset, assigning ID when empty and CreatedAt when zero.
	CreateDataset(ctx context.Context, d *Dataset) error
	// GetDataset returns the dataset with its data bytes.
	GetDataset(ctx context.Context, id string) (*Dataset, error)
	// ListDatasets returns datasets without their data bytes, newest first.
	ListDatasets(ctx context.Context, f DatasetFilter) ([]*Dataset, error)
	// DeleteDataset deletes a dataset.
	DeleteDataset(ctx context.Context, id string) error
}

// Results persists detection results.
type Results interface {
	// CreateResults stores results in one transaction (all or none), assigning IDs and
	// CreatedAt where empty. Results whose detectors do not exist (or whose DetectorID is
	// not a well-formed id) fail the batch with a *MissingDetectorsError listing those
	// detectors, which wraps ErrNotFound.
	CreateResults(ctx context.Context, rs ...*Result) error
	// GetResult returns one result.
	GetResult(ctx context.Context, id string) (*Result, error)
	// ListResults returns results, newest first.
	ListResults(ctx context.Context, f ResultFilter) ([]*Result, error)
}

// BenchmarkRuns persists the result documents of performance runs.
type BenchmarkRuns interface {
	// CreateBenchmarkRun stores a run, assigning ID when empty and CreatedAt when zero.
	CreateBenchmarkRun(ctx context.Context, r *BenchmarkRun) error
	// GetBenchmarkRun returns one run.
	GetBenchmarkRun(ctx context.Context, id string) (*BenchmarkRun, error)
	// ListBenchmarkRuns returns runs with their documents, newest first.
	ListBenchmarkRuns(ctx context.Context, f BenchmarkFilter) ([]*BenchmarkRun, error)
	// DeleteBenchmarkRun deletes a run.
	DeleteBenchmarkRun(ctx context.Context, id string) error
}

// Metrics persists metric samples, a time series per name and label set.
type Metrics interface {
	// AddSamples stores samples in one transaction.
	AddSamples(ctx context.Context, samples ...Sample) error
	// QuerySamples returns the samples of one metric in a time range, oldest first.
	QuerySamples(ctx context.Context, q SampleQuery) ([]Sample, error)
	// DeleteSamplesBefore deletes every sample older than t (retention) and returns how
	// many it deleted.
	DeleteSamplesBefore(ctx context.Context, t time.Time) (int64, error)
}

// Alerts persists alerts raised by the monitor.
type Alerts interface {
	// CreateAlert stores an alert, assigning ID when empty and CreatedAt when zero.
	CreateAlert(ctx context.Context, a *Alert) error
	// GetAlert returns one alert.
	GetAlert(ctx context.Context, id string) (*Alert, error)
	// ListAlerts returns alerts, newest first.
	ListAlerts(ctx context.Context, f AlertFilter) ([]*Alert, error)
	// ResolveAlert marks an alert resolved at the given time (now when zero). Resolving a
	// resolved alert is ErrConflict.
	ResolveAlert(ctx context.Context, id string, at time.Time) error
}

// PoolStater is implemented by stores that report their connection pool; the server exports
// it as metrics.
type PoolStater interface {
	PoolStats() PoolStats
}

// PoolStats is a snapshot of a store's connection pool (for SQLite, its readers' pool).
type PoolStats struct {
	MaxConns     int           // the most connections the pool opens
	OpenConns    int           // connections open now
	InUse        int           // connections in use now
	Idle         int           // connections idle now
	WaitCount    int64         // acquisitions that had to wait, since Open
	WaitDuration time.Duration // their total wait
}

// Times: every time the store returns is in UTC and has microsecond precision (what
// PostgreSQL keeps); times given to it are rounded down to the microsecond.

// Detector is a configured detector and, once fitted, its model.
type Detector struct {
	ID            string
	Name          string
	Algorithm     string          // the registry name, e.g. "isolation_forest"
	Parameters    json.RawMessage // a JSON object; empty means {}
	Contamination float64         // in (0, 0.5]

	// The fit, set together by SaveModel. Model is filled by GetDetector and SaveModel
	// only; listings and batch look-ups leave it nil to stay cheap.
	IsFitted     bool
	Model        []byte // detector.Model's binary encoding (see EncodeModel)
	Threshold    float64
	NFeatures    int
	TrainingTime time.Duration

	// Version starts at 1 and grows by one with every change to the detector, so a cached
	// model can be checked against it.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// FittedModel is what SaveModel stores.
type FittedModel struct {
	Model        []byte // required
	Threshold    float64
	NFeatures    int // required, > 0
	TrainingTime time.Duration
	// IfVersion, when not 0, makes the save apply only if the detector is still at this
	// version (the one training started from), else ErrConflict: a model trained on
	// parameters that changed meanwhile is not saved over them.
	IfVersion int64
}

// DetectorFilter selects detectors. The zero value selects all of them, up to DefaultLimit.
type DetectorFilter struct {
	Algorithm string // only this algorithm, when set
	Fitted    *bool  // only fitted (true) or unfitted (false) ones, when set
	Limit     int    // at most this many; <= 0 means DefaultLimit
	Offset    int    // skip this many first
}

// Dataset is a stored dataset: either its bytes (Data) or where it lives (Path), or both.
type Dataset struct {
	ID         string
	Name       string
	NSamples   int
	NFeatures  int
	FileFormat string // "csv", "parquet", ...
	Data       []byte // filled by GetDataset only
	Path       string
	CreatedAt  time.Time
}

// DatasetFilter selects datasets.
type DatasetFilter struct {
	FileFormat string // only this format, when set
	MinSamples int    // only datasets with at least this many rows
	Limit      int    // <= 0 means DefaultLimit
	Offset     int
}

// Result is the outcome of one detection call.
type Result struct {
	ID         string
	DetectorID string
	NSamples   int
	Scores     []float64 // one per sample, or nil when only the summary is kept
	Anomalies  int       // how many scores are above Threshold
	Threshold  float64
	CreatedAt  time.Time
}

// ResultFilter selects results.
type ResultFilter struct {
	DetectorID string    // only this detector's results, when set
	Since      time.Time // created at or after, when set
	Until      time.Time // created before, when set
	Limit      int       // <= 0 means DefaultLimit
	Offset     int
}

// The kinds of benchmark run, one per `gonomaly performance` command that stores a result.
// They are also the "kind" field of the bench package's documents (bench.KindBenchmark, ...
// are these constants), so a stored run's Kind and its document's kind are one value.
const (
	KindBenchmark   = "benchmark"
	KindScalability = "scalability"
	KindMemory      = "memory"
	KindCompare     = "compare"
	KindSearch      = "search"
	KindTune        = "tune"     // gonomaly performance tune (docs/tuning.md)
	KindLoadTest    = "loadtest" // gonomaly performance loadtest (loadtest.Kind, docs/loadtest.md)
)

// BenchmarkRun is a stored performance result: a versioned JSON document (written by the
// bench package) with what is needed to find it again.
type BenchmarkRun struct {
	ID        string
	SuiteID   string // groups the runs of one suite; may be empty
	Kind      string // KindBenchmark, KindScalability, ... (required)
	Name      string
	CreatedAt time.Time
	Document  json.RawMessage // stored and returned byte for byte; must be valid JSON
}

// BenchmarkFilter selects benchmark runs.
type BenchmarkFilter struct {
	SuiteID string    // only this suite, when set
	Kind    string    // only this kind, when set
	Since   time.Time // created at or after, when set
	Until   time.Time // created before, when set
	Limit   int       // <= 0 means DefaultLimit
	Offset  int
}

// Sample is one measurement of a metric.
type Sample struct {
	Time   time.Time
	Name   string
	Value  float64
	Labels map[string]string // may be nil; nil and empty are the same label set
}

// SampleQuery selects the samples of one metric.
type SampleQuery struct {
	Name string    // required
	From time.Time // at or after, when set
	To   time.Time // before, when set
	// Labels, when not nil, selects the one series with exactly this label set; nil
	// returns every series of the metric.
	Labels map[string]string
	Limit  int // <= 0 means DefaultLimit
}

// Alert is a threshold crossing raised by the monitor: one episode of one rule about one
// subject, from the moment it fires until it resolves. Alerts of the same Key are the same
// problem raised again (the monitor's alert manager keeps at most one of a key active).
type Alert struct {
	ID string
	// Key groups the alerts of one rule about one subject, e.g. "latency/POST /predict"
	// (empty for alerts stored before keys existed).
	Key       string
	Rule      string // the rule's name, e.g. "latency", "memory"
	CreatedAt time.Time
	Severity  string // "info", "low", "medium", "high" or "critical"
	Metric    string
	Title     string // one line
	// Message is the alert's description: what was measured against what, in the user's
	// units. (There is no separate Description field: Message has always been it.)
	Message   string
	Value     float64 // the measured value when the alert was raised
	Threshold float64
	// Actions are what to do about it, most useful first; nil when none.
	Actions []string
	// Labels describe the subject (e.g. operation); nil and empty are the same.
	Labels     map[string]string
	ResolvedAt time.Time // zero while the alert is active
}

// Active reports whether the alert is not resolved.
func (a *Alert) Active() bool { return a.ResolvedAt.IsZero() }

// MaxAlertItems is the most actions, and the most labels, an alert may carry.
const MaxAlertItems = 64

// AlertFilter selects alerts. The fields combine with AND.
type AlertFilter struct {
	Severity   string    // only this severity, when set
	Metric     string    // only this metric, when set
	Key        string    // only this key (one rule about one subject), when set
	Rule       string    // only this rule, when set
	ActiveOnly bool      // only unresolved alerts
	Since      time.Time // created at or after, when set
	Until      time.Time // created before, when set
	Limit      int       // <= 0 means DefaultLimit
	Offset     int
}

// DefaultLimit is how many records a listing returns when its filter gives no Limit.
const DefaultLimit = 1000

// ValidID reports whether id is a well-formed record id: a UUID in the lowercase
// 8-4-4-4-12 form the store issues. Any other id names no record (the store answers
// ErrNotFound without asking the database), so a caller may check it first to keep a hostile
// id away from caches and logs.
func ValidID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := range len(id) {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
