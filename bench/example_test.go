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

func ExampleGeometricSizes() {
	// The sizes a scalability analysis measures: 1000 to 100000 rows in 10 steps.
	fmt.Println(bench.GeometricSizes(1000, 100000, 10))
	// Output: [1000 1668 2783 4642 7743 12915 21544 35938 59948 100000]
}

func ExamplePredictPeak() {
	// Two steps of a memory test: 40 MiB then 70 MiB resident, from a child that starts at
	// 10 MiB. The growth above that floor doubled with the rows (exponent 1), so a step of
	// 4000 rows is predicted at 10 + 60 x 2 MiB.
	const mib = 1 << 20
	steps := []bench.MemoryStep{{Rows: 1000, PeakRSS: 40 * mib}, {Rows: 2000, PeakRSS: 70 * mib}}
	fmt.Printf("%d MiB\n", bench.PredictPeak(steps, 10*mib, 4000)/mib)
	fmt.Printf("kill line for a 2 GiB budget: %d MiB\n", bench.KillLine(2048*mib)/mib)
	// Output:
	// 130 MiB
	// kill line for a 2 GiB budget: 1945 MiB
}

func ExampleSuite() {
	c, _ := bench.Suite("quick")
	c.Algorithms = []bench.Algorithm{{Name: "knn", Params: map[string]any{"n_neighbors": 10}}}
	c.Sizes = []int{1000, 10000}
	fmt.Println(c.Validate() == nil, c.Dims, c.Iterations, c.Warmup)
	c.Contamination = []float64{0.9}
	fmt.Println(c.Validate())
	// Output:
	// true [10] 3 1
	// bench: contamination rate 0.9: must be in (0, 0.5]: bad benchmark configuration
}
