// Package fileconf holds what gonomaly's configuration files share (the monitor's thresholds
// file, the optimization file, the benchmark configuration): ReadFile, which reads only a
// bounded regular file, and the value types, so that each file reads them alike.
package fileconf

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a duration in a configuration file: a string time.ParseDuration reads ("60s",
// "1m30s", "500us") or a number of seconds. Errors quote at most 40 bytes of the value.
type Duration time.Duration

// UnmarshalYAML reads a duration string or a number of seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration (\"60s\", \"500us\" or seconds)", n.Line)
	}
	v, err := parseDuration(n.Value, n.Tag == "!!str")
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = v
	return nil
}

// UnmarshalJSON reads a duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s, quoted := string(b), len(b) > 0 && b[0] == '"'
	if quoted {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := parseDuration(s, quoted)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func parseDuration(s string, isString bool) (Duration, error) {
	if isString {
		v, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("duration %.40q: want \"60s\", \"500us\" or a number of seconds", s)
		}
		return Duration(v), nil
	}
	sec, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil:
		return 0, fmt.Errorf("duration %.40q: want \"60s\", \"500us\" or a number of seconds", s)
	case math.IsNaN(sec) || math.Abs(sec) >= math.MaxInt64/1e9: // the float nearest the limit is past it
		return 0, fmt.Errorf("duration %.40s seconds is out of range", s)
	}
	return Duration(math.Round(sec * 1e9)), nil
}
