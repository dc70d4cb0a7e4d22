package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gonomaly/gonomaly/monitor"
	"github.com/gonomaly/gonomaly/store"
)

// sameWithin is the relative change below which a headline figure counts as the same.
const sameWithin = 0.05

// errorRateHigh is the service error rate at which the summary calls the service degraded
// (the monitor's errors bottleneck rule).
const errorRateHigh = 0.05

// headlines computes the headline figures of this period and the previous one.
func headlines(cur map[string][]store.Sample, alerts int, prev map[string][]store.Sample, prevAlerts int) []Headline {
	svc := func(s map[string][]store.Sample, metric string) []float64 {
		return values(bySubject(s[metric], "operation")["service"])
	}
	type fig struct {
		name, unit     string
		higherIsBetter bool
		f              func(map[string][]store.Sample) []float64
		agg            func([]float64) float64
		scale          float64
	}
	figs := []fig{
		{"Service p99 latency (median of minutes)", "ms", false, func(s map[string][]store.Sample) []float64 { return svc(s, "operation_p99_seconds") }, median, 1e3},
		{"Service throughput (mean)", "req/s", true, func(s map[string][]store.Sample) []float64 { return svc(s, "operation_throughput") }, mean, 1},
		{"Service error rate (mean)", "%", false, func(s map[string][]store.Sample) []float64 { return svc(s, "operation_error_rate") }, mean, 100},
		{"Resident memory (mean)", "MB", false, func(s map[string][]store.Sample) []float64 { return values(s["process_rss_bytes"]) }, mean, 1e-6},
	}
	out := make([]Headline, 0, len(figs)+1)
	for _, f := range figs {
		h := Headline{Name: f.name, Unit: f.unit}
		if xs := f.f(cur); len(xs) > 0 {
			v := f.agg(xs) * f.scale
			h.Value = &v
		}
		if xs := f.f(prev); len(xs) > 0 {
			v := f.agg(xs) * f.scale
			h.Previous = &v
		}
		h.setChange(f.higherIsBetter)
		out = append(out, h)
	}
	a, pa := float64(alerts), float64(prevAlerts)
	h := Headline{Name: "Alerts raised", Value: &a, Previous: &pa}
	h.setChange(false)
	return append(out, h)
}

func (h *Headline) setChange(higherIsBetter bool) {
	h.Change = "unknown"
	if h.Value == nil || h.Previous == nil {
		return
	}
	v, p := *h.Value, *h.Previous
	if p != 0 {
		c := 100 * (v - p) / p
		h.ChangePercent = &c
	}
	switch {
	case v == p || p != 0 && math.Abs(v-p)/math.Abs(p) < sameWithin:
		h.Change = "same"
	case (v > p) == higherIsBetter:
		h.Change = "better"
	default:
		h.Change = "worse"
	}
}

