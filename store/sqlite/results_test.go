package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

// TestInsertResultsEverySize writes batches of every size around the multi-row INSERTs'
// chunks and reads each batch back: every result stored once, as given.
func TestInsertResultsEverySize(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := &store.Detector{Name: "d", Algorithm: "knn", Parameters: json.RawMessage(`{}`), Contamination: 0.1}
	if err := s.CreateDetector(ctx, d); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range []int{1, 2, 3, 63, 64, 65, 127, 128, 129, 200, 511} {
		rs := make([]*store.Result, n)
		for i := range rs {
			rs[i] = &store.Result{DetectorID: d.ID, NSamples: 1, Anomalies: i % 2, Threshold: float64(n), Scores: []float64{float64(i)}}
		}
		if err := s.CreateResults(ctx, rs...); err != nil {
			t.Fatalf("%d results: %v", n, err)
		}
		total += n
		for i, r := range rs {
			got, err := s.GetResult(ctx, r.ID)
			if err != nil {
				t.Fatalf("%d results: result %d: %v", n, i, err)
			}
			if got.Anomalies != i%2 || got.Threshold != float64(n) || len(got.Scores) != 1 || got.Scores[0] != float64(i) || !got.CreatedAt.Equal(r.CreatedAt) {
				t.Fatalf("%d results: result %d read back as %+v, want %+v", n, i, got, r)
			}
		}
	}
	all, err := s.ListResults(ctx, store.ResultFilter{DetectorID: d.ID, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != total {
		t.Fatalf("%d results stored, want %d", len(all), total)
	}
	// A batch naming a detector that does not exist is refused whole, whatever its size.
	rs := make([]*store.Result, 70)
	for i := range rs {
		rs[i] = &store.Result{DetectorID: d.ID, NSamples: 1, Scores: []float64{1}}
	}
	rs[66].DetectorID = "01a23d24-5f4c-7d6e-9197-369c10000944"
	if err := s.CreateResults(ctx, rs...); err == nil {
		t.Fatal("a batch with a missing detector was stored")
	}
	if all, _ = s.ListResults(ctx, store.ResultFilter{DetectorID: d.ID, Limit: 10000}); len(all) != total {
		t.Fatalf("%d results stored after a refused batch, want %d", len(all), total)
	}
}

// BenchmarkInsertResults is the service's result writer on SQLite: single-row predictions'
// results (one score each) of one detector, alone and in the batches the writer makes under
// load. cpu-ns/result is the process's user + system time per result (the writer runs on the
// service's cores; the wall time also counts waits for the disk).
func BenchmarkInsertResults(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 70, 512} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "r.db"), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			d := &store.Detector{Name: "d", Algorithm: "isolation_forest", Parameters: json.RawMessage(`{}`), Contamination: 0.1}
			if err := s.CreateDetector(ctx, d); err != nil {
				b.Fatal(err)
			}
			rs := make([]*store.Result, n)
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				for i := range rs {
					rs[i] = &store.Result{DetectorID: d.ID, NSamples: 1, Threshold: 0.5, Scores: []float64{0.4}}
				}
				if err := s.CreateResults(ctx, rs...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/result")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/result")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
