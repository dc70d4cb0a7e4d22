package stat_test

import (
	"fmt"

	"github.com/gonomaly/gonomaly/stat"
)

func ExampleQuantile() {
	latencies := []float64{12, 15, 11, 90, 14, 13, 16, 12, 15, 14} // milliseconds
	fmt.Printf("median %.1f ms, p90 %.1f ms, max %.1f ms\n",
		stat.Median(latencies), stat.Quantile(latencies, 0.9), stat.Quantile(latencies, 1))
	// Output: median 14.0 ms, p90 23.4 ms, max 90.0 ms
}

func ExampleRanks() {
	xs := []float64{3, 1, 4, 1, 5}
	dst := make([]float64, len(xs)) // the caller owns the result; nil would allocate it
	fmt.Println(stat.Ranks(dst, xs))
	// Output: [3 1.5 4 1.5 5]
}

func ExampleSpearman() {
	// Two detectors' scores of the same rows: not linearly related, but in the same order.
	a := []float64{0.1, 0.2, 0.3, 0.4, 0.9}
	b := []float64{1, 4, 9, 16, 81}
	fmt.Printf("Pearson %.3f, Spearman %.3f\n", stat.Pearson(a, b), stat.Spearman(a, b))
	// Output: Pearson 0.980, Spearman 1.000
}

func ExampleLinearFit() {
	// Fit seconds against rows on a log-log scale: the slope is the growth exponent.
	logRows := []float64{6.908, 7.601, 8.294, 8.987} // log of 1000, 2000, 4000, 8000
	logTime := []float64{-4.605, -3.219, -1.833, -0.446}
	slope, intercept, r2 := stat.LinearFit(logRows, logTime)
	fmt.Printf("slope %.2f, intercept %.2f, R² %.4f\n", slope, intercept, r2)
	// Output: slope 2.00, intercept -18.42, R² 1.0000
}

func ExampleMannWhitneyU() {
	before := []float64{1.10, 1.20, 1.30, 1.25}      // seconds per run
	after := []float64{1.40, 1.50, 1.45, 1.60, 1.35} // the same benchmark after a change
	u, p := stat.MannWhitneyU(before, after)
	fmt.Printf("U = %.0f, p = %.4f: significant at 95 %%: %v\n", u, p, p < 0.05)
	// Output: U = 0, p = 0.0159: significant at 95 %: true
}
