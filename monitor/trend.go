package monitor

import (
	"fmt"
	"math"
	"time"

	"github.com/gonomaly/gonomaly/stat"
)

// TrendOptions tune AnalyzeTrend. The zero value gives the defaults.
type TrendOptions struct {
	// Alpha is the significance level of the trend and change-point tests (default 0.05).
	Alpha float64
	// HigherIsBetter says which way is good for the metric (throughput, cache hit ratio); by
	// default higher is worse (latency, memory, error rate), which decides the recommendation.
	HigherIsBetter bool
	// MaxPoints bounds the series the tests see (default 500): a longer one is averaged in
	// equal buckets first, since both tests compare every pair of points (O(n^2)).
	MaxPoints int
	// Unit names the values' unit in the recommendation ("ms", "MB", ...); may be empty.
	Unit string
}

// TrendReport is what AnalyzeTrend finds in one series.
type TrendReport struct {
	Metric string `json:"metric"`
	Points int    `json:"points"` // values analysed (after bucketing)
	// Direction is "increasing", "decreasing" or "none" (no significant monotonic trend).
	Direction string `json:"direction"`
	// Strength is |Kendall's tau| of the series against time, in [0, 1].
	Strength float64 `json:"strength"`
	P        float64 `json:"p_value"` // Mann-Kendall's two-sided p-value
	// Significant reports P < Alpha.
	Significant bool `json:"significant"`
	// SlopePerHour is the Theil-Sen slope, in the values' unit per hour (a robust rate of
	// change: the median of the slopes between every pair of points).
	SlopePerHour float64 `json:"slope_per_hour"`
	// Change is the level shift Pettitt's test finds, when significant.
	Change *LevelShift `json:"change_point,omitempty"`
	// Worsening reports a significant trend or shift in the bad direction.
	Worsening      bool   `json:"worsening"`
	Recommendation string `json:"recommendation"`
}

// LevelShift is a significant change point: where the series' level moved, and by how much.
type LevelShift struct {
	Time   time.Time `json:"time"`
	P      float64   `json:"p_value"`
	Before float64   `json:"median_before"`
	After  float64   `json:"median_after"`
	// Steady reports that neither side of the change trends on its own: a step, not the
	// middle of a steady trend (where Pettitt's test also finds a point).
	Steady bool `json:"step"`
}

// trends reports a significant monotonic trend in xs.
func trends(xs []float64, alpha float64) bool {
	return len(xs) >= 8 && stat.MannKendall(xs).P < alpha
}

// AnalyzeTrend tests a series for a monotonic trend (Mann-Kendall, with a Theil-Sen slope) and
// for a single level shift (Pettitt), and says what it means for the metric. times and values
// pair up and must be in time order; NaN values are left out. Fewer than 8 values give
// Direction "none" with a recommendation to collect more.
func AnalyzeTrend(metric string, times []time.Time, values []float64, opts TrendOptions) TrendReport {
	if len(times) != len(values) {
		panic("monitor: AnalyzeTrend: times and values differ in length")
	}
	if opts.Alpha <= 0 || opts.Alpha >= 1 {
		opts.Alpha = 0.05
	}
	if opts.MaxPoints < 8 {
		opts.MaxPoints = 500
	}
	ts, xs := finitePoints(times, values)
	ts, xs = bucket(ts, xs, opts.MaxPoints)
	// Figures that cannot be computed read as no evidence (P 1, slope 0), never NaN: a
	// report goes out as JSON.
	r := TrendReport{Metric: metric, Points: len(xs), Direction: "none", P: 1}
	if len(xs) < 8 {
		r.Recommendation = fmt.Sprintf("%d points are too few to judge a trend; collect at least 8", len(xs))
		return r
	}
	t0 := ts[0]
	hours := make([]float64, len(ts))
	for i, t := range ts {
		hours[i] = t.Sub(t0).Hours()
	}
	mk := stat.MannKendall(xs)
	if !math.IsNaN(mk.P) {
		r.P, r.Strength = mk.P, math.Abs(mk.Tau)
	}
	r.Significant = mk.P < opts.Alpha
	if slope, _ := stat.TheilSen(hours, xs); !math.IsNaN(slope) && !math.IsInf(slope, 0) {
		r.SlopePerHour = slope
	}
	if r.Significant {
		if mk.S > 0 {
			r.Direction = "increasing"
		} else if mk.S < 0 {
			r.Direction = "decreasing"
		}
	}
	if cp := stat.Pettitt(xs); cp.P < opts.Alpha && cp.At > 0 && cp.At < len(xs) {
		r.Change = &LevelShift{Time: ts[cp.At], P: cp.P, Before: stat.Median(xs[:cp.At]), After: stat.Median(xs[cp.At:])}
		// Pettitt also peaks in the middle of a steady trend; it is a shift only when neither
		// side still trends on its own.
		r.Change.Steady = !trends(xs[:cp.At], opts.Alpha) && !trends(xs[cp.At:], opts.Alpha)
	}
	bad := func(up bool) bool { return up != opts.HigherIsBetter }
	r.Worsening = r.Direction != "none" && bad(r.Direction == "increasing") ||
		r.Change != nil && bad(r.Change.After > r.Change.Before)
	r.Recommendation = recommend(r, opts)
	return r
}

func recommend(r TrendReport, opts TrendOptions) string {
	unit := ""
	if opts.Unit != "" {
		unit = " " + opts.Unit
	}
	switch {
	case r.Change != nil && r.Change.Steady && r.Worsening:
		return fmt.Sprintf("%s shifted from %.4g%s to %.4g%s at %s: look at what changed then (a deploy, a retrained model, more traffic, a new data feed)",
			r.Metric, r.Change.Before, unit, r.Change.After, unit, r.Change.Time.UTC().Format(time.RFC3339))
	case r.Worsening:
		return fmt.Sprintf("%s is %s by %.4g%s an hour (p=%.2g): find the cause before it crosses its threshold; compare with traffic and memory over the same span",
			r.Metric, r.Direction, math.Abs(r.SlopePerHour), unit, r.P)
	case r.Direction != "none" || r.Change != nil:
		return fmt.Sprintf("%s is improving (%s); nothing to do", r.Metric, r.Direction)
	default:
		return fmt.Sprintf("%s is stable: no significant trend (p=%.2g)", r.Metric, r.P)
	}
}

// finitePoints drops the NaN and infinite values (and their times).
func finitePoints(times []time.Time, values []float64) ([]time.Time, []float64) {
	ts := make([]time.Time, 0, len(times))
	xs := make([]float64, 0, len(values))
	for i, v := range values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			ts, xs = append(ts, times[i]), append(xs, v)
		}
	}
	return ts, xs
}

// bucket averages a series longer than maxPoints into maxPoints equal runs of consecutive
// points (each at the time of its first point).
func bucket(ts []time.Time, xs []float64, maxPoints int) ([]time.Time, []float64) {
	n := len(xs)
	if n <= maxPoints {
		return ts, xs
	}
	bt := make([]time.Time, maxPoints)
	bx := make([]float64, maxPoints)
	for b := range maxPoints {
		lo, hi := b*n/maxPoints, (b+1)*n/maxPoints
		var s float64
		for _, x := range xs[lo:hi] {
			s += x
		}
		bt[b], bx[b] = ts[lo], s/float64(hi-lo)
	}
	return bt, bx
}
