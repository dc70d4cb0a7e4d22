package monitor

import (
	"fmt"
	"time"
)

// Severity ranks alerts and bottlenecks, lowest first.
type Severity int

// The severities, in order.
const (
	SeverityInfo Severity = iota
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

// String is the severity's name: info, low, medium, high or critical.
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name, as String writes it.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if n == name {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("severity %q: want one of info, low, medium, high, critical", name)
}

// MarshalText writes the severity's name (JSON, YAML).
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity's name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Condition is the state of one rule about one subject at one evaluation: whether it fires,
// and the figures behind it. Everything that can raise an alert (thresholds on operations and
// resources, bottleneck rules, the database monitor, leak detection, model health) reports
// Conditions; the alert manager turns them into alerts, grouped by Key.
type Condition struct {
	// Key identifies what the condition is about: the rule and its subject, for example
	// "latency/POST /api/v1/detection/predict" or "score_drift/<detector id>". An active
	// alert of a key does not repeat; the key's next non-firing condition resolves it.
	Key      string
	Rule     string // the rule's name, e.g. "latency", "score_drift"
	Firing   bool
	Severity Severity
	// Title is one line; Description says what was measured against what.
	Title       string
	Description string
	Metric      string // the measured metric's name
	Value       float64
	Threshold   float64
	// Actions are what to do about it, most useful first.
	Actions []string
	Labels  map[string]string
	Time    time.Time // when it was measured; zero means now
}
