package bench

import (
	"fmt"
	"math"

	"github.com/gonomaly/gonomaly/stat"
)

// Growth patterns FitComplexity chooses among, simplest first.
var patterns = []struct {
	name string
	f    func(n float64) float64
}{
	{"O(1)", func(float64) float64 { return 0 }},
	{"O(log n)", math.Log},
	{"O(n)", func(n float64) float64 { return n }},
	{"O(n log n)", func(n float64) float64 { return n * math.Log(n) }},
	{"O(n^2)", func(n float64) float64 { return n * n }},
	{"O(n^3)", func(n float64) float64 { return n * n * n }},
}

// PatternFit is one growth pattern fitted to timings: t = A + B f(n).
type PatternFit struct {
	Pattern string  `json:"pattern"`
	A       float64 `json:"a"`
	B       float64 `json:"b"`
	// RelRMS is the root mean square of the relative residuals (t - fit) / t.
	RelRMS float64 `json:"rel_rms"`
}

// Complexity is how a cost grows with the input size.
type Complexity struct {
	Best     PatternFit   `json:"best"`
	Patterns []PatternFit `json:"patterns"`
	// Exponent is the slope of log t against log n, with R2 its coefficient of determination.
	Exponent float64 `json:"exponent"`
	R2       float64 `json:"r2"`
	Grade    string  `json:"grade"`
	// Predicted10x is the best pattern's prediction at ten times the largest size.
	Predicted10x float64 `json:"predicted_10x"`
}

// Grade maps a log-log exponent to a letter: A up to 1.15 (linear or better), B up to 1.35
// (n log n and slightly worse), C up to 1.6, D up to 2.1 (quadratic), E up to 2.6, F above.
func Grade(exponent float64) string {
	for _, g := range []struct {
		max   float64
		grade string
	}{{1.15, "A"}, {1.35, "B"}, {1.6, "C"}, {2.1, "D"}, {2.6, "E"}} {
		if exponent <= g.max {
			return g.grade
		}
	}
	return "F"
}

// simplerTolerance is how much worse (relatively) than the best fit a simpler pattern may fit
// and still be chosen. On a shared machine, cache effects and drifting load bend a linear cost
// by several per cent across two decades of sizes, enough for n log n to fit a little better;
// the simpler pattern is the claim such data supports. Real n log n growth is not lost: on
// TestFitComplexityKnownGrowth's sizes with uniform noise of +-3 % (+-10 %) n fits 10 (3) times
// worse than n log n on average, and the rule names n log n 200 times in 200 seeds either way,
// and n 200 (197) times in 200.
const simplerTolerance = 0.15

// goodFit is a relative RMS within which any pattern counts as fitting: measured times and
// sampled memory peaks on a computer scatter by more than 3 % from run to run, so no pattern
// can fit better than that by more than chance.
const goodFit = 0.03

// FitComplexity fits timings (seconds, all positive) measured at sizes (at least three
// distinct, all above 1) to each growth pattern by least squares on relative residuals, so
// small and large sizes weigh alike, and picks the simplest pattern whose relative RMS is
// within 15 % (plus 0.001) of the best one's, or under 3 %.
func FitComplexity(sizes []int, times []float64) (Complexity, error) {
	if len(sizes) != len(times) || len(sizes) < 3 {
		return Complexity{}, fmt.Errorf("bench: complexity: need at least 3 sizes with one time each, have %d and %d", len(sizes), len(times))
	}
	for i := range sizes {
		if sizes[i] <= 1 || !(times[i] > 0) || math.IsInf(times[i], 0) {
			return Complexity{}, fmt.Errorf("bench: complexity: size %d with time %v: sizes must exceed 1 and times be positive", sizes[i], times[i])
		}
	}
	var c Complexity
	var lx, ly []float64
	for i := range sizes {
		lx = append(lx, math.Log(float64(sizes[i])))
		ly = append(ly, math.Log(times[i]))
	}
	slope, _, r2 := stat.LinearFit(lx, ly)
	c.Exponent, c.R2, c.Grade = slope, r2, Grade(slope)

	minRMS := math.Inf(1)
	for _, p := range patterns {
		fit, ok := weightedFit(sizes, times, p.f)
		if !ok {
			continue
		}
		fit.Pattern = p.name
		c.Patterns = append(c.Patterns, fit)
		minRMS = math.Min(minRMS, fit.RelRMS)
	}
	for _, fit := range c.Patterns {
		if fit.RelRMS <= max(minRMS*(1+simplerTolerance)+1e-3, goodFit) {
			c.Best = fit
			break
		}
	}
	nmax := 0
	for _, n := range sizes {
		nmax = max(nmax, n)
	}
	for _, p := range patterns {
		if p.name == c.Best.Pattern {
			c.Predicted10x = c.Best.A + c.Best.B*p.f(10*float64(nmax))
		}
	}
	return c, nil
}

// weightedFit solves min sum ((t - A - B f(n)) / t)^2 with A >= 0 (a negative constant would
// let a slower-growing pattern bend to fit a faster growth over a narrow range of sizes); it
// reports false when the best B is negative (the pattern cannot describe a cost that grows).
func weightedFit(sizes []int, times []float64, f func(float64) float64) (PatternFit, bool) {
	var sw, swf, swff, swt, swft float64
	for i, n := range sizes {
		w := 1 / (times[i] * times[i])
		x := f(float64(n))
		sw += w
		swf += w * x
		swff += w * x * x
		swt += w * times[i]
		swft += w * x * times[i]
	}
	var a, b float64
	if det := sw*swff - swf*swf; swff == 0 || math.Abs(det) < 1e-300 {
		a = swt / sw
	} else {
		a = (swff*swt - swf*swft) / det
		b = (sw*swft - swf*swt) / det
	}
	if a < 0 && swff > 0 {
		// A cost has no negative constant part: the best fit with A = 0 instead.
		a, b = 0, swft/swff
	}
	if b < 0 {
		return PatternFit{}, false
	}
	var rss float64
	for i, n := range sizes {
		r := (times[i] - a - b*f(float64(n))) / times[i]
		rss += r * r
	}
	return PatternFit{A: a, B: b, RelRMS: math.Sqrt(rss / float64(len(sizes)))}, true
}
