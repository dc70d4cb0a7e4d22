package bench_test

import (
	"fmt"

	"github.com/gonomaly/gonomaly/bench"
)

func ExampleMannWhitneyU() {
	before := []float64{1.10, 1.20, 1.30, 1.25}      // seconds per run
	after := []float64{1.40, 1.50, 1.45, 1.60, 1.35} // the same benchmark after a change
	r, _ := bench.MannWhitneyU(before, after)
	fmt.Printf("U = %.0f, p = %.4f: significant at 95 %%: %v\n", r.U, r.P, r.P < 0.05)
	// Output: U = 0, p = 0.0159: significant at 95 %: true
}

func ExampleFitComplexity() {
	sizes := []int{1000, 2000, 4000, 8000, 16000}
	times := []float64{0.010, 0.040, 0.160, 0.640, 2.560} // seconds: quadrupling per doubling
	c, _ := bench.FitComplexity(sizes, times)
	fmt.Printf("%s, exponent %.2f, grade %s, %.0f s predicted at 160000 rows\n", c.Best.Pattern, c.Exponent, c.Grade, c.Predicted10x)
	// Output: O(n^2), exponent 2.00, grade D, 256 s predicted at 160000 rows
}
