package monitor_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector"
	"github.com/gonomaly/gonomaly/monitor"
)

// healthRows returns rows x cols of N(0, 1) values of which a share anomalous are planted
// anomalies (a random direction at a distance of 6 to 8), with shift added to every row.
func healthRows(rng *rand.Rand, rows, cols int, anomalous float64, shift []float64) *dataset.Matrix {
	X := dataset.NewMatrix(rows, cols)
	for i := 0; i < rows; i++ {
		row := X.Row(i)
		var norm float64
		for j := range row {
			row[j] = rng.NormFloat64()
			norm += row[j] * row[j]
		}
		if rng.Float64() < anomalous {
			r := (6 + 2*rng.Float64()) / math.Sqrt(norm)
			for j := range row {
				row[j] *= r
			}
		}
		for j := range shift {
			row[j] += shift[j]
		}
	}
	return X
}

// healthModel fits algorithm on X.
func healthModel(t testing.TB, algorithm string, params map[string]any, contamination float64, X *dataset.Matrix) *detector.Model {
	t.Helper()
	m, err := detector.NewModel(algorithm, params, contamination)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Fit(context.Background(), X); err != nil {
		t.Fatal(err)
	}
	return m
}

// healthServe scores X with m in batches of batch rows and observes them.
func healthServe(t testing.TB, h *monitor.ModelHealth, id string, version int64, m *detector.Model, X *dataset.Matrix, batch int) {
	t.Helper()
	for lo := 0; lo < X.Rows; lo += batch {
		part := X.Slice(lo, min(lo+batch, X.Rows))
		s, err := m.Score(context.Background(), part, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Observe(id, version, m, part, s); err != nil {
			t.Fatal(err)
		}
	}
}

// healthFiring returns the firing conditions by rule.
func healthFiring(cs []monitor.Condition) map[string]monitor.Condition {
	out := map[string]monitor.Condition{}
	for _, c := range cs {
		if c.Firing {
			out[c.Rule] = c
		}
	}
	return out
}

// TestModelHealthQuiet is the false-alarm rate: a model fitted on N(0, 1)^4 data with 5 %
// planted anomalies, served fresh data from the same distribution, raises no condition. Each
// seed is looked at twice, after 600 and after 3000 rows; the seeds take hbos, ecod and a
// small isolation_forest in turn. Measured: no firing in 200 seeds.
func TestModelHealthQuiet(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 40
	}
	models := []struct {
		algorithm string
		params    map[string]any
	}{{"hbos", nil}, {"ecod", nil}, {"isolation_forest", map[string]any{"n_estimators": 20}}}
	fired := 0
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(uint64(seed), 1))
		alg := models[seed%len(models)]
		m := healthModel(t, alg.algorithm, alg.params, 0.05, healthRows(rng, 2000, 4, 0.05, nil))
		h := monitor.NewModelHealth(monitor.HealthOptions{})
		firing := map[string]monitor.Condition{}
		for _, rows := range []int{600, 2400} {
			healthServe(t, h, "d", 1, m, healthRows(rng, rows, 4, 0.05, nil), 200)
			cs := h.Conditions(time.Now())
			if len(cs) != 3 {
				t.Fatalf("seed %d: %d conditions, want anomaly_rate, score_drift and feature_drift", seed, len(cs))
			}
			maps.Copy(firing, healthFiring(cs))
		}
		if len(firing) > 0 {
			fired++
			for _, c := range firing {
				t.Logf("seed %d, %s: %s: %s", seed, alg.algorithm, c.Title, c.Description)
			}
		}
	}
	t.Logf("%d of %d seeds raised a condition on fresh data", fired, seeds)
	if fired > seeds/100 {
		t.Errorf("%d of %d seeds raised a condition on fresh data, want at most 1 %%", fired, seeds)
	}
}

// TestModelHealthFeatureShift: a mean shift of 0.5 sd in one feature fires feature_drift,
// which names that feature first, in 20 seeds of 20.
func TestModelHealthFeatureShift(t *testing.T) {
	for seed := range 20 {
		rng := rand.New(rand.NewPCG(uint64(seed), 2))
		m := healthModel(t, "hbos", nil, 0.05, healthRows(rng, 2000, 6, 0.05, nil))
		h := monitor.NewModelHealth(monitor.HealthOptions{})
		healthServe(t, h, "d", 1, m, healthRows(rng, 1000, 6, 0.05, []float64{0, 0, 0, 0.5}), 100)
		r, _ := h.Report("d")
		c, ok := healthFiring(h.Conditions(time.Now()))["feature_drift"]
		if !ok || r.Features[0].Index != 3 || !r.Features[0].Drifted || r.DriftedFeatures != 1 {
			t.Fatalf("seed %d: feature_drift firing %v, features %+v", seed, ok, r.Features)
		}
		if c.Key != "feature_drift/d" || !strings.Contains(c.Title, "Feature 3 ") || !strings.Contains(c.Actions[0], "feature 3") ||
			c.Severity < monitor.SeverityMedium || c.Value != r.Features[0].PSI || c.Labels["detector_id"] != "d" {
			t.Fatalf("seed %d: condition %+v", seed, c)
		}
		if r.Status == monitor.HealthOK || r.Status == monitor.HealthUnknown {
			t.Fatalf("seed %d: status %s", seed, r.Status)
		}
	}
}

