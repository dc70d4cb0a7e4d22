package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/gonomaly/gonomaly/store"
)

// Benchmark measures a back end's hot operations, the calls the server makes per request:
// inserting a detection result (alone, and in the batches the server's result writer makes),
// getting a detector with its model, and the batch look-up. The store is opened with the
// default Options, as the server opens it.
func Benchmark(b *testing.B, fresh Fresh) {
	ctx := context.Background()
	tg := fresh(b)
	tg.Options = store.Options{}
	s := open(b, tg)
	const nDetectors, modelBytes = 100, 64 << 10
	ids := make([]string, nDetectors)
	for i := range ids {
		d := create(b, s, newDetector(fmt.Sprintf("bench-%d", i), "isolation_forest"))
		if _, err := s.SaveModel(ctx, d.ID, store.FittedModel{Model: model(i, modelBytes), Threshold: 0.5, NFeatures: 10}); err != nil {
			b.Fatal(err)
		}
		ids[i] = d.ID
	}
	scores := make([]float64, 100)
	for i := range scores {
		scores[i] = float64(i) / 100
	}
	result := func(i int) *store.Result {
		return &store.Result{DetectorID: ids[i%nDetectors], NSamples: len(scores), Scores: scores, Anomalies: 10, Threshold: 0.9}
	}

	b.Run("CreateResult", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := s.CreateResults(ctx, result(i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("CreateResults100", func(b *testing.B) {
		b.ReportAllocs()
		batch := make([]*store.Result, 100)
		for b.Loop() {
			for j := range batch {
				batch[j] = result(j)
			}
			if err := s.CreateResults(ctx, batch...); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/result")
	})
	b.Run("GetDetector", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			d, err := s.GetDetector(ctx, ids[i%nDetectors])
			if err != nil || len(d.Model) != modelBytes {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("GetDetectors100", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ds, err := s.GetDetectors(ctx, ids)
			if err != nil || len(ds) != nDetectors {
				b.Fatal(len(ds), err)
			}
		}
	})
	b.Run("GetDetectorParallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.GetDetector(ctx, ids[i%nDetectors]); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
	b.Run("CreateResultParallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if err := s.CreateResults(ctx, result(i)); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}
