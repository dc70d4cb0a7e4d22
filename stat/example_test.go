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

func ExampleKS2() {
	// A detector's scores on last week's rows and on today's: has their distribution moved?
	lastWeek := []float64{0.12, 0.31, 0.22, 0.45, 0.18, 0.27, 0.39, 0.15, 0.24, 0.33}
	today := []float64{0.41, 0.52, 0.38, 0.61, 0.47, 0.55, 0.36, 0.49}
	d, p := stat.KS2(lastWeek, today)
	fmt.Printf("D = %.3f, p = %.5f: drifted at 99 %%: %v\n", d, p, p < 0.01)
	// Output: D = 0.800, p = 0.00242: drifted at 99 %: true
}

func ExamplePSI() {
	// Scores at training time and in production, over 4 bins of equal training frequency.
	train := []float64{0.1, 0.2, 0.2, 0.3, 0.3, 0.4, 0.5, 0.5, 0.6, 0.7, 0.8, 0.9}
	prod := []float64{0.3, 0.4, 0.5, 0.5, 0.6, 0.6, 0.7, 0.8, 0.8, 0.9, 0.9, 1.2}
	// No production score fell in the first bin: its share counts as stat.PSIEpsilon.
	fmt.Printf("PSI %.3f: major shift (> 0.25): %v\n", stat.PSI(train, prod, 4), stat.PSI(train, prod, 4) > 0.25)
	// Output: PSI 2.186: major shift (> 0.25): true
}

func ExamplePSIFromCounts() {
	// Keep only the training summary with the model: the bin edges and the counts in each bin.
	train := []float64{0.1, 0.2, 0.2, 0.3, 0.3, 0.4, 0.5, 0.5, 0.6, 0.7, 0.8, 0.9}
	edges := stat.QuantileEdges(nil, train, 4)
	trainCounts := stat.BinCounts(nil, edges, train)

	// Later, count a window of production scores into the same bins, reusing the buffer.
	counts := make([]float64, len(trainCounts))
	prod := []float64{0.3, 0.4, 0.5, 0.5, 0.6, 0.6, 0.7, 0.8, 0.8, 0.9, 0.9, 1.2}
	stat.BinCounts(counts, edges, prod)
	fmt.Printf("edges %.3g, counts %v and %v, PSI %.3f\n", edges, trainCounts, counts, stat.PSIFromCounts(trainCounts, counts))
	// Output: edges [0.275 0.45 0.625], counts [3 3 3 3] and [0 2 4 6], PSI 2.186
}

func ExampleBinomialTest() {
	// The model was tuned to flag 1 % of rows; today it flagged 19 of 1200, then 22 of 1200.
	for _, k := range []int{19, 22} {
		p := stat.BinomialTest(k, 1200, 0.01)
		fmt.Printf("%d flagged: p = %.4f, anomaly rate changed at 95 %%: %v\n", k, p, p < 0.05)
	}
	// Output:
	// 19 flagged: p = 0.0565, anomaly rate changed at 95 %: false
	// 22 flagged: p = 0.0080, anomaly rate changed at 95 %: true
}

func ExampleHistogram() {
	// At training time: a histogram of 4 equal-frequency bins is all that is kept.
	train := []float64{0.1, 0.2, 0.2, 0.3, 0.3, 0.4, 0.5, 0.5, 0.6, 0.7, 0.8, 0.9}
	h := stat.NewHistogram(train, 4)

	// In production: count each new value into the same bins, one at a time.
	live := make([]float64, len(h.Counts))
	for _, x := range []float64{0.3, 0.4, 0.5, 0.5, 0.6, 0.6, 0.7, 0.8, 0.8, 0.9, 0.9, 1.2} {
		live[h.Bin(x)]++
	}
	d, p := stat.KSFromCounts(h.Counts, live)
	fmt.Printf("edges %.3g, counts %v and %v\n", h.Edges, h.Counts, live)
	fmt.Printf("PSI %.3f, KS D = %.3f, p = %.3f\n", stat.PSIFromCounts(h.Counts, live), d, p)
	// Output:
	// edges [0.275 0.45 0.625], counts [3 3 3 3] and [0 2 4 6]
	// PSI 2.186, KS D = 0.333, p = 0.425
}
