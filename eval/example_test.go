package eval_test

import (
	"fmt"

	"github.com/gonomaly/gonomaly/eval"
)

func ExampleEvaluate() {
	labels := []int{0, 0, 1, 0, 1}
	scores := []float64{0.1, 0.3, 0.9, 0.2, 0.4}
	m, _ := eval.Evaluate(labels, scores)
	fmt.Printf("ROC-AUC %.3f, AP %.3f, P@n %.3f\n", m.ROCAUC, m.AveragePrecision, m.PrecisionAtN)
	// Output: ROC-AUC 1.000, AP 1.000, P@n 1.000
}
