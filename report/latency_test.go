package report

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/store"
	"github.com/gonomaly/gonomaly/store/sqlite"
)

// readSampled reads every minute of a period no longer than its windows, and one minute of
// each series per window of a longer one, even where a series is missing from some minutes.
func TestReadSampled(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "q.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	day0 := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	var ss []store.Sample
	for i := range 24 * 60 {
		at := day0.Add(time.Duration(i) * time.Minute)
		ss = append(ss, store.Sample{Time: at, Name: "operation_p50_seconds", Value: 1, Labels: map[string]string{"operation": "a"}})
		if i%3 == 1 { // b has every third minute, never a window's first
			ss = append(ss, store.Sample{Time: at, Name: "operation_p50_seconds", Value: 2, Labels: map[string]string{"operation": "b"}})
		}
	}
	if err := st.AddSamples(ctx, ss...); err != nil {
		t.Fatal(err)
	}
	names := []string{"operation_p50_seconds"}
	for _, tc := range []struct {
		name   string
		p      Period
		wantA  int
		wantB  int
		series int
	}{
		{"an hour: every minute", Period{Since: day0, Until: day0.Add(time.Hour)}, 60, 20, 2},
		{"a day: a minute a window", Period{Since: day0, Until: day0.Add(24 * time.Hour)}, sampleWindows, sampleWindows, 2},
		{"no series", Period{Since: day0, Until: day0.Add(24 * time.Hour)}, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readSampled(ctx, st, tc.p, names, tc.series)
			if err != nil {
				t.Fatal(err)
			}
			by := bySubject(got["operation_p50_seconds"], "operation")
			if len(by["a"]) != tc.wantA || len(by["b"]) != tc.wantB {
				t.Errorf("%d minutes of a and %d of b, want %d and %d", len(by["a"]), len(by["b"]), tc.wantA, tc.wantB)
			}
			for _, s := range got["operation_p50_seconds"] {
				if s.Time.Before(tc.p.Since) || !s.Time.Before(tc.p.Until) {
					t.Fatalf("sample at %v outside %v", s.Time, tc.p)
				}
			}
		})
	}
}
