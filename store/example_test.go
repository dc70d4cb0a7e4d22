package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/store"
	_ "github.com/gonomaly/gonomaly/store/sqlite" // registers sqlite: URLs
)

// A detector's life in the store: created, trained, saved atomically with its model, loaded
// back to score new rows, and its results recorded.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "gonomaly-example")
	defer os.RemoveAll(dir)

	s, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "gonomaly.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	d := &store.Detector{Name: "payments", Algorithm: "hbos", Parameters: json.RawMessage(`{"n_bins":10}`), Contamination: 0.1}
	if err := s.CreateDetector(ctx, d); err != nil {
		log.Fatal(err)
	}

	// Train the model the detector describes, and save it.
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 500, Cols: 4, Contamination: 0.1, Seed: 1})
	m, err := d.NewModel()
	if err != nil {
		log.Fatal(err)
	}
	fit, err := m.Fit(ctx, X)
	if err != nil {
		log.Fatal(err)
	}
	fm, err := store.EncodeModel(m, fit.FitTime)
	if err != nil {
		log.Fatal(err)
	}
	fm.IfVersion = d.Version // not over a detector that changed while it trained
	saved, err := s.SaveModel(ctx, d.ID, fm)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("fitted %v on %d features, version %d\n", saved.IsFitted, saved.NFeatures, saved.Version)

	// Later, maybe in another process: load the model and score.
	got, err := s.GetDetector(ctx, d.ID)
	if err != nil {
		log.Fatal(err)
	}
	loaded, err := got.DecodeModel()
	if err != nil {
		log.Fatal(err)
	}
	rows := X.Slice(0, 20)
	scores, err := loaded.Score(ctx, rows, nil)
	if err != nil {
		log.Fatal(err)
	}
	want, _ := m.Score(ctx, rows, nil)
	fmt.Println("same scores as the trained model:", fmt.Sprint(scores) == fmt.Sprint(want))

	r := &store.Result{DetectorID: d.ID, NSamples: len(scores), Scores: scores, Threshold: loaded.Threshold}
	for _, v := range scores {
		if v > r.Threshold {
			r.Anomalies++
		}
	}
	if err := s.CreateResults(ctx, r); err != nil {
		log.Fatal(err)
	}
	rs, _ := s.ListResults(ctx, store.ResultFilter{DetectorID: d.ID})
	fmt.Printf("%d result of %d rows stored\n", len(rs), rs[0].NSamples)
	// Output:
	// fitted true on 4 features, version 2
	// same scores as the trained model: true
	// 1 result of 20 rows stored
}

// Metric samples are a time series per name and label set; QuerySamples reads a range.
func Example_metrics() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "gonomaly-example")
	defer os.RemoveAll(dir)
	s, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "gonomaly.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var samples []store.Sample
	for i := range 6 {
		samples = append(samples, store.Sample{
			Time: t0.Add(time.Duration(i) * 10 * time.Second), Name: "latency_ms",
			Value: float64(10 + i), Labels: map[string]string{"route": "/predict"},
		})
	}
	if err := s.AddSamples(ctx, samples...); err != nil {
		log.Fatal(err)
	}
	got, err := s.QuerySamples(ctx, store.SampleQuery{
		Name: "latency_ms", From: t0.Add(20 * time.Second), To: t0.Add(50 * time.Second),
		Labels: map[string]string{"route": "/predict"},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range got {
		fmt.Println(m.Time.Format(time.TimeOnly), m.Value)
	}
	// Output:
	// 12:00:20 12
	// 12:00:30 13
	// 12:00:40 14
}

// A batch of results in which one detector was deleted while its results were on their way:
// the batch fails whole, the error names the missing detector, and the rest is written.
func ExampleMissingDetectorsError() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "gonomaly-example")
	defer os.RemoveAll(dir)
	s, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "gonomaly.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	kept := &store.Detector{Name: "kept", Algorithm: "hbos", Contamination: 0.1}
	gone := &store.Detector{Name: "gone", Algorithm: "hbos", Contamination: 0.1}
	for _, d := range []*store.Detector{kept, gone} {
		if err := s.CreateDetector(ctx, d); err != nil {
			log.Fatal(err)
		}
	}
	batch := []*store.Result{{DetectorID: kept.ID}, {DetectorID: gone.ID}, {DetectorID: kept.ID}}
	if err := s.DeleteDetector(ctx, gone.ID); err != nil {
		log.Fatal(err)
	}

	err = s.CreateResults(ctx, batch...)
	var missing *store.MissingDetectorsError
	if errors.As(err, &missing) {
		fmt.Println("missing the deleted detector:", slices.Equal(missing.IDs, []string{gone.ID}))
		fmt.Println("not found:", errors.Is(err, store.ErrNotFound))
		batch = slices.DeleteFunc(batch, func(r *store.Result) bool { return slices.Contains(missing.IDs, r.DetectorID) })
		err = s.CreateResults(ctx, batch...)
	}
	rs, _ := s.ListResults(ctx, store.ResultFilter{})
	fmt.Println(err, len(rs))
	// Output:
	// missing the deleted detector: true
	// not found: true
	// <nil> 2
}
