package detector_test

import (
	"context"
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
