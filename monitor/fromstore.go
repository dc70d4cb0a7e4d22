package monitor

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/gonomaly/gonomaly/store"
)

// StoreReader is what StatusFromStore reads: the samples a serving Monitor stored and the
// alerts.
type StoreReader interface {
	QuerySamples(ctx context.Context, q store.SampleQuery) ([]store.Sample, error)
	ListAlerts(ctx context.Context, f store.AlertFilter) ([]*store.Alert, error)
}

// StatusFromStore rebuilds a Status from what a Monitor stored (resource means, operation
// summaries and model health every minute, alerts as they happen): the newest sample of each
// series taken at or after now - recent, and the active alerts. It is what `gonomaly
// performance monitor --status` shows without --url: the last minute a service stored, not
// the live figures. Figures nobody stored are left zero; ok is false when no sample is that
// recent.
func StatusFromStore(ctx context.Context, st StoreReader, now time.Time, recent time.Duration) (s Status, ok bool, err error) {
	s = Status{Time: now, Operations: []OpSummary{}, Models: []DetectorHealth{}, Alerts: []Alert{}, Bottlenecks: []Bottleneck{}}
	latest := func(name string) ([]store.Sample, error) {
		all, err := st.QuerySamples(ctx, store.SampleQuery{Name: name, From: now.Add(-recent), To: now.Add(time.Second), Limit: 100000})
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		// The newest of each label set (samples come oldest first).
		idx := map[string]int{}
		var out []store.Sample
		for _, smp := range all {
			k := labelKey(smp.Labels)
			if i, seen := idx[k]; seen {
				out[i] = smp
				continue
			}
			idx[k] = len(out)
			out = append(out, smp)
		}
		return out, nil
	}
	var newest time.Time
	seen := func(t time.Time) {
		if t.After(newest) {
			newest = t
		}
	}
	// Resources: one series per metric (the serving instance's labels).
	r := Resources{}
	have := false
	for i, name := range metricNames {
		ss, err := latest(name)
		if err != nil {
			return s, false, err
		}
		if len(ss) == 0 {
			continue
		}
		v, t := ss[len(ss)-1].Value, ss[len(ss)-1].Time
		seen(t)
		have = true
		r.Time = t
		switch i {
		case 0:
			r.CPUPercent = v
		case 1:
			r.RSS = int64(v)
		case 2:
			r.Heap = int64(v)
		case 3:
			r.GCPercent = v
		case 4:
			r.Goroutines = int(v)
		case 5:
			r.OpenFiles = int(v)
		case 6:
			r.Load1 = v
		case 7:
			r.MemAvailable = int64(v)
		case 8:
			r.GCPauseMax = time.Duration(v * 1e9)
		}
	}
	if have {
		s.Resources = &r
		s.MemoryUsage, s.CPUUsage = float64(r.RSS)/1e6, r.CPUPercent
	}
	// Operations, by the "operation" label; "service" is the API merged.
	opField := map[string]func(o *OpSummary, v float64){
		"operation_count":            func(o *OpSummary, v float64) { o.Count = int64(v) },
		"operation_throughput":       func(o *OpSummary, v float64) { o.PerSecond = v },
		"operation_error_rate":       func(o *OpSummary, v float64) { o.ErrorRate = v },
		"operation_mean_seconds":     func(o *OpSummary, v float64) { o.Mean = seconds(v) },
		"operation_p50_seconds":      func(o *OpSummary, v float64) { o.P50 = seconds(v) },
		"operation_p95_seconds":      func(o *OpSummary, v float64) { o.P95 = seconds(v) },
		"operation_p99_seconds":      func(o *OpSummary, v float64) { o.P99 = seconds(v) },
		"operation_mean_alloc_bytes": func(o *OpSummary, v float64) { o.MeanAlloc = int64(v) },
	}
	ops, err := bySubject(opField, "operation", latest, seen, func(op string) *OpSummary { return &OpSummary{Name: op} })
	if err != nil {
		return s, false, err
	}
	for _, op := range sortedKeys(ops) {
		if op == "service" {
			s.Service = *ops[op]
			continue
		}
		s.Operations = append(s.Operations, *ops[op])
	}
	s.ResponseTime, s.Throughput, s.ErrorRate = float64(s.Service.Mean)/1e6, s.Service.PerSecond, s.Service.ErrorRate
	// Model health, by the "detector" label.
	modelField := map[string]func(h *DetectorHealth, v float64){
		"model_rows":           func(h *DetectorHealth, v float64) { h.Rows = int64(v) },
		"model_anomaly_rate":   func(h *DetectorHealth, v float64) { h.Rate = v },
		"model_expected_rate":  func(h *DetectorHealth, v float64) { h.Expected = v },
		"model_anomaly_rate_p": func(h *DetectorHealth, v float64) { h.RateP = v },
		"model_score_psi":      func(h *DetectorHealth, v float64) { h.ScorePSI = v },
		"model_score_ks_p":     func(h *DetectorHealth, v float64) { h.ScoreKSP = v },
	}
	models, err := bySubject(modelField, "detector", latest, seen, newStoredHealth)
	if err != nil {
		return s, false, err
	}
	for _, id := range sortedKeys(models) {
		s.Models = append(s.Models, *models[id])
	}
	alerts, err := st.ListAlerts(ctx, store.AlertFilter{ActiveOnly: true, Limit: 1000})
	if err != nil {
		return s, false, fmt.Errorf("reading alerts: %w", err)
	}
	for _, a := range alerts {
		s.Alerts = append(s.Alerts, fromStoreAlert(a))
	}
	sortAlerts(s.Alerts)
	s.Health = HealthStatus{Status: StatusOK, Components: []ComponentHealth{{Name: "store", Status: StatusOK}}}
	if !newest.IsZero() {
		s.Time = newest
	}
	return s, !newest.IsZero(), nil
}

func seconds(v float64) time.Duration { return time.Duration(v * float64(time.Second)) }

func labelKey(l map[string]string) string {
	var b []byte
	for _, k := range sortedKeys(l) {
		b = append(b, k...)
		b = append(b, 0)
		b = append(b, l[k]...)
		b = append(b, 0)
	}
	return string(b)
}

// newStoredHealth is a detector's health as the store keeps it: only the figures persisted.
func newStoredHealth(id string) *DetectorHealth {
	return &DetectorHealth{ID: id, Status: "stored", Features: []FeatureDrift{}, RateP: 1, ScoreKSP: 1, ScorePSIP: 1}
}

// sortAlerts orders alerts most severe first, then newest first.
func sortAlerts(as []Alert) {
	slices.SortStableFunc(as, func(a, b Alert) int {
		if a.Severity != b.Severity {
			return int(b.Severity) - int(a.Severity)
		}
		return b.StartsAt.Compare(a.StartsAt)
	})
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// bySubject reads the newest sample of each metric in fields and sets it, through the field's
// setter, on the value of its subject (the label named label; samples without it are left
// out), made by newT the first time a subject is seen.
func bySubject[T any](fields map[string]func(*T, float64), label string, latest func(string) ([]store.Sample, error),
	seen func(time.Time), newT func(string) *T) (map[string]*T, error) {
	out := map[string]*T{}
	for _, name := range sortedKeys(fields) {
		ss, err := latest(name)
		if err != nil {
			return nil, err
		}
		for _, smp := range ss {
			subject := smp.Labels[label]
			if subject == "" {
				continue
			}
			v := out[subject]
			if v == nil {
				v = newT(subject)
				out[subject] = v
			}
			fields[name](v, smp.Value)
			seen(smp.Time)
		}
	}
	return out, nil
}