// TestModelHealthScoreDrift: scores scaled by 1.5 on unchanged rows, and rows shifted by one
// standard deviation in every feature, fire score_drift; the first leaves the features quiet.
func TestModelHealthScoreDrift(t *testing.T) {
	for seed := range 10 {
		rng := rand.New(rand.NewPCG(uint64(seed), 3))
		m := healthModel(t, "isolation_forest", map[string]any{"seed": seed, "n_estimators": 50}, 0.05, healthRows(rng, 2000, 4, 0.05, nil))

		h := monitor.NewModelHealth(monitor.HealthOptions{})
		X := healthRows(rng, 1000, 4, 0.05, nil)
		s, err := m.Score(context.Background(), X, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range s {
			s[i] *= 1.5
		}
		if err := h.Observe("scaled", 1, m, X, s); err != nil {
			t.Fatal(err)
		}
		f := healthFiring(h.Conditions(time.Now()))
		if c, ok := f["score_drift"]; !ok || !strings.Contains(c.Title, "Scores of detector scaled have drifted") || f["feature_drift"].Firing {
			r, _ := h.Report("scaled")
			t.Fatalf("seed %d, scaled scores: firing %v; %+v", seed, f, r)
		}

		healthServe(t, h, "shifted", 1, m, healthRows(rng, 1000, 4, 0.05, []float64{1, 1, 1, 1}), 100)
		r, _ := h.Report("shifted")
		if r.ScorePSI < 0.25 || r.Status != monitor.HealthDrift || r.DriftedFeatures != 4 {
			t.Fatalf("seed %d, shifted rows: %+v", seed, r)
		}
		if c := healthFiring(h.Conditions(time.Now()))["score_drift"]; c.Key != "score_drift/shifted" || c.Severity != monitor.SeverityHigh {
			t.Fatalf("seed %d, shifted rows: score_drift %+v", seed, c)
		}
	}
}

// TestModelHealthAnomalyRate: a model fitted with 5 % anomalies and contamination 0.05, served
// rows with three times as many, fires anomaly_rate at high severity; with as many, it stays
// quiet.
func TestModelHealthAnomalyRate(t *testing.T) {
	for seed := range 20 {
		rng := rand.New(rand.NewPCG(uint64(seed), 4))
		m := healthModel(t, "isolation_forest", map[string]any{"seed": seed, "n_estimators": 50}, 0.05, healthRows(rng, 2000, 4, 0.05, nil))
		h := monitor.NewModelHealth(monitor.HealthOptions{})
		healthServe(t, h, "same", 1, m, healthRows(rng, 1000, 4, 0.05, nil), 100)
		healthServe(t, h, "triple", 1, m, healthRows(rng, 1000, 4, 0.15, nil), 100)
		for _, c := range h.Conditions(time.Now()) {
			if c.Rule != "anomaly_rate" {
				continue
			}
			switch c.Labels["detector_id"] {
			case "same":
				if c.Firing {
					t.Fatalf("seed %d: 1x contamination fires: %s", seed, c.Description)
				}
			case "triple":
				if !c.Firing || c.Severity != monitor.SeverityHigh || c.Threshold != float64(m.Profile.Flagged)/float64(m.Profile.Rows) || !strings.Contains(c.Description, "binomial test") {
					t.Fatalf("seed %d: 3x contamination: %+v", seed, c)
				}
			}
		}
	}
}

// TestModelHealthWithoutProfile: a model saved before profiles existed gets the anomaly rate
// only, and needs no rows.
func TestModelHealthWithoutProfile(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	m := healthModel(t, "hbos", nil, 0.1, healthRows(rng, 1000, 3, 0, nil))
	m.Profile = nil
	h := monitor.NewModelHealth(monitor.HealthOptions{MinRows: 10})
	scores := make([]float64, 100)
	for i := range scores {
		scores[i] = m.Threshold + 1 // every row flagged
	}
	if err := h.Observe("old", 7, m, nil, scores); err != nil {
		t.Fatal(err)
	}
	r, _ := h.Report("old")
	if r.Profiled || r.Expected != 0.1 || r.Rate != 1 || r.Flagged != 100 || r.Features != nil || r.ScoreKSP != 1 || r.Status != monitor.HealthDrift {
		t.Errorf("report %+v", r)
	}
	cs := h.Conditions(time.Now())
	if len(cs) != 1 || cs[0].Key != "anomaly_rate/old" || !cs[0].Firing || cs[0].Labels["version"] != "7" {
		t.Errorf("conditions %+v", cs)
	}
}

// TestModelHealthCounting: the window holds Window to 2*Window rows, a new version starts
// the counts anew, MinRows withholds the verdict, and rows that do not fit are refused whole.
func TestModelHealthCounting(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	m := healthModel(t, "hbos", nil, 0.1, healthRows(rng, 1000, 3, 0, nil))
	h := monitor.NewModelHealth(monitor.HealthOptions{Window: 300, MinRows: 200})

	healthServe(t, h, "d", 1, m, healthRows(rng, 150, 3, 0, nil), 50)
	if r, _ := h.Report("d"); r.Rows != 150 || r.Status != monitor.HealthUnknown || len(h.Conditions(time.Now())) != 0 {
		t.Errorf("below MinRows: %+v", r)
	}
	// Drifted rows leave the window once 2*Window newer rows came.
	healthServe(t, h, "d", 1, m, healthRows(rng, 700, 3, 0, []float64{2, 2, 2}), 70)
	if r, _ := h.Report("d"); r.Rows < 300 || r.Rows > 600 || r.Status != monitor.HealthDrift {
		t.Errorf("drifted: %+v", r)
	}
	healthServe(t, h, "d", 1, m, healthRows(rng, 600, 3, 0, nil), 7)
	if r, _ := h.Report("d"); r.Rows < 300 || r.Rows > 600 || r.Status != monitor.HealthOK {
		t.Errorf("after 2*Window fresh rows: %+v", r)
	}
	healthServe(t, h, "d", 2, m, healthRows(rng, 10, 3, 0, nil), 10)
	if r, _ := h.Report("d"); r.Rows != 10 || r.Version != 2 {
		t.Errorf("new version: %+v", r)
	}
	healthServe(t, h, "d", 1, m, healthRows(rng, 10, 3, 0, nil), 10)
	if r, _ := h.Report("d"); r.Rows != 10 || r.Version != 2 {
		t.Errorf("rows of the version before were counted: %+v", r)
	}

	for _, X := range []*dataset.Matrix{nil, dataset.NewMatrix(3, 2), dataset.NewMatrix(2, 3)} {
		err := h.Observe("d", 2, m, X, make([]float64, 3))
		if !errors.Is(err, monitor.ErrHealthShape) {
			t.Errorf("rows %v: err = %v", X, err)
		}
	}
	if r, _ := h.Report("d"); r.Rows != 10 {
		t.Errorf("refused rows were counted: %d rows", r.Rows)
	}
	if _, ok := h.Report("none"); ok {
		t.Error("a detector never observed has a report")
	}
	h.Forget("d")
	if _, ok := h.Report("d"); ok || len(h.Reports()) != 0 {
		t.Error("Forget kept the detector")
	}
}

// TestModelHealthTies: a constant and a discrete feature count consistently with training:
// the same values are quiet, a new constant is drift.
func TestModelHealthTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	mk := func(rows int, c float64) *dataset.Matrix {
		X := healthRows(rng, rows, 3, 0, nil)
		for i := range rows {
			X.Set(i, 0, c)
			X.Set(i, 1, float64(rng.IntN(3)))
		}
		return X
	}
	m := healthModel(t, "hbos", nil, 0.1, mk(2000, 4))
	h := monitor.NewModelHealth(monitor.HealthOptions{})
	healthServe(t, h, "same", 1, m, mk(1000, 4), 100)
	healthServe(t, h, "moved", 1, m, mk(1000, 5), 100)
	if r, _ := h.Report("same"); r.DriftedFeatures != 0 {
		t.Errorf("the same constant and discrete values drift: %+v", r.Features)
	}
	if r, _ := h.Report("moved"); r.DriftedFeatures != 1 || r.Features[0].Index != 0 || r.Features[0].PSI < 0.25 {
		t.Errorf("a new constant: %+v", r.Features)
	}
}

