package monitor

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gonomaly/gonomaly/stat"
)

// ksFromCounts is stat.KSFromCounts, with 0 and 1 for no live values.
func ksFromCounts(train, live []float64) (d, p float64) {
	d, p = stat.KSFromCounts(train, live)
	if math.IsNaN(d) || math.IsNaN(p) {
		return 0, 1
	}
	return d, p
}

// verdict is the drift rule: a distribution has drifted when its PSI is at least PSIWarn
// (medium) or PSIAlert (high) and the PSI or the KS test is significant at alpha/2;
// otherwise info.
func (h *ModelHealth) verdict(psi, psiP, ksP, alpha float64) Severity {
	switch {
	case !(min(psiP, ksP) < alpha/2) || psi < h.opts.PSIWarn:
		return SeverityInfo
	case psi >= h.opts.PSIAlert:
		return SeverityHigh
	}
	return SeverityMedium
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// decilePSI returns the population stability index of live against train over ten groups
// of adjacent bins (the training deciles for equal-frequency bins), the binning the usual 0.1
// and 0.25 bands are read on (over the profile's fine bins PSI would add about (bins - 1) / n
// of noise from n rows: 0.2 for 100 score bins and 500 rows), and its p-value. 0 and 1
// without live values.
func decilePSI(train, live []float64) (psi, p float64) {
	const groups = 10
	var e, a [groups]float64
	b := len(train)
	k := min(groups, b)
	var te, ta float64
	for i := range train {
		g := i * k / b
		e[g] += train[i]
		a[g] += live[i]
		te += train[i]
		ta += live[i]
	}
	psi = stat.PSIFromCounts(e[:k], a[:k])
	if math.IsNaN(psi) {
		return 0, 1
	}
	return psi, stat.PSIPValue(psi, te, ta, k)
}

// rateTest is the two-sided p-value that flagged of rows come from a share expected, the
// threshold being the quantile of trainRows training scores (0: unknown, taken as exact).
// The flagged share then varies as expected (1 - expected) (1/rows + 1/trainRows), so the
// exact binomial test runs at that effective size, n m / (n + m), with the flagged share
// kept. An expected share of 0 or 1 (every training score tied at the threshold) is moved
// half a row inside, so that a single row does not make the test certain.
func rateTest(flagged, rows int64, expected float64, trainRows int) float64 {
	n := float64(rows)
	if trainRows > 0 {
		n = n * float64(trainRows) / (n + float64(trainRows))
		half := 0.5 / float64(trainRows)
		expected = min(max(expected, half), 1-half)
	}
	ne := int(math.Round(n))
	if ne < 1 {
		return 1
	}
	k := int(math.Round(float64(flagged) / float64(rows) * float64(ne)))
	k = min(max(k, 0), ne)
	p := stat.BinomialTest(k, ne, min(max(expected, 0), 1))
	if math.IsNaN(p) {
		return 1
	}
	return p
}

// rateSeverity is high when the rate is off by a factor of two or more, medium otherwise.
func rateSeverity(rate, expected float64) Severity {
	if rate >= 2*expected || rate <= expected/2 {
		return SeverityHigh
	}
	return SeverityMedium
}

// Conditions returns, for every detector with at least MinRows rows (by ID), its three
// conditions for the alert manager, firing or not so that an alert resolves when its cause
// goes away: "anomaly_rate/<id>", and for a model with a Profile "score_drift/<id>" and,
// when it profiles its features, "feature_drift/<id>". Each says what was measured against
// what, and what to do.
func (h *ModelHealth) Conditions(now time.Time) []Condition {
	var out []Condition
	for _, r := range h.Reports() {
		out = append(out, h.healthConditions(now, r)...)
	}
	return out
}

func (h *ModelHealth) healthConditions(now time.Time, r DetectorHealth) []Condition {
	o := h.opts
	if r.Status == HealthUnknown {
		return nil
	}
	labels := func() map[string]string {
		return map[string]string{"detector_id": r.ID, "algorithm": r.Algorithm, "version": strconv.FormatInt(r.Version, 10)}
	}
	who := fmt.Sprintf("detector %s (%s, version %d)", r.ID, r.Algorithm, r.Version)
	over := fmt.Sprintf("Over its last %d rows", r.Rows)
	alpha := healthNum(o.Alpha)

	rate := Condition{Key: "anomaly_rate/" + r.ID, Rule: "anomaly_rate", Metric: "anomaly_rate", Value: r.Rate,
		Threshold: r.Expected, Labels: labels(), Time: now, Severity: SeverityInfo,
		Title: fmt.Sprintf("Detector %s flags %s of rows, as in training (%s)", r.ID, healthPct(r.Rate), healthPct(r.Expected)),
		Description: fmt.Sprintf("%s, %s flagged %d (%s); on its training data it flagged %s. A binomial test gives p = %s for a gap this large by chance (alerting below %s).",
			over, who, r.Flagged, healthPct(r.Rate), healthPct(r.Expected), healthNum(r.RateP), alpha)}
	if r.rateSev > SeverityInfo {
		rate.Firing, rate.Severity = true, r.rateSev
		if r.Rate > r.Expected {
			rate.Title = fmt.Sprintf("Detector %s flags %s of rows, %s expected", r.ID, healthPct(r.Rate), healthPct(r.Expected))
			rate.Actions = []string{
				"look at the rows it flags: a real incident (an attack, an outage, a fraud wave) raises the rate, and that is what the detector is for",
				fmt.Sprintf("if the data itself changed (see score_drift/%s and feature_drift/%s), retrain the detector on recent data", r.ID, r.ID),
				fmt.Sprintf("if %s is the right share for this data, review contamination: set it to %.3g and retrain", healthPct(r.Rate), r.Rate),
			}
		} else {
			rate.Title = fmt.Sprintf("Detector %s flags only %s of rows, %s expected", r.ID, healthPct(r.Rate), healthPct(r.Expected))
			rate.Actions = []string{
				fmt.Sprintf("the data moved away from the training data's tail (see feature_drift/%s): retrain the detector on recent data", r.ID),
				"check the upstream feed: rows clipped, defaulted or deduplicated before scoring flatten the anomalies",
				"review contamination: the threshold is the share of training rows it flags",
			}
		}
	}
	out := []Condition{rate}
	if !r.Profiled {
		return out
	}

	score := Condition{Key: "score_drift/" + r.ID, Rule: "score_drift", Metric: "score_psi", Value: r.ScorePSI,
		Threshold: o.PSIWarn, Labels: labels(), Time: now, Severity: SeverityInfo,
		Title: fmt.Sprintf("Scores of detector %s are stable (PSI %.3f)", r.ID, r.ScorePSI),
		Description: fmt.Sprintf("%s, the scores of %s against its training scores: PSI %.3f over the training deciles (p = %s; %s is a moderate shift, %s a major one), Kolmogorov-Smirnov D = %.3f (p = %s). It alerts from PSI %s when either p-value is below %s.",
			over, who, r.ScorePSI, healthNum(r.ScorePSIP), healthNum(o.PSIWarn), healthNum(o.PSIAlert), r.ScoreKSD, healthNum(r.ScoreKSP), healthNum(o.PSIWarn), healthNum(o.Alpha/2))}
	if r.scoreSev > SeverityInfo {
		score.Firing, score.Severity = true, r.scoreSev
		score.Title = fmt.Sprintf("Scores of detector %s have drifted from training (PSI %.3f)", r.ID, r.ScorePSI)
		score.Actions = []string{
			"retrain the detector on recent data: its threshold and scores were set on data that no longer looks like today's",
			fmt.Sprintf("see feature_drift/%s for the features that moved", r.ID),
			fmt.Sprintf("until then, read its anomaly flags with care (anomaly_rate/%s)", r.ID),
		}
	}
	out = append(out, score)
	if len(r.Features) == 0 {
		return out
	}

	top := r.Features[0]
	var moved []string
	for _, f := range r.Features {
		moved = append(moved, fmt.Sprintf("feature %d (PSI %.3f, p %s; KS D %.3f, p %s)", f.Index, f.PSI, healthNum(f.PSIP), f.KSD, healthNum(f.KSP)))
	}
	feat := Condition{Key: "feature_drift/" + r.ID, Rule: "feature_drift", Metric: "feature_psi", Value: top.PSI,
		Threshold: o.PSIWarn, Labels: labels(), Time: now, Severity: SeverityInfo,
		Title: fmt.Sprintf("Features of detector %s are stable (largest PSI %.3f, feature %d)", r.ID, top.PSI, top.Index),
		Description: fmt.Sprintf("%s, the features of %s against the training data: %d of %d drifted (PSI from %s, with its p-value or the KS test's below %s, the level shared among the features). Those that moved most: %s.",
			over, who, r.DriftedFeatures, r.featureCount, healthNum(o.PSIWarn), healthNum(o.Alpha/2/float64(max(r.featureCount, 1))), strings.Join(moved, "; "))}
	if r.featureSev > SeverityInfo {
		feat.Firing, feat.Severity = true, r.featureSev
		var drifted []string
		for _, f := range r.Features {
			if f.Drifted {
				drifted = append(drifted, strconv.Itoa(f.Index))
			}
		}
		feat.Title = fmt.Sprintf("Feature %d of detector %s has drifted (PSI %.3f)", top.Index, r.ID, top.PSI)
		if r.DriftedFeatures > 1 {
			feat.Title = fmt.Sprintf("%d features of detector %s have drifted, feature %d most (PSI %.3f)", r.DriftedFeatures, r.ID, top.Index, top.PSI)
		}
		feat.Actions = []string{
			fmt.Sprintf("check the upstream feed for %s: a changed unit or scale, a new source, a broken sensor, or a default filling gaps", healthFeatures(drifted)),
			"if the change is real and lasting, retrain the detector on recent data",
			fmt.Sprintf("until then, expect its scores to move too (score_drift/%s)", r.ID),
		}
	}
	return append(out, feat)
}

// healthFeatures names features by index: "feature 3", "features 3 and 1", "features 3, 1 and 4".
func healthFeatures(idx []string) string {
	if len(idx) == 1 {
		return "feature " + idx[0]
	}
	return "features " + strings.Join(idx[:len(idx)-1], ", ") + " and " + idx[len(idx)-1]
}

// healthPct writes a share as a percentage: 4.2 %.
func healthPct(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + " %" }

// healthNum writes a p-value or a level in a few digits: 0.001, 3.2e-09.
func healthNum(x float64) string { return strconv.FormatFloat(x, 'g', 2, 64) }
