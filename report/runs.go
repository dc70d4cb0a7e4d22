package report

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/store"
)

// maxDocRows bounds the rows the report keeps of one stored benchmark, scalability, memory or
// compare document (cells, fitted curves and their points, steps, algorithms, pairs): stored
// documents are outside input, as the load tests and searches are, and their text is cut to
// maxText runes.
const maxDocRows = 1000

// addRuns adds the stored performance documents, oldest first, by kind.
func (r *Report) addRuns(runs []*store.BenchmarkRun) {
	runs = slices.Clone(runs)
	slices.SortStableFunc(runs, func(a, b *store.BenchmarkRun) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	for _, run := range runs {
		var err error
		switch run.Kind {
		case store.KindBenchmark:
			var d bench.BenchmarkDoc
			if err = json.Unmarshal(run.Document, &d); err == nil {
				r.addBenchmark(run, &d)
			}
		case store.KindScalability:
			var d bench.ScalabilityDoc
			if err = json.Unmarshal(run.Document, &d); err == nil {
				r.addScalability(run, &d)
			}
		case store.KindMemory:
			var d bench.MemoryDoc
			if err = json.Unmarshal(run.Document, &d); err == nil {
				r.addMemory(run, &d)
			}
		case store.KindCompare:
			var d bench.CompareDoc
			if err = json.Unmarshal(run.Document, &d); err == nil {
				r.addCompare(run, &d)
			}
		case store.KindLoadTest:
			var d loadDoc
			if err = json.Unmarshal(run.Document, &d); err == nil {
				if why := r.addLoadTest(run, &d); why != "" {
					err = errors.New(why)
				}
			}
		case store.KindSearch:
			var d searchDoc
			if err = json.Unmarshal(run.Document, &d); err == nil {
				if why := r.addSearch(run, &d); why != "" {
					err = errors.New(why)
				}
			}
		case store.KindTune:
			var d tuneDoc
			if err = json.Unmarshal(run.Document, &d); err == nil {
				if why := r.addTune(run, &d); why != "" {
					err = errors.New(why)
				}
			}
		default:
			err = fmt.Errorf("unknown kind")
		}
		if err != nil {
			r.Skipped = append(r.Skipped, SkippedDocument{ID: run.ID, Kind: run.Kind, Reason: err.Error()})
		}
	}
}

func suiteID(run *store.BenchmarkRun, h bench.Header) string {
	return clip(cmp.Or(h.SuiteID, run.SuiteID))
}

func (r *Report) addBenchmark(run *store.BenchmarkRun, d *bench.BenchmarkDoc) {
	b := Benchmark{SuiteID: suiteID(run, d.Header), Name: clip(d.Name), CreatedAt: run.CreatedAt, Cells: []BenchCell{}}
	for _, c := range d.Cells[:min(len(d.Cells), maxDocRows)] {
		bc := BenchCell{ID: clip(c.ID), Algorithm: clip(c.Algorithm), Rows: c.Rows, Cols: c.Cols, Contamination: c.Contamination,
			Status: clip(c.Status), Throughput: c.Throughput}
		if c.Total != nil {
			bc.Seconds, bc.CILow, bc.CIHigh = c.Total.Median, c.Total.CILow, c.Total.CIHigh
		}
		if c.Accuracy != nil {
			v := c.Accuracy.ROCAUC
			bc.ROCAUC = &v
		}
		b.Cells = append(b.Cells, bc)
	}
	r.Benchmarks = append(r.Benchmarks, b)
	for _, f := range d.Scalability[:min(len(d.Scalability), maxDocRows)] {
		c := Curve{Source: "benchmark", SuiteID: b.SuiteID, CreatedAt: run.CreatedAt, Algorithm: clip(f.Algorithm), Cols: f.Cols,
			Basis: "wall", Points: []CurvePoint{}}
		for i, n := range f.Sizes {
			if i < len(f.Seconds) && len(c.Points) < maxDocRows {
				c.Points = append(c.Points, CurvePoint{Rows: n, Seconds: f.Seconds[i]})
			}
			c.LargestRows = max(c.LargestRows, n)
		}
		c.setFit(&f.Total)
		r.Scalability = append(r.Scalability, c)
	}
}

func (c *Curve) setFit(x *bench.Complexity) {
	if x == nil {
		return
	}
	c.Pattern, c.A, c.B = clip(x.Best.Pattern), x.Best.A, x.Best.B
	c.Exponent, c.R2, c.Grade, c.Predicted10x = x.Exponent, x.R2, clip(x.Grade), x.Predicted10x
}

func (r *Report) addScalability(run *store.BenchmarkRun, d *bench.ScalabilityDoc) {
	c := Curve{Source: "scalability", SuiteID: suiteID(run, d.Header), CreatedAt: run.CreatedAt, Algorithm: clip(d.Config.Algorithm.Name),
		Cols: d.Config.Dims, Basis: clip(cmp.Or(d.Basis, "cpu")), Points: []CurvePoint{}, LargestRows: d.LargestRows}
	for _, p := range d.Points[:min(len(d.Points), maxDocRows)] {
		s := p.Total
		if c.Basis == "cpu" {
			s = p.CPU
		}
		if p.Status == bench.StatusOK && s != nil {
			c.Points = append(c.Points, CurvePoint{Rows: p.Rows, Seconds: s.Median})
		}
	}
	if c.Basis == "cpu" {
		c.setFit(d.CPU)
	} else {
		c.setFit(d.Total)
	}
	c.Pattern, c.Exponent, c.R2, c.Grade, c.Predicted10x = cmp.Or(clip(d.Pattern), c.Pattern), d.Exponent, d.R2, cmp.Or(clip(d.Grade), c.Grade), d.Predicted10x
	r.Scalability = append(r.Scalability, c)
}

func (r *Report) addMemory(run *store.BenchmarkRun, d *bench.MemoryDoc) {
	m := MemoryTest{SuiteID: suiteID(run, d.Header), CreatedAt: run.CreatedAt, Algorithm: clip(d.Config.Algorithm.Name),
		StopReason: clip(d.StopReason), KillAtBytes: d.KillAtBytes, LargestRows: d.LargestRows, FitBytesPerRow: d.FitBytesPerRow,
		FitPeakBytesPerRow: d.FitPeakBytesPerRow, RSSBytesPerRow: d.RSSBytesPerRow, GrowthClass: clip(d.GrowthClass), Steps: []MemoryStep{}}
	for _, s := range d.Steps[:min(len(d.Steps), maxDocRows)] {
		m.Steps = append(m.Steps, MemoryStep{Rows: s.Rows, Status: clip(s.Status), PeakRSS: s.PeakRSS, FitPeakHeap: s.FitPeakHeap})
	}
	r.Memory = append(r.Memory, m)
}

func (r *Report) addCompare(run *store.BenchmarkRun, d *bench.CompareDoc) {
	c := Comparison{SuiteID: suiteID(run, d.Header), CreatedAt: run.CreatedAt, Dataset: clip(d.Config.Dataset), Rows: d.Rows, Cols: d.Cols,
		Algorithms: []ComparedAlg{}, ParetoFront: []string{}, Significant: []SignificantPair{}}
	for _, a := range d.ParetoFront[:min(len(d.ParetoFront), maxDocRows)] {
		c.ParetoFront = append(c.ParetoFront, clip(a))
	}
	for _, e := range d.Entries[:min(len(d.Entries), maxDocRows)] {
		a := ComparedAlg{Algorithm: clip(e.Algorithm), Status: clip(e.Status), Rank: e.Rank, Pareto: e.Pareto, Throughput: e.Throughput}
		if e.Accuracy != nil {
			roc, ap := e.Accuracy.ROCAUC, e.Accuracy.AveragePrecision
			a.ROCAUC, a.AveragePrecision = &roc, &ap
		}
		if e.Total != nil {
			a.Seconds, a.CILow, a.CIHigh = e.Total.Median, e.Total.CILow, e.Total.CIHigh
		}
		c.Algorithms = append(c.Algorithms, a)
	}
	// Best rank first; failed ones (rank 0) last.
	slices.SortStableFunc(c.Algorithms, func(a, b ComparedAlg) int {
		return cmp.Compare(rankKey(a.Rank), rankKey(b.Rank))
	})
	for _, p := range d.Pairs {
		if p.Significant && len(c.Significant) < maxDocRows {
			slower := p.A
			if p.Faster == p.A {
				slower = p.B
			}
			c.Significant = append(c.Significant, SignificantPair{Faster: clip(p.Faster), Slower: clip(slower), Ratio: p.Ratio, P: p.P})
		}
	}
	r.Comparisons = append(r.Comparisons, c)
}

func rankKey(r int) int {
	if r <= 0 {
		return math.MaxInt
	}
	return r
}
