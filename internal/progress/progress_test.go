package progress

import (
	"context"
	"testing"
)

func TestReport(t *testing.T) {
	var got []int64
	ctx := With(context.Background(), func(phase string, done, total int64) {
		if phase != "fit" || total != 10 {
			t.Errorf("phase %q total %d", phase, total)
		}
		got = append(got, done)
	})
	for i := range int64(3) {
		Report(ctx, "fit", i*5, 10)
	}
	if len(got) != 3 || got[2] != 10 || !Enabled(ctx) {
		t.Fatalf("reports %v", got)
	}
	Report(context.Background(), "fit", 1, 2) // no Func: nothing happens
	if Enabled(context.Background()) {
		t.Fatal("Enabled without a Func")
	}
}

// Reporting without a Func costs no allocation.
func BenchmarkReportUnused(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for i := range b.N {
		Report(ctx, "fit", int64(i), 100)
	}
}
