package monitor

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func series(n int, f func(i int, r *rand.Rand) float64) ([]time.Time, []float64) {
	r := rand.New(rand.NewPCG(7, 11))
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ts := make([]time.Time, n)
	xs := make([]float64, n)
	for i := range n {
		ts[i] = t0.Add(time.Duration(i) * time.Minute)
		xs[i] = f(i, r)
	}
	return ts, xs
}

func TestAnalyzeTrend(t *testing.T) {
	tests := []struct {
		name           string
		f              func(i int, r *rand.Rand) float64
		higherIsBetter bool
		direction      string
		worsening      bool
		change         bool
		says           string
	}{
		{"noise", func(_ int, r *rand.Rand) float64 { return 10 + r.NormFloat64() }, false, "none", false, false, "stable"},
		// 0.05 sd a minute is 3 units an hour.
		{"rising latency", func(i int, r *rand.Rand) float64 { return 10 + 0.05*float64(i) + r.NormFloat64() }, false, "increasing", true, true, "increasing by"},
		{"falling latency", func(i int, r *rand.Rand) float64 { return 10 - 0.05*float64(i) + r.NormFloat64() }, false, "decreasing", false, true, "improving"},
		{"falling throughput", func(i int, r *rand.Rand) float64 { return 100 - 0.05*float64(i) + r.NormFloat64() }, true, "decreasing", true, true, "decreasing by"},
		{"step up", func(i int, r *rand.Rand) float64 {
			if i >= 70 {
				return 13 + r.NormFloat64()
			}
			return 10 + r.NormFloat64()
		}, false, "increasing", true, true, "shifted from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, xs := series(120, tt.f)
			r := AnalyzeTrend("latency", ts, xs, TrendOptions{HigherIsBetter: tt.higherIsBetter, Unit: "ms"})
			if r.Direction != tt.direction || r.Worsening != tt.worsening || (r.Change != nil) != tt.change {
				t.Fatalf("got direction %s worsening %v change %+v (p=%.3g), want %s %v %v", r.Direction, r.Worsening, r.Change, r.P, tt.direction, tt.worsening, tt.change)
			}
			if !strings.Contains(r.Recommendation, tt.says) {
				t.Errorf("recommendation %q does not say %q", r.Recommendation, tt.says)
			}
		})
	}
}

func TestAnalyzeTrendSlopeAndShift(t *testing.T) {
	ts, xs := series(120, func(i int, _ *rand.Rand) float64 { return 2 * float64(i) }) // 2 a minute
	r := AnalyzeTrend("m", ts, xs, TrendOptions{})
	if math.Abs(r.SlopePerHour-120) > 1e-9 || r.Strength != 1 {
		t.Errorf("slope %v per hour, strength %v; want 120 and 1", r.SlopePerHour, r.Strength)
	}
	ts, xs = series(100, func(i int, r *rand.Rand) float64 {
		if i >= 60 {
			return 20 + r.NormFloat64()
		}
		return 10 + r.NormFloat64()
	})
	r = AnalyzeTrend("m", ts, xs, TrendOptions{})
	if r.Change == nil || r.Change.Time.Sub(ts[60]).Abs() > 2*time.Minute {
		t.Fatalf("change %+v, want near %v", r.Change, ts[60])
	}
	if math.Abs(r.Change.Before-10) > 0.5 || math.Abs(r.Change.After-20) > 0.5 {
		t.Errorf("medians %v -> %v, want about 10 -> 20", r.Change.Before, r.Change.After)
	}
}

func TestAnalyzeTrendEdges(t *testing.T) {
	ts, xs := series(5, func(i int, _ *rand.Rand) float64 { return float64(i) })
	if r := AnalyzeTrend("m", ts, xs, TrendOptions{}); r.Direction != "none" || !strings.Contains(r.Recommendation, "too few") {
		t.Errorf("5 points: %+v", r)
	}
	ts, xs = series(20, func(i int, _ *rand.Rand) float64 { return math.NaN() })
	if r := AnalyzeTrend("m", ts, xs, TrendOptions{}); r.Points != 0 || r.Direction != "none" {
		t.Errorf("all NaN: %+v", r)
	}
	ts, xs = series(10000, func(i int, r *rand.Rand) float64 { return float64(i) + r.NormFloat64() })
	if r := AnalyzeTrend("m", ts, xs, TrendOptions{}); r.Points != 500 || r.Direction != "increasing" {
		t.Errorf("long series: %d points, %s", r.Points, r.Direction)
	}
	ts, xs = series(30, func(int, *rand.Rand) float64 { return 5 })
	if r := AnalyzeTrend("m", ts, xs, TrendOptions{}); r.Direction != "none" || r.Change != nil || r.Worsening {
		t.Errorf("constant: %+v", r)
	}
}

func BenchmarkAnalyzeTrend(b *testing.B) {
	ts, xs := series(3600, func(i int, r *rand.Rand) float64 { return r.NormFloat64() })
	b.ReportAllocs()
	for b.Loop() {
		AnalyzeTrend("m", ts, xs, TrendOptions{})
	}
}