// TestModelHealthEvicts: beyond MaxDetectors, the one seen least recently goes.
func TestModelHealthEvicts(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	m := healthModel(t, "hbos", nil, 0.1, healthRows(rng, 500, 2, 0, nil))
	h := monitor.NewModelHealth(monitor.HealthOptions{MaxDetectors: 3})
	X := healthRows(rng, 5, 2, 0, nil)
	for _, id := range []string{"a", "b", "c", "a", "d"} {
		healthServe(t, h, id, 1, m, X, 5)
	}
	var ids []string
	for _, r := range h.Reports() {
		ids = append(ids, r.ID)
	}
	if strings.Join(ids, ",") != "a,c,d" {
		t.Errorf("detectors %v, want a,c,d", ids)
	}
}

// TestModelHealthJSON: a report marshals with snake_case keys and no NaN, also before any row
// drifted or for a model without a profile.
func TestModelHealthJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	m := healthModel(t, "hbos", nil, 0.1, healthRows(rng, 500, 2, 0, nil))
	h := monitor.NewModelHealth(monitor.HealthOptions{})
	healthServe(t, h, "d", 3, m, healthRows(rng, 50, 2, 0, nil), 50)
	b, err := json.Marshal(h.Reports())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"id":"d"`, `"algorithm":"hbos"`, `"version":3`, `"rows":50`, `"rate_p":`, `"score_psi":`, `"score_psi_p":`,
		`"score_ks_d":`, `"score_ks_p":`, `"features":[{"index":`, `"psi_p":`, `"drifted":false`, `"drifted_features":0`, `"status":"unknown"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON %s lacks %s", b, k)
		}
	}
}