// recommendations applies the rules to the report's figures, most severe first.
func recommendations(r *Report, samples map[string][]store.Sample, alerts []*store.Alert) []Recommendation {
	out := []Recommendation{}
	// Trends that worsen (monitor.AnalyzeTrend's own advice).
	for _, s := range r.Series {
		if !s.Trend.Worsening {
			continue
		}
		sev := monitor.SeverityLow
		if s.Trend.Strength >= 0.5 || s.Trend.Change != nil && s.Trend.Change.Steady {
			sev = monitor.SeverityMedium
		}
		out = append(out, Recommendation{Source: "trend", Severity: sev.String(), Subject: s.Name, Text: s.Trend.Recommendation})
	}
	// The monitor's bottleneck rules over what the store holds: the collector's share of the
	// CPU (process-wide, judged once), each operation's allocation and error rate. CPU and
	// time budgets are not stored, so those rules do not apply here.
	gc := mean(values(samples["process_gc_cpu_percent"]))
	for i, op := range r.Operations {
		f := monitor.Figures{Op: op.Name, AllocBytes: int64(op.MeanAllocBytes), ErrorRate: op.ErrorRate}
		if i == 0 {
			f.GCPercent = gc
		}
		for _, b := range monitor.Diagnose(f) {
			out = append(out, Recommendation{Source: "bottleneck", Severity: b.Severity.String(), Subject: op.Name,
				Text: fmt.Sprintf("%s bottleneck: %s", b.Cause, b.Evidence), Actions: b.Actions})
		}
	}
	// Alerts still active at the end, high or critical, once per key.
	seen := map[string]bool{}
	for _, a := range alerts {
		sev, err := monitor.ParseSeverity(a.Severity)
		if err != nil || sev < monitor.SeverityHigh || !activeAt(a, r.Period.Until) {
			continue
		}
		key := cmp.Or(a.Key, a.Rule+"/"+a.Title)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, Recommendation{Source: "alert", Severity: a.Severity, Subject: cmp.Or(a.Key, a.Rule),
			Text: "still active at the period's end: " + a.Title, Actions: a.Actions})
	}
	for _, m := range r.Models {
		switch m.Status {
		case "drifting":
			out = append(out, Recommendation{Source: "model", Severity: monitor.SeverityMedium.String(), Subject: m.Detector,
				Text: fmt.Sprintf("detector %s drifts (score PSI %.3g, flagged %.3g%% against %.3g%% in training, KS p %.2g)",
					m.Detector, m.ScorePSI, 100*m.AnomalyRate, 100*m.ExpectedRate, m.ScoreKSP),
				Actions: []string{"retrain the detector on recent data", "check the data feed for a change of units, columns or source"}})
		case "watch":
			out = append(out, Recommendation{Source: "model", Severity: monitor.SeverityLow.String(), Subject: m.Detector,
				Text: fmt.Sprintf("detector %s's scores shifted (PSI %.3g): watch it", m.Detector, m.ScorePSI)})
		}
	}
	for _, c := range r.Scalability {
		if c.Grade < "D" || c.Grade == "" {
			continue
		}
		out = append(out, Recommendation{Source: "scalability", Severity: monitor.SeverityMedium.String(), Subject: c.Algorithm,
			Text: fmt.Sprintf("%s grows as %s (log-log exponent %.2f, grade %s): %d rows would take about %.3g s",
				c.Algorithm, c.Pattern, c.Exponent, c.Grade, 10*c.LargestRows, c.Predicted10x),
			Actions: []string{"fit on a sample of the rows (max_samples, or fewer training rows)", "compare with a linear algorithm (isolation_forest, hbos, ecod) on the same data"}})
	}
	for _, m := range r.Memory {
		if m.StopReason == "over_budget" {
			out = append(out, Recommendation{Source: "memory", Severity: monitor.SeverityMedium.String(), Subject: m.Algorithm,
				Text:    fmt.Sprintf("%s passed its memory budget after %d rows (%.0f bytes of resident memory per row)", m.Algorithm, m.LargestRows, m.RSSBytesPerRow),
				Actions: []string{"keep inputs below the largest size tested, or raise the memory budget", "process the data in chunks"}})
		}
	}
	if x := r.Datasets; x != nil && x.Recommendation.Algorithm != "" {
		out = append(out, Recommendation{Source: "datasets", Severity: monitor.SeverityInfo.String(), Subject: x.Recommendation.Algorithm,
			Text: x.Recommendation.Text})
	}
	out = append(out, searchRecommendations(r.Searches)...)
	slices.SortStableFunc(out, func(a, b Recommendation) int { return cmp.Compare(sevRank(b.Severity), sevRank(a.Severity)) })
	return out
}

func sevRank(s string) int {
	v, err := monitor.ParseSeverity(s)
	if err != nil {
		return -1
	}
	return int(v)
}

// health judges the period, with its reasons (see Summary.Health).
func health(r *Report, hasData bool) (string, []string) {
	if !hasData {
		return HealthNoData, []string{"the store holds no samples, alerts or benchmark runs in the period"}
	}
	status := HealthHealthy
	var reasons []string
	worse := func(s string) {
		if s == HealthCritical || status == HealthHealthy {
			status = s
		}
	}
	severe := r.Alerts.ActiveBySeverity[monitor.SeverityHigh.String()] + r.Alerts.ActiveBySeverity[monitor.SeverityCritical.String()]
	if severe > 0 {
		worse(HealthCritical)
		reasons = append(reasons, fmt.Sprintf("%d high or critical alerts still active at the end", severe))
	}
	if r.Alerts.Active > 0 {
		worse(HealthDegraded)
		reasons = append(reasons, fmt.Sprintf("%d alerts still active at the end", r.Alerts.Active))
	}
	var worsening []string
	for _, s := range r.Series {
		if s.Trend.Worsening {
			worsening = append(worsening, strings.ToLower(s.Name))
		}
	}
	if len(worsening) > 0 {
		worse(HealthDegraded)
		reasons = append(reasons, "worsening: "+strings.Join(worsening, ", "))
	}
	for _, m := range r.Models {
		if m.Status == "drifting" {
			worse(HealthDegraded)
			reasons = append(reasons, "detector "+m.Detector+" drifts")
		}
	}
	if len(r.Operations) > 0 && r.Operations[0].Name == "service" && r.Operations[0].ErrorRate >= errorRateHigh {
		worse(HealthDegraded)
		reasons = append(reasons, fmt.Sprintf("the service's error rate is %.1f %%", 100*r.Operations[0].ErrorRate))
	}
	if reasons == nil {
		reasons = []string{"no active alerts, worsening trends or drifting models"}
	}
	return status, reasons
}
