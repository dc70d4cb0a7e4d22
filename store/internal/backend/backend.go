// Package backend is what the SQLite and PostgreSQL stores share: the record methods of
// store.Store (Records), written once over a small interface each back end implements (DB:
// connections for reads, writes and transactions; Dialect: where the SQL or column types
// differ; optional ResultInserter and SampleInserter for faster batch inserts), and beneath
// them identifiers, the encodings of scores, labels and times, record validation and the
// migrations. It keeps the two back ends' behaviour identical where the conformance suite
// checks it; what stays in each back end is its connection handling, its schema and its
// dialect.
package backend

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/gonomaly/gonomaly/store"
	"github.com/google/uuid"
)

// NewID returns a new record id: a UUID version 7 (RFC 9562), whose leading 48 bits are the
// Unix time in milliseconds, so ids made in time order sort together and B-tree inserts stay
// at the right edge of the index.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String() // fails only if crypto/rand does, which Go 1.24+ never lets happen
}

// Time is t as the store keeps it: UTC, rounded down to the microsecond (PostgreSQL's
// precision, which SQLite copies so both return the same values).
func Time(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Now is the current time as the store keeps it.
func Now() time.Time { return Time(time.Now()) }

// OrNow is Time(t), or Now() when t is zero.
func OrNow(t time.Time) time.Time {
	if t.IsZero() {
		return Now()
	}
	return Time(t)
}

// Micros is t in microseconds since the Unix epoch (SQLite's time columns).
func Micros(t time.Time) int64 { return t.UnixMicro() }

// FromMicros inverts Micros.
func FromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// Seconds and FromSeconds store a duration as float64 seconds (the seed's training_time).
func Seconds(d time.Duration) float64 { return d.Seconds() }

// FromSeconds inverts Seconds (exactly, for durations under about 104 days).
func FromSeconds(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// EncodeScores packs scores as little-endian float64s; nil stays nil.
func EncodeScores(s []float64) []byte {
	if s == nil {
		return nil
	}
	b := make([]byte, 8*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return b
}

// DecodeScores inverts EncodeScores.
func DecodeScores(b []byte) ([]float64, error) {
	if b == nil {
		return nil, nil
	}
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("scores: %d bytes is not a whole number of float64s", len(b))
	}
	s := make([]float64, len(b)/8)
	for i := range s {
		s[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return s, nil
}

// EncodeLabels is the canonical text of a label set: JSON with sorted keys, "{}" for none.
// Two equal label sets always encode to the same text, so a series is selected by equality.
func EncodeLabels(l map[string]string) string {
	if len(l) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(l) // maps marshal with sorted keys; strings always marshal
	return string(b)
}

// DecodeLabels inverts EncodeLabels; "{}" gives nil.
func DecodeLabels(s string) (map[string]string, error) {
	if s == "{}" || s == "" {
		return nil, nil
	}
	var l map[string]string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("labels %q: %w", s, err)
	}
	return l, nil
}

// Limit is the LIMIT of a listing: n, or store.DefaultLimit when n <= 0.
func Limit(n int) int {
	if n <= 0 {
		return store.DefaultLimit
	}
	return n
}

// Offset is the OFFSET of a listing, never negative.
func Offset(n int) int { return max(n, 0) }

func invalid(what, id, format string, args ...any) error {
	if id != "" {
		what += " " + ShowID(id)
	}
	return fmt.Errorf("store: %s: %s: %w", what, fmt.Sprintf(format, args...), store.ErrInvalid)
}

// Params returns the detector's parameters as stored: the JSON object, or "{}" when empty.
func Params(d *store.Detector) ([]byte, error) {
	p := bytes.TrimSpace(d.Parameters)
	if len(p) == 0 {
		return []byte("{}"), nil
	}
	if !utf8.Valid(p) {
		return nil, invalid("detector", d.ID, "parameters are not valid UTF-8")
	}
	if !json.Valid(p) || p[0] != '{' {
		return nil, invalid("detector", d.ID, "parameters %.40q are not a JSON object", p)
	}
	return p, nil
}

// CheckDetector validates the fields CreateDetector and UpdateDetector write (the id is
// CreateDetector's to check).
func CheckDetector(d *store.Detector) error {
	if err := checkText("detector", d.ID,
		textField{"name", d.Name, store.MaxNameBytes},
		textField{"algorithm", d.Algorithm, store.MaxNameBytes}); err != nil {
		return err
	}
	switch {
	case d.Name == "":
		return invalid("detector", d.ID, "name is empty")
	case d.Algorithm == "":
		return invalid("detector", d.ID, "algorithm is empty")
	case !(d.Contamination > 0 && d.Contamination <= 0.5):
		return invalid("detector", d.ID, "contamination %v is outside (0, 0.5]", d.Contamination)
	}
	_, err := Params(d)
	return err
}

// CheckModel validates a model before SaveModel.
func CheckModel(id string, m *store.FittedModel) error {
	switch {
	case len(m.Model) == 0:
		return invalid("detector", id, "model bytes are empty")
	case m.NFeatures <= 0 || m.NFeatures > math.MaxInt32:
		return invalid("detector", id, "model has %d features", m.NFeatures)
	case math.IsNaN(m.Threshold) || math.IsInf(m.Threshold, 0):
		return invalid("detector", id, "threshold is %v", m.Threshold)
	case m.TrainingTime < 0:
		return invalid("detector", id, "training time %v is negative", m.TrainingTime)
	}
	return nil
}

// CheckDataset validates a dataset before CreateDataset.
func CheckDataset(d *store.Dataset) error {
	if err := checkNewID("dataset", d.ID); err != nil {
		return err
	}
	if err := checkText("dataset", d.ID,
		textField{"name", d.Name, store.MaxNameBytes},
		textField{"file format", d.FileFormat, store.MaxNameBytes},
		textField{"path", d.Path, store.MaxPathBytes}); err != nil {
		return err
	}
	switch {
	case d.Name == "":
		return invalid("dataset", d.ID, "name is empty")
	case d.FileFormat == "":
		return invalid("dataset", d.ID, "file format is empty")
	case d.NSamples < 0 || d.NFeatures < 0:
		return invalid("dataset", d.ID, "shape %d x %d is negative", d.NSamples, d.NFeatures)
	case d.NSamples > math.MaxInt32 || d.NFeatures > math.MaxInt32:
		return invalid("dataset", d.ID, "shape %d x %d is larger than the store keeps (%d)", d.NSamples, d.NFeatures, math.MaxInt32)
	case len(d.Data) == 0 && d.Path == "":
		return invalid("dataset", d.ID, "has neither data nor a path")
	}
	return nil
}

// CheckResult validates a result before CreateResults. A DetectorID that is not empty but
// not a well-formed id passes: it names a detector that does not exist, which CreateResults
// reports as such.
func CheckResult(r *store.Result) error {
	if err := checkNewID("result", r.ID); err != nil {
		return err
	}
	switch {
	case r.DetectorID == "":
		return invalid("result", r.ID, "detector id is empty")
	case r.NSamples < 0 || r.NSamples > math.MaxInt32:
		return invalid("result", r.ID, "%d samples", r.NSamples)
	case math.IsNaN(r.Threshold):
		return invalid("result", r.ID, "threshold is NaN")
	case r.Scores != nil && len(r.Scores) != r.NSamples:
		return invalid("result", r.ID, "%d scores for %d samples", len(r.Scores), r.NSamples)
	case r.Anomalies < 0 || r.Anomalies > r.NSamples:
		return invalid("result", r.ID, "%d anomalies in %d samples", r.Anomalies, r.NSamples)
	}
	return nil
}

// CheckBenchmarkRun validates a run before CreateBenchmarkRun.
func CheckBenchmarkRun(r *store.BenchmarkRun) error {
	if err := checkNewID("benchmark run", r.ID); err != nil {
		return err
	}
	if err := checkText("benchmark run", r.ID,
		textField{"suite id", r.SuiteID, store.MaxNameBytes},
		textField{"kind", r.Kind, store.MaxNameBytes},
		textField{"name", r.Name, store.MaxNameBytes}); err != nil {
		return err
	}
	switch {
	case r.Kind == "":
		return invalid("benchmark run", r.ID, "kind is empty")
	case !utf8.Valid(r.Document):
		return invalid("benchmark run", r.ID, "document is not valid UTF-8")
	case !json.Valid(r.Document):
		return invalid("benchmark run", r.ID, "document is not valid JSON")
	}
	return nil
}

// CheckSample validates a sample before AddSamples.
func CheckSample(s *store.Sample) error {
	if err := checkText("metric sample", "", textField{"name", s.Name, store.MaxNameBytes}); err != nil {
		return err
	}
	switch {
	case s.Name == "":
		return invalid("metric sample", "", "name is empty")
	case s.Time.IsZero():
		return invalid("metric sample", "", "%s has no time", s.Name)
	case math.IsNaN(s.Value):
		return invalid("metric sample", "", "%s: value is NaN", s.Name)
	}
	return checkLabels("metric sample "+s.Name, s.Labels, store.MaxNameBytes)
}

// CheckAlert validates an alert before CreateAlert: its text as every text field (the
// message up to MaxMessageBytes, every other text, each action and each label up to
// MaxNameBytes), at most MaxAlertItems actions and labels, no NaN, a severity and a metric.
func CheckAlert(a *store.Alert) error {
	if err := checkNewID("alert", a.ID); err != nil {
		return err
	}
	if err := checkText("alert", a.ID,
		textField{"key", a.Key, store.MaxNameBytes},
		textField{"rule", a.Rule, store.MaxNameBytes},
		textField{"severity", a.Severity, store.MaxNameBytes},
		textField{"metric", a.Metric, store.MaxNameBytes},
		textField{"title", a.Title, store.MaxNameBytes},
		textField{"message", a.Message, store.MaxMessageBytes}); err != nil {
		return err
	}
	for i, act := range a.Actions {
		if why := badText(act, store.MaxNameBytes); why != "" {
			return invalid("alert", a.ID, "action %d %s", i, why)
		}
	}
	switch {
	case math.IsNaN(a.Value) || math.IsNaN(a.Threshold):
		return invalid("alert", a.ID, "value %v or threshold %v is NaN", a.Value, a.Threshold)
	case a.Severity == "":
		return invalid("alert", a.ID, "severity is empty")
	case a.Metric == "":
		return invalid("alert", a.ID, "metric is empty")
	case len(a.Actions) > store.MaxAlertItems:
		return invalid("alert", a.ID, "%d actions, more than %d", len(a.Actions), store.MaxAlertItems)
	case len(a.Labels) > store.MaxAlertItems:
		return invalid("alert", a.ID, "%d labels, more than %d", len(a.Labels), store.MaxAlertItems)
	}
	what := "alert"
	if a.ID != "" {
		what += " " + ShowID(a.ID)
	}
	return checkLabels(what, a.Labels, store.MaxNameBytes)
}

// Dedup returns ids without repeats, in first-seen order.
func Dedup(ids []string) []string {
	seen := make(map[string]struct{}, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}

// InOrder orders found (keyed by id) as ids, leaving out the ids not found.
func InOrder[T any](ids []string, found map[string]T) []T {
	out := make([]T, 0, len(found))
	for _, id := range ids {
		if v, ok := found[id]; ok {
			out = append(out, v)
		}
	}
	return out
}

// AcquireError describes a failed wait for a connection: ErrPoolTimeout when the wait, not
// the caller's context, ran out. Callers prefix it with the operation.
func AcquireError(waitingFor string, parentErr, err error, timeout time.Duration) error {
	if parentErr == nil && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("waiting for %s: %w within %v", waitingFor, store.ErrPoolTimeout, timeout)
	}
	return fmt.Errorf("waiting for %s: %w", waitingFor, err)
}
