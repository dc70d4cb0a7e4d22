package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/eval"
	"github.com/gonomaly/gonomaly/report"
	"github.com/gonomaly/gonomaly/store"
)

// addCompare stores a compare run on dataset at t with the algorithms' ROC-AUC (NaN: the
// algorithm failed).
func addCompare(tb testing.TB, st store.Store, i int, t time.Time, dataset string, auc map[string]float64) {
	tb.Helper()
	addCompareTimed(tb, st, i, t, dataset, auc, nil)
}

// addCompareTimed is addCompare with each algorithm's median seconds (0.01 when not given).
func addCompareTimed(tb testing.TB, st store.Store, i int, t time.Time, dataset string, auc, secs map[string]float64) {
	tb.Helper()
	d := bench.CompareDoc{Header: header(bench.KindCompare, i), Rows: 100, Cols: 5, Anomalies: 10, ParetoFront: []string{}}
	d.SuiteID = fmt.Sprintf("compare-%d", i)
	d.Config.Dataset = dataset
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range auc {
			if !yield(k) {
				return
			}
		}
	}) {
		sec := 0.01
		if v, ok := secs[name]; ok {
			sec = v
		}
		e := bench.CompareEntry{Algorithm: name, Status: bench.StatusOK, Total: summary(sec)}
		if math.IsNaN(auc[name]) {
			e.Status, e.Total = "failed", nil
		} else {
			e.Accuracy = &eval.Metrics{ROCAUC: auc[name]}
		}
		d.Entries = append(d.Entries, e)
	}
	b, err := json.Marshal(d)
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.CreateBenchmarkRun(context.Background(), &store.BenchmarkRun{SuiteID: d.SuiteID, Kind: store.KindCompare,
		Name: "compare", CreatedAt: t, Document: b}); err != nil {
		tb.Fatal(err)
	}
}

// On five datasets iforest beats hbos, which beats lof, every time: Friedman's statistic is
// 12/(5*3*4) (5² + 10² + 15²) - 3*5*4 = 10 with 2 degrees of freedom, p = exp(-10/2)
// (scipy.stats.friedmanchisquare on these scores gives 10.0, 0.006737946999085467); the
// critical difference is 2.3437 sqrt(3*4/(6*5)) = 1.4823 (stat.NemenyiCD), so iforest-hbos and
// hbos-lof are each joined by a bar and iforest-lof (difference 2) is not.
func TestCrossDataset(t *testing.T) {
	st := openStore(t)
	p := report.Period{Since: day0, Until: day0.Add(24 * time.Hour)}
	// An older run on ds0 with another order, which the newest replaces; ocsvm failed on ds2
	// and is left out; knn ran on ds1 only.
	addCompare(t, st, 0, day0.Add(time.Hour), "ds0", map[string]float64{"iforest": 0.5, "hbos": 0.9, "lof": 0.7})
	for i := range 5 {
		auc := map[string]float64{"iforest": 0.9 - 0.01*float64(i), "hbos": 0.8, "lof": 0.6 + 0.01*float64(i), "ocsvm": 0.7}
		if i == 2 {
			auc["ocsvm"] = math.NaN()
		}
		if i == 1 {
			auc["knn"] = 0.99
		}
		addCompare(t, st, i+1, day0.Add(time.Duration(2+i)*time.Hour), fmt.Sprintf("ds%d", i), auc)
	}
	r, err := report.Build(context.Background(), st, p)
	if err != nil {
		t.Fatal(err)
	}
	x := r.Datasets
	if x == nil {
		t.Fatal("no datasets section")
	}
	if !slices.Equal(x.Algorithms, []string{"iforest", "hbos", "lof"}) || !slices.Equal(x.MeanRanks, []float64{1, 2, 3}) || len(x.Datasets) != 5 {
		t.Fatalf("algorithms %v, mean ranks %v, %d datasets; want iforest hbos lof at 1 2 3 over 5", x.Algorithms, x.MeanRanks, len(x.Datasets))
	}
	if x.Datasets[0].Dataset != "ds0" || x.Datasets[0].SuiteID != "compare-1" || x.Datasets[0].Scores[0] != 0.9 {
		t.Errorf("ds0 %+v, want the newest run's scores", x.Datasets[0])
	}
	if x.Chi2 == nil || math.Abs(*x.Chi2-10) > 1e-9 || math.Abs(*x.P-0.006737946999085467) > 1e-12 {
		t.Errorf("Friedman %v %v, want 10 and 0.006737946999085467", x.Chi2, x.P)
	}
	if x.CriticalDifference == nil || math.Abs(*x.CriticalDifference-2.343700586378409*math.Sqrt(0.4)) > 1e-12 {
		t.Errorf("CD %v, want 1.4823", x.CriticalDifference)
	}
	if fmt.Sprint(x.Groups) != "[[iforest hbos] [hbos lof]]" {
		t.Errorf("groups %v, want [[iforest hbos] [hbos lof]]", x.Groups)
	}
	if rec := x.Recommendation; rec.Rule != report.RuleBestRanked || rec.Algorithm != "iforest" || !slices.Equal(rec.NotDifferent, []string{"hbos"}) || rec.Fastest != "" {
		t.Errorf("recommendation %+v, want iforest, hbos not different, none faster (all take 0.01 s)", rec)
	}
	found := false
	for _, rec := range r.Recommendations {
		found = found || rec.Source == "datasets" && rec.Subject == "iforest"
	}
	if !found {
		t.Errorf("recommendations %+v lack the datasets one", r.Recommendations)
	}

	var page bytes.Buffer
	if err := report.WriteHTML(&page, r); err != nil {
		t.Fatal(err)
	}
	root := parseXML(t, page.Bytes())
	var cd *element
	root.walk(func(e *element) {
		if e.name == "svg" && e.attrs["data-chart"] == "datasets" {
			cd = e
		}
	})
	if cd == nil {
		t.Fatal("no critical-difference diagram in the page")
	}
	if n, g := cd.count("circle", "pt"), cd.count("line", "group"); n != 3 || g != 2 {
		t.Errorf("diagram has %d algorithms and %d bars, want 3 and 2", n, g)
	}
}