// TestModelHealthConcurrent: Observe, Report, Conditions and Forget from many goroutines (run
// with -race); every row observed is counted once.
func TestModelHealthConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	m := healthModel(t, "hbos", nil, 0.1, healthRows(rng, 1000, 5, 0, nil))
	X := healthRows(rng, 40, 5, 0, nil)
	s, err := m.Score(context.Background(), X, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := monitor.NewModelHealth(monitor.HealthOptions{Window: 1 << 20, MinRows: 100})
	const writers, batches = 8, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for range batches {
				if err := h.Observe([]string{"a", "b"}[w%2], 1, m, X, s); err != nil {
					t.Error(err)
				}
				if err := h.Observe("gone", 1, m, X, s); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for range 3 {
		wg.Go(func() {
			for range batches {
				h.Report("a")
				h.Conditions(time.Now())
				h.Forget("gone")
			}
		})
	}
	wg.Wait()
	for _, id := range []string{"a", "b"} {
		if r, _ := h.Report(id); r.Rows != writers/2*batches*40 {
			t.Errorf("%s: %d rows, want %d", id, r.Rows, writers/2*batches*40)
		}
	}
}

func TestObserveAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	m := healthModel(t, "hbos", nil, 0.1, healthRows(rng, 2000, 10, 0, nil))
	X := healthRows(rng, 1000, 10, 0, nil)
	s, _ := m.Score(context.Background(), X, nil)
	h := monitor.NewModelHealth(monitor.HealthOptions{})
	if err := h.Observe("d", 1, m, X, s); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() { _ = h.Observe("d", 1, m, X, s) }); n != 0 {
		t.Errorf("Observe allocates %v times per call", n)
	}
}

// BenchmarkObserve counts one row and a batch of 1000 rows of 10 features.
func BenchmarkObserve(b *testing.B) {
	rng := rand.New(rand.NewPCG(12, 12))
	m := healthModel(b, "hbos", nil, 0.1, healthRows(rng, 20000, 10, 0, nil))
	for _, rows := range []int{1, 1000} {
		X := healthRows(rng, rows, 10, 0, nil)
		s, _ := m.Score(context.Background(), X, nil)
		h := monitor.NewModelHealth(monitor.HealthOptions{})
		b.Run(fmt.Sprintf("%dx10", rows), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := h.Observe("d", 1, m, X, s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
		})
	}
}

// BenchmarkReport is the statistics of one detector of 10 features over a full window.
func BenchmarkReport(b *testing.B) {
	rng := rand.New(rand.NewPCG(13, 13))
	m := healthModel(b, "hbos", nil, 0.1, healthRows(rng, 20000, 10, 0, nil))
	h := monitor.NewModelHealth(monitor.HealthOptions{})
	healthServe(b, h, "d", 1, m, healthRows(rng, 20000, 10, 0, []float64{0.3}), 1000)
	b.ReportAllocs()
	for b.Loop() {
		h.Report("d")
	}
}
