package report

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

// BenchmarkReadQuantiles compares the two ways of reading a week of the stored p50 and p95 of
// three operations (one a minute: 60,480 samples) on SQLite: every sample, or one minute of
// each series in each of 120 windows (readSampled, what Build does):
//
//	go test ./report -run '^$' -bench ReadQuantiles -benchtime 5x
func BenchmarkReadQuantiles(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "q.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	day0 := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	p := Period{Since: day0, Until: day0.Add(7 * 24 * time.Hour)}
	var batch []store.Sample
	for i := range 7 * 24 * 60 {
		t := p.Since.Add(time.Duration(i) * time.Minute)
		for _, op := range []string{"service", "predict", "train"} {
			l := map[string]string{"operation": op}
			batch = append(batch, store.Sample{Time: t, Name: "operation_p50_seconds", Value: 0.004, Labels: l},
				store.Sample{Time: t, Name: "operation_p95_seconds", Value: 0.012, Labels: l})
		}
		if len(batch) >= 6000 {
			if err := st.AddSamples(ctx, batch...); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := st.AddSamples(ctx, batch...); err != nil {
		b.Fatal(err)
	}
	names := []string{"operation_p50_seconds", "operation_p95_seconds"}
	b.Run("every_minute", func(b *testing.B) {
		for b.Loop() {
			got, err := readSamples(ctx, st, p, names)
			if err != nil || len(got["operation_p50_seconds"]) != 3*7*24*60 {
				b.Fatal(err, len(got["operation_p50_seconds"]))
			}
		}
	})
	b.Run("sampled", func(b *testing.B) {
		for b.Loop() {
			got, err := readSampled(ctx, st, p, names, 3)
			if err != nil || len(got["operation_p50_seconds"]) != 3*sampleWindows {
				b.Fatal(err, len(got["operation_p50_seconds"]))
			}
		}
	})
}