// One dataset, or algorithms in common on fewer than two datasets, make no section.
func TestCrossDatasetNeedsTwo(t *testing.T) {
	st := openStore(t)
	addCompare(t, st, 0, day0.Add(time.Hour), "ds0", map[string]float64{"iforest": 0.9, "hbos": 0.8})
	addCompare(t, st, 1, day0.Add(2*time.Hour), "ds1", map[string]float64{"iforest": 0.9, "lof": 0.8})
	r, err := report.Build(context.Background(), st, report.Period{Since: day0, Until: day0.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Datasets != nil {
		t.Errorf("datasets section %+v from one algorithm in common", r.Datasets)
	}
	var page bytes.Buffer
	if err := report.WriteHTML(&page, r); err != nil || bytes.Contains(page.Bytes(), []byte(`id="datasets"`)) {
		t.Errorf("page has a datasets section (%v)", err)
	}
}

// The recommendation rule (docs/report-json.md): when Friedman rejects, the best mean rank,
// those within the critical difference of it, and the fastest of them; when it does not, the
// fastest.
func TestCrossDatasetRecommendation(t *testing.T) {
	for _, tc := range []struct {
		name         string
		auc          func(i int) map[string]float64
		secs         map[string]float64
		rule, alg    string
		notDifferent []string
		fastest      string
	}{
		{
			// Same ranks as TestCrossDataset: hbos is within the CD of iforest and 5x faster.
			name: "rejects, a faster equivalent",
			auc: func(i int) map[string]float64 {
				return map[string]float64{"iforest": 0.9 - 0.01*float64(i), "hbos": 0.8, "lof": 0.6 + 0.01*float64(i)}
			},
			secs: map[string]float64{"iforest": 0.05, "hbos": 0.01, "lof": 0.02},
			rule: report.RuleBestRanked, alg: "iforest", notDifferent: []string{"hbos"}, fastest: "hbos",
		},
		{
			// iforest and hbos swap first and last on alternate datasets, lof always second:
			// rank sums 9, 10, 11, chi2 = 12/(5*3*4) (81 + 100 + 121) - 3*5*4 = 0.4 on 2 degrees
			// of freedom, p = exp(-0.2) = 0.82.
			name: "cannot tell them apart",
			auc: func(i int) map[string]float64 {
				if i%2 == 0 {
					return map[string]float64{"iforest": 0.9, "hbos": 0.8, "lof": 0.85}
				}
				return map[string]float64{"iforest": 0.8, "hbos": 0.9, "lof": 0.85}
			},
			secs: map[string]float64{"iforest": 0.05, "hbos": 0.002, "lof": 0.02},
			rule: report.RuleFastest, alg: "hbos", notDifferent: []string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			for i := range 5 {
				addCompareTimed(t, st, i, day0.Add(time.Duration(1+i)*time.Hour), fmt.Sprintf("ds%d", i), tc.auc(i), tc.secs)
			}
			r, err := report.Build(context.Background(), st, report.Period{Since: day0, Until: day0.Add(24 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if r.Datasets == nil {
				t.Fatal("no datasets section")
			}
			rec := r.Datasets.Recommendation
			if rec.Rule != tc.rule || rec.Algorithm != tc.alg || !slices.Equal(rec.NotDifferent, tc.notDifferent) || rec.Fastest != tc.fastest || rec.Text == "" {
				t.Errorf("recommendation %+v (Friedman p %v), want %s %s, not different %v, fastest %q", rec, r.Datasets.P,
					tc.rule, tc.alg, tc.notDifferent, tc.fastest)
			}
		})
	}
}
