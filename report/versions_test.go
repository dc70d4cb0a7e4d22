package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/report"
	"github.com/gonomaly/gonomaly/store"
)

// addBenchmark stores a benchmark run measured with build at t, one 1000x10 cell per
// algorithm with the given median seconds.
func addBenchmark(tb testing.TB, st store.Store, i int, t time.Time, build string, secs map[string]float64) {
	tb.Helper()
	d := bench.BenchmarkDoc{Header: header(bench.KindBenchmark, i)}
	d.SuiteID, d.Build, d.GonomalyVersion = fmt.Sprintf("benchmark-%d", i), build, "v-"+build
	for _, alg := range []string{"hbos", "iforest", "lof"} {
		if s, ok := secs[alg]; ok {
			d.Cells = append(d.Cells, bench.Cell{ID: alg, Algorithm: alg, Rows: 1000, Cols: 10, Contamination: 0.1,
				Status: bench.StatusOK, Total: summary(s)})
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.CreateBenchmarkRun(context.Background(), &store.BenchmarkRun{SuiteID: d.SuiteID, Kind: store.KindBenchmark,
		Name: "benchmark", CreatedAt: t, Document: b}); err != nil {
		tb.Fatal(err)
	}
}

// Four runs of build old and four of build new, after one of an older build: iforest is
// slower in every new run (Mann-Whitney U = 0 with 4 and 4 untied values, exact p = 2/70,
// scipy.stats.mannwhitneyu([1.0, 1.01, 1.02, 1.03], [1.2, 1.21, 1.22, 1.23]).pvalue =
// 0.02857142857142857); lof's runs interleave (no verdict); hbos ran with the new build only.
func TestVersions(t *testing.T) {
	st := openStore(t)
	at := func(h int) time.Time { return day0.Add(time.Duration(h) * time.Hour) }
	addBenchmark(t, st, 0, at(1), "(devel) 000000000000", map[string]float64{"iforest": 5, "lof": 5})
	for i := range 4 {
		d := 0.01 * float64(i)
		addBenchmark(t, st, 1+i, at(2+i), "(devel) aaaaaaaaaaaa", map[string]float64{"iforest": 1 + d, "lof": 2 + 2*d})
		addBenchmark(t, st, 5+i, at(6+i), "(devel) bbbbbbbbbbbb+dirty", map[string]float64{"iforest": 1.2 + d, "lof": 2.01 + 2*d, "hbos": 0.1})
	}
	r, err := report.Build(context.Background(), st, report.Period{Since: day0, Until: day0.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	v := r.Versions
	if len(v.Builds) != 3 || v.Builds[0].Runs != 4 || v.Builds[2].Build != "(devel) 000000000000" || v.Builds[0].GonomalyVersion != "v-(devel) bbbbbbbbbbbb+dirty" {
		t.Errorf("builds %+v, want the three newest run first", v.Builds)
	}
	if v.New != "(devel) bbbbbbbbbbbb+dirty" || v.Old != "(devel) aaaaaaaaaaaa" || len(v.Cells) != 2 {
		t.Fatalf("compared %q with %q over %d cells, want the two newest builds over iforest and lof", v.New, v.Old, len(v.Cells))
	}
	ifo, lof := v.Cells[0], v.Cells[1]
	if ifo.Algorithm != "iforest" || ifo.OldN != 4 || ifo.NewN != 4 || ifo.Verdict != report.VerdictRegression ||
		ifo.P == nil || math.Abs(*ifo.P-0.02857142857142857) > 1e-12 || math.Abs(ifo.ChangePercent-100*(1.215-1.015)/1.015) > 1e-9 {
		t.Errorf("iforest %+v (p %v), want a regression of 19.7 %% at p 2/70", ifo, ifo.P)
	}
	if lof.Algorithm != "lof" || lof.Verdict != report.VerdictSame || lof.P == nil || *lof.P < 0.05 {
		t.Errorf("lof %+v, want ~", lof)
	}

	var page bytes.Buffer
	if err := report.WriteHTML(&page, r); err != nil {
		t.Fatal(err)
	}
	parseXML(t, page.Bytes())
	for _, want := range []string{`id="versions"`, `<td class="worse">regression</td>`, `<td class="">~</td>`, "&#43;19.7 %"} {
		if !bytes.Contains(page.Bytes(), []byte(want)) {
			t.Errorf("page lacks %s", want)
		}
	}
}

// One build gives the list of builds and nothing to compare.
func TestVersionsOneBuild(t *testing.T) {
	st := openStore(t)
	addBenchmark(t, st, 0, day0.Add(time.Hour), "(devel) no-vcs", map[string]float64{"iforest": 1})
	r, err := report.Build(context.Background(), st, report.Period{Since: day0, Until: day0.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if v := r.Versions; len(v.Builds) != 1 || v.New != "" || v.Cells == nil || len(v.Cells) != 0 {
		t.Errorf("versions %+v, want one build and no cells", v)
	}
}

// addBenchmarkIterations stores a benchmark run of one iforest cell whose iterations took
// the given seconds (none: a document from before cells kept them, its median 1).
func addBenchmarkIterations(tb testing.TB, st store.Store, i int, t time.Time, build string, its []float64, mods ...func(*bench.BenchmarkDoc)) {
	tb.Helper()
	d := bench.BenchmarkDoc{Header: header(bench.KindBenchmark, i)}
	d.SuiteID, d.Build, d.GonomalyVersion = fmt.Sprintf("benchmark-%d", i), build, "v-"+build
	d.Cells = []bench.Cell{{ID: "iforest", Algorithm: "iforest", Rows: 1000, Cols: 10, Contamination: 0.1,
		Status: bench.StatusOK, Total: summary(1), Samples: its}}
	for _, mod := range mods {
		mod(&d)
	}
	b, err := json.Marshal(d)
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.CreateBenchmarkRun(context.Background(), &store.BenchmarkRun{SuiteID: d.SuiteID, Kind: store.KindBenchmark,
		Name: "benchmark", CreatedAt: t, Document: b}); err != nil {
		tb.Fatal(err)
	}
}

// With their iterations kept, one run a side is enough: 5 iterations each, all new ones
// slower (U = 0, exact p = 2/252: scipy.stats.mannwhitneyu([1.0, 1.01, 1.02, 1.03, 1.04],
// [1.2, 1.21, 1.22, 1.23, 1.24]).pvalue = 0.007936507936507936). A side without iterations
// counts its median once and the cell says mixed; hostile samples (negative, zero)
// are left out.
func TestVersionsIterations(t *testing.T) {
	at := func(h int) time.Time { return day0.Add(time.Duration(h) * time.Hour) }
	day := report.Period{Since: day0, Until: day0.Add(24 * time.Hour)}
	for _, tc := range []struct {
		name       string
		old, new   []float64
		oldN, newN int
		samples    string
		verdict    string
		p          float64 // 0: not checked
	}{
		{"iterations", []float64{1.0, 1.01, 1.02, 1.03, 1.04}, []float64{1.2, 1.21, 1.22, 1.23, 1.24}, 5, 5, report.SamplesIterations,
			report.VerdictRegression, 2.0 / 252},
		{"faster", []float64{1.2, 1.21, 1.22, 1.23, 1.24}, []float64{1.0, 1.01, 1.02, 1.03, 1.04}, 5, 5, report.SamplesIterations,
			report.VerdictImprovement, 2.0 / 252},
		{"overlapping", []float64{1.0, 1.2, 1.01, 1.21}, []float64{1.02, 1.19, 1.0, 1.22}, 4, 4, report.SamplesIterations, report.VerdictSame, 0},
		{"old without iterations", nil, []float64{1.2, 1.21, 1.22}, 1, 3, report.SamplesMixed, report.VerdictSame, 0},
		{"hostile samples", []float64{-1e308, -1, 1.0, 1.01, 1.02, 1.03, 1.04}, []float64{1.2, 1.21, 1.22, 1.23, 1.24, 0},
			5, 5, report.SamplesIterations, report.VerdictRegression, 2.0 / 252},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			addBenchmarkIterations(t, st, 0, at(1), "old", tc.old)
			addBenchmarkIterations(t, st, 1, at(2), "new", tc.new)
			r, err := report.Build(context.Background(), st, day)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Versions.Cells) != 1 {
				t.Fatalf("%d cells compared, want 1", len(r.Versions.Cells))
			}
			c := r.Versions.Cells[0]
			if c.OldN != tc.oldN || c.NewN != tc.newN || c.Samples != tc.samples || c.Verdict != tc.verdict {
				t.Errorf("n %d and %d, samples %s, verdict %s; want %d and %d, %s, %s", c.OldN, c.NewN, c.Samples, c.Verdict,
					tc.oldN, tc.newN, tc.samples, tc.verdict)
			}
			if tc.p > 0 && (c.P == nil || math.Abs(*c.P-tc.p) > 1e-9) {
				t.Errorf("p %v, want %v", c.P, tc.p)
			}
		})
	}
}

// Builds measured on different machines: the cell still compares, but says how many machines
// its samples came from and warns, in the document and the HTML report; alike machines on other
// hosts are one machine.
func TestVersionsAcrossMachines(t *testing.T) {
	at := func(h int) time.Time { return day0.Add(time.Duration(h) * time.Hour) }
	old, slower := []float64{1.0, 1.01, 1.02, 1.03, 1.04}, []float64{1.2, 1.21, 1.22, 1.23, 1.24}
	small := bench.Machine{CPUModel: "EPYC", Cores: 2, MemoryBytes: 24 << 30, GoVersion: "go1.26", GOMAXPROCS: 2, OS: "linux", Arch: "amd64"}
	big := small
	big.Cores, big.GOMAXPROCS = 64, 64
	on := func(m bench.Machine) func(*bench.BenchmarkDoc) { return func(d *bench.BenchmarkDoc) { d.Machine = m } }
	onWorker := func(host string, m bench.Machine) func(*bench.BenchmarkDoc) {
		return func(d *bench.BenchmarkDoc) { d.Cells[0].Host, d.Cells[0].Machine = host, &m }
	}
	for _, tc := range []struct {
		name     string
		old, new []func(*bench.BenchmarkDoc)
		machines int
	}{
		{"same machine", []func(*bench.BenchmarkDoc){on(small)}, []func(*bench.BenchmarkDoc){on(small)}, 1},
		{"alike worker on another host", []func(*bench.BenchmarkDoc){on(small)}, []func(*bench.BenchmarkDoc){on(big), onWorker("w2", small)}, 1},
		{"bigger machine", []func(*bench.BenchmarkDoc){on(small)}, []func(*bench.BenchmarkDoc){on(big)}, 2},
		{"worker on a bigger machine", []func(*bench.BenchmarkDoc){on(small)}, []func(*bench.BenchmarkDoc){on(small), onWorker("w2", big)}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			addBenchmarkIterations(t, st, 0, at(1), "old", old, tc.old...)
			addBenchmarkIterations(t, st, 1, at(2), "new", slower, tc.new...)
			r, err := report.Build(context.Background(), st, report.Period{Since: day0, Until: day0.Add(24 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Versions.Cells) != 1 {
				t.Fatalf("%d cells compared, want 1", len(r.Versions.Cells))
			}
			c := r.Versions.Cells[0]
			warned := c.Warning == bench.MachinesWarning(2)
			if c.Machines != tc.machines || warned != (tc.machines > 1) {
				t.Errorf("machines %d, warning %q; want %d machines", c.Machines, c.Warning, tc.machines)
			}
			var html bytes.Buffer
			if err := report.WriteHTML(&html, r); err != nil {
				t.Fatal(err)
			}
			parseXML(t, html.Bytes())
			if shown := bytes.Contains(html.Bytes(), []byte("timings are not comparable across them")); shown != (tc.machines > 1) {
				t.Errorf("the HTML report shows the warning: %v, want %v", shown, tc.machines > 1)
			}
		})
	}
}
