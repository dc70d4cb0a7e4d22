package detector_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
)

func Example() {
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 1000, Cols: 4, Contamination: 0.02, Seed: 1})
	m, err := detector.NewModel("isolation_forest", map[string]any{"n_estimators": "200", "seed": "7"}, 0.02)
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := m.Fit(context.Background(), X); err != nil {
		fmt.Println(err)
		return
	}
	far, _ := dataset.FromRows([][]float64{{50, 50, 50, 50}})
	s, _ := m.Score(context.Background(), far, nil)
	fmt.Println("far-away row is an anomaly:", m.IsAnomaly(s[0]))

	_, err = detector.NewModel("isolation_forest", map[string]any{"trees": "5"}, 0.1)
	fmt.Println(err)
	// Output:
	// far-away row is an anomaly: true
	// detector: isolation_forest has no parameter "trees": bad parameter (valid: n_estimators, max_samples, max_features, bootstrap, seed)
}

// A fit's memory and time are estimated before it runs; CheckBudget refuses one that would not
// fit, naming the parameters that drive its cost.
func Example_checkBudget() {
	budget := detector.Budget{Bytes: 6 << 30}
	m, _ := detector.NewModel("isolation_forest", map[string]any{"n_estimators": 100000, "max_samples": 65536}, 0.1)
	err := m.CheckBudget(65536, 10, budget)
	fmt.Println(err)
	fmt.Println(errors.Is(err, detector.ErrOverBudget), errors.Is(err, detector.ErrBadParameter))

	// The default forest on the same data needs a few MiB (how many depends on the cores).
	m, _ = detector.NewModel("isolation_forest", nil, 0.1)
	fmt.Println(m.CheckBudget(65536, 10, budget), m.Estimate(65536, 10).Bytes < 8<<20)
	// Output:
	// detector: isolation_forest with n_estimators=100000, max_samples=65536 on 65536 x 10 would need about 97.7 GiB of memory, over the budget of 6 GiB: lower n_estimators or max_samples (over the resource budget; bad parameter)
	// true true
	// <nil> true
}
