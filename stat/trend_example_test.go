package stat_test

import (
	"fmt"

	"github.com/gonomaly/gonomaly/stat"
)

// A latency series that creeps up: Mann-Kendall says whether the rise is real, Theil-Sen how
// fast it goes, Pettitt where the level moved.
func ExampleMannKendall() {
	p99 := []float64{9.1, 9.4, 9.0, 9.6, 9.8, 9.5, 10.2, 10.4, 10.1, 10.9, 11.3, 11.0}
	tr := stat.MannKendall(p99)
	slope, _ := stat.TheilSen(nil, p99)
	cp := stat.Pettitt(p99)
	fmt.Printf("trend: tau %.2f, p %.4f\n", tr.Tau, tr.P)
	fmt.Printf("slope: %.3f ms per sample\n", slope)
	fmt.Printf("level moved before sample %d (p %.2f)\n", cp.At, cp.P)
	// Output:
	// trend: tau 0.79, p 0.0005
	// slope: 0.200 ms per sample
	// level moved before sample 6 (p 0.03)
}
