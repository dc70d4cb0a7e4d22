package bench

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/gonomaly/gonomaly/eval"
)

// TestSummarizeRunsByHand: fit 1, 2, 3 s and score 0.5 s give totals 1.5, 2.5, 3.5 s: median
// and mean 2.5, standard deviation 1, and a 95 % interval 2.5 -+ t(0.975, 2) / sqrt(3) with
// t(0.975, 2) = 4.302652729911275 (scipy.stats.t.ppf).
func TestSummarizeRunsByHand(t *testing.T) {
	ms := []Measurement{{FitSeconds: 1, ScoreSeconds: 0.5, CPUSeconds: 3}, {FitSeconds: 2, ScoreSeconds: 0.5, CPUSeconds: 5}, {FitSeconds: 3, ScoreSeconds: 0.5, CPUSeconds: 4}}
	fit, score, total, cpu := summarizeRuns(ms)
	half := 4.302652729911275 / math.Sqrt(3)
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"fit median", fit.Median, 2}, {"score sd", score.StdDev, 0}, {"total median", total.Median, 2.5},
		{"total mean", total.Mean, 2.5}, {"total sd", total.StdDev, 1}, {"total min", total.Min, 1.5}, {"total max", total.Max, 3.5},
		{"total ci low", total.CILow, 2.5 - half}, {"total ci high", total.CIHigh, 2.5 + half}, {"cpu median", cpu.Median, 4},
	} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

// TestRankParetoPairsByHand: a is the most accurate and mid-speed, b the fastest and least
// accurate, c slower than a and less accurate (a dominates it); d failed.
func TestRankParetoPairsByHand(t *testing.T) {
	entry := func(name string, auc float64, totals ...float64) CompareEntry {
		e := CompareEntry{Algorithm: name, Status: StatusOK, Accuracy: &eval.Metrics{ROCAUC: auc, AveragePrecision: auc}, totals: totals}
		s, _ := Summarize(totals)
		e.Total = &s
		return e
	}
	es := []CompareEntry{
		entry("a", 0.90, 1.0, 1.1, 0.9, 1.05, 0.95),
		entry("b", 0.80, 0.5, 0.52, 0.48, 0.51, 0.49),
		entry("c", 0.85, 2.0, 2.1, 1.9, 2.05, 1.95),
		{Algorithm: "d", Status: StatusError},
	}
	rankEntries(es)
	for i, want := range []int{1, 3, 2, 0} {
		if es[i].Rank != want {
			t.Errorf("%s: rank %d, want %d", es[i].Algorithm, es[i].Rank, want)
		}
	}
	front := paretoFront(es)
	if len(front) != 2 || front[0] != "b" || front[1] != "a" || !es[0].Pareto || !es[1].Pareto || es[2].Pareto {
		t.Errorf("front %v (pareto flags %v %v %v), want [b a]", front, es[0].Pareto, es[1].Pareto, es[2].Pareto)
	}
	pairs, err := pairTests(es, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 3 {
		t.Fatalf("%d pairs, want 3 (d failed)", len(pairs))
	}
	// a vs b: every a run is slower than every b run: U = 25 of 25, exact two-sided p = 2/252.
	ab := pairs[0]
	if ab.A != "a" || ab.B != "b" || ab.U != 25 || math.Abs(ab.P-2.0/252) > 1e-12 || !ab.Significant || ab.Faster != "b" || ab.Ratio != 2 {
		t.Errorf("a vs b: %+v", ab)
	}
	// At 99.9 % confidence 2/252 = 0.0079 is not significant.
	strict, _ := pairTests(es, 0.999)
	if strict[0].Significant {
		t.Errorf("p = %v called significant at 99.9 %%", strict[0].P)
	}
}

// TestChildKilledByParent: without the child's own heap check, the parent sees the resident
// set grow while the child writes its data, and kills it at the line.
func TestChildKilledByParent(t *testing.T) {
	spec := CellSpec{Algorithm: Algorithm{Name: "hbos"}, Rows: 2_000_000, Cols: 16, Contamination: 0.1, Iterations: 1, Memory: true}
	const killAt = 48 << 20
	run, err := runChild(context.Background(), []string{os.Args[0], "__bench_child"}, spec, killAt)
	if !errors.Is(err, ErrOverBudget) {
		t.Fatalf("err %v, want ErrOverBudget", err)
	}
	// Between two looks 5 ms apart the child writes at most some tens of MB.
	if run.watchedRSS <= killAt || run.watchedRSS > killAt+64<<20 {
		t.Errorf("killed at %d bytes resident, line %d", run.watchedRSS, killAt)
	}
}

func TestChildErrors(t *testing.T) {
	spec := CellSpec{Algorithm: Algorithm{Name: "hbos"}, Rows: 100, Cols: 2, Contamination: 0.1, Iterations: 1}
	if _, err := runChild(context.Background(), []string{"/nonexistent/gonomaly"}, spec, 0); err == nil {
		t.Error("a missing child program ran")
	}
	// A program that prints no result: the error says so and carries its stderr.
	_, err := runChild(context.Background(), []string{"sh", "-c", "echo boom >&2; exit 1"}, spec, 0)
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("failing child: %v", err)
	}
	// A cell that fails in the child comes back as that error.
	bad := spec
	bad.Rows = 1
	if _, err := runChild(context.Background(), []string{os.Args[0], "__bench_child"}, bad, 0); err == nil || !strings.Contains(err.Error(), "at least 2 rows") {
		t.Errorf("failing cell: %v", err)
	}
}
