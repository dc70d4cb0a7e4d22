package monitor_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/monitor"
)

// A served detector's health: quiet on data like its training data, then feature 2's feed
// changes (a shift of one standard deviation) and the monitor says which feature moved.
func ExampleModelHealth() {
	rng := rand.New(rand.NewPCG(1, 2))
	rows := func(n int, shift2 float64) *dataset.Matrix {
		X := dataset.NewMatrix(n, 4)
		for i := range X.Data {
			X.Data[i] = rng.NormFloat64()
		}
		for i := range n {
			X.Set(i, 2, X.At(i, 2)+shift2)
		}
		return X
	}
	ctx := context.Background()
	m, _ := detector.NewModel("hbos", nil, 0.05)
	if _, err := m.Fit(ctx, rows(5000, 0)); err != nil {
		fmt.Println(err)
		return
	}
	h := monitor.NewModelHealth(monitor.HealthOptions{Window: 1000})
	serve := func(X *dataset.Matrix) {
		scores, _ := m.Score(ctx, X, nil) // the predict handler's scores
		if err := h.Observe("payments", 1, m, X, scores); err != nil {
			fmt.Println(err)
		}
	}

	serve(rows(2000, 0))
	r, _ := h.Report("payments")
	fmt.Printf("fresh data: %s, %.1f %% flagged\n", r.Status, 100*r.Rate)

	serve(rows(2000, 1))
	r, _ = h.Report("payments")
	fmt.Printf("feature 2 shifted: %s, feature %d first (PSI %.2f)\n", r.Status, r.Features[0].Index, r.Features[0].PSI)
	for _, c := range h.Conditions(time.Now()) {
		if c.Firing {
			fmt.Printf("%s %s: %s\n  %s\n", c.Severity, c.Key, c.Title, c.Actions[0])
		}
	}
	// Output:
	// fresh data: ok, 6.0 % flagged
	// feature 2 shifted: drift, feature 2 first (PSI 0.93)
	// medium anomaly_rate/payments: Detector payments flags 9.0 % of rows, 5.0 % expected
	//   look at the rows it flags: a real incident (an attack, an outage, a fraud wave) raises the rate, and that is what the detector is for
	// high feature_drift/payments: Feature 2 of detector payments has drifted (PSI 0.931)
	//   check the upstream feed for feature 2: a changed unit or scale, a new source, a broken sensor, or a default filling gaps
}
