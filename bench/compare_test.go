package bench_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gonomaly/gonomaly/bench"
)

func TestCompareEndToEnd(t *testing.T) {
	cfg := bench.DefaultCompare(wbc, "label", "isolation_forest", "hbos", "ecod")
	cfg.Isolate = true
	doc, err := bench.RunCompare(context.Background(), cfg, bench.Options{Child: childCmd()})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Rows != 223 || doc.Cols != 9 || doc.Anomalies != 10 || len(doc.Entries) != 3 {
		t.Fatalf("%d x %d, %d anomalies, %d entries", doc.Rows, doc.Cols, doc.Anomalies, len(doc.Entries))
	}
	ranks := map[int]bool{}
	for _, e := range doc.Entries {
		if e.Status != bench.StatusOK || e.Total.N != 5 || e.Accuracy == nil {
			t.Fatalf("entry %+v", e)
		}
		ranks[e.Rank] = true
	}
	if !ranks[1] || !ranks[2] || !ranks[3] {
		t.Errorf("ranks %v, want 1, 2, 3", ranks)
	}
	if len(doc.ParetoFront) == 0 || len(doc.Pairs) != 3 {
		t.Fatalf("front %v, %d pairs", doc.ParetoFront, len(doc.Pairs))
	}
	for _, p := range doc.Pairs {
		// Five runs a side: the smallest two-sided exact p is 2/252.
		if p.P < 2.0/252-1e-12 || p.P > 1 || p.Ratio < 1 || (p.Faster != p.A && p.Faster != p.B) {
			t.Errorf("pair %+v", p)
		}
		if p.Significant != (p.P < 0.05) {
			t.Errorf("pair %+v: significant at 95 %% should be p < 0.05", p)
		}
	}
}

func TestCompareErrors(t *testing.T) {
	unlabelled := writeTemp(t, "u.csv", "a,b\n1,2\n3,4\n5,6\n")
	oneClass := writeTemp(t, "one.csv", "a,b,y\n1,2,0\n3,4,0\n5,6,0\n7,1,0\n")
	tests := []struct {
		name string
		cfg  bench.CompareConfig
		msg  string
	}{
		{"one algorithm", bench.DefaultCompare(wbc, "label", "hbos"), "need at least two"},
		{"no label", bench.DefaultCompare(wbc, "", "hbos", "ecod"), "label column"},
		{"missing label column", bench.DefaultCompare(unlabelled, "y", "hbos", "ecod"), `column "y"`},
		{"one class", bench.DefaultCompare(oneClass, "y", "hbos", "ecod"), "one class"},
		{"confidence", func() bench.CompareConfig {
			c := bench.DefaultCompare(wbc, "label", "hbos", "ecod")
			c.Confidence = 95
			return c
		}(), "confidence 95"},
	}
	for _, tc := range tests {
		_, err := bench.RunCompare(context.Background(), tc.cfg, bench.Options{})
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.msg)
		}
	}
}
