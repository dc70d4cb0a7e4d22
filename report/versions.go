package report

import (
	"cmp"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/gonomaly/gonomaly/bench"
	"github.com/gonomaly/gonomaly/stat"
	"github.com/gonomaly/gonomaly/store"
)

// Verdicts of VersionCell.Verdict.
const (
	VerdictRegression  = "regression"
	VerdictImprovement = "improvement"
	VerdictSame        = "~"
)

// versionAlpha is the significance level at which a change between versions is called one,
// benchstat's default.
const versionAlpha = 0.05

// Versions compares the period's benchmark runs by the build they were measured with
// (bench.Header.Build: the module version, commit and +dirty, see bench.BuildVersion), as
// benchstat compares two sets of runs.
type Versions struct {
	// Builds are the builds the period's benchmark runs were measured with, newest run first.
	Builds []BuildRuns `json:"builds"`
	// Old and New are the two newest builds, compared cell by cell in Cells; empty, and Cells
	// empty, with fewer than two builds.
	Old   string        `json:"old,omitempty"`
	New   string        `json:"new,omitempty"`
	Cells []VersionCell `json:"cells"`
}

// BuildRuns is one build's benchmark runs in the period.
type BuildRuns struct {
	Build           string    `json:"build"`
	GonomalyVersion string    `json:"gonomaly_version"`
	Runs            int       `json:"runs"`
	Newest          time.Time `json:"newest_run"`
}

// Sample kinds of VersionCell.Samples.
const (
	SamplesIterations = "iterations"  // every run kept its iterations' times
	SamplesRuns       = "run_medians" // no run did (documents older than the samples)
	SamplesMixed      = "mixed"       // some runs did
)

// VersionCell is one benchmark cell (algorithm, size, width, contamination) measured by both
// compared builds. Each side's samples are, as benchstat pools them, the per-iteration total
// (fit + score) seconds of every run of the cell with the build (bench.Cell.Samples); a run
// stored before cells kept their iterations gives its median as one sample. With iterations,
// one run a side of 4 or more iterations is enough for p < 0.05; with medians only, 4 runs a
// side are needed.
type VersionCell struct {
	Algorithm     string  `json:"algorithm"`
	Rows          int     `json:"rows"`
	Cols          int     `json:"cols"`
	Contamination float64 `json:"contamination"`
	// OldN and NewN count each side's samples; Samples says what they are: iterations,
	// run_medians or mixed.
	OldN    int    `json:"old_n"`
	NewN    int    `json:"new_n"`
	Samples string `json:"samples"`
	// OldSeconds and NewSeconds are the medians of each side's samples; ChangePercent is
	// 100 (new - old) / old.
	OldSeconds    float64 `json:"old_seconds_median"`
	NewSeconds    float64 `json:"new_seconds_median"`
	ChangePercent float64 `json:"change_percent"`
	// P is stat.MannWhitneyU's two-sided p-value of the two sides' samples (nil when it is
	// undefined).
	P *float64 `json:"p_value"`
	// Verdict is regression (slower) or improvement (faster) when P < 0.05, else "~".
	Verdict string `json:"verdict"`
	// Machines counts the machines (bench.BenchmarkDoc.MachineID) the two sides' samples were
	// measured on; with more than one, Warning says the timings are not comparable across them.
	Machines int    `json:"machines"`
	Warning  string `json:"warning,omitempty"`
}

type cellKey struct {
	alg           string
	rows, cols    int
	contamination float64
}

// versions reads the benchmark runs' builds and compares the two newest builds' cells.
func versions(runs []*store.BenchmarkRun) Versions {
	v := Versions{Builds: []BuildRuns{}, Cells: []VersionCell{}}
	builds := map[string]*BuildRuns{}
	samples := map[string]map[cellKey][]float64{}
	// kinds records, per build and cell, whether its runs gave iterations (1), medians (2)
	// or both (3).
	kinds := map[string]map[cellKey]int{}
	// machines records, per build and cell, the machines its samples were measured on.
	machines := map[string]map[cellKey]map[string]bool{}
	for _, run := range runs {
		if run.Kind != store.KindBenchmark {
			continue
		}
		var d bench.BenchmarkDoc
		if json.Unmarshal(run.Document, &d) != nil {
			continue // addRuns lists it as skipped
		}
		b := clip(cmp.Or(d.Build, "unknown"))
		br := builds[b]
		if br == nil {
			br = &BuildRuns{Build: b, GonomalyVersion: clip(d.GonomalyVersion)}
			builds[b], samples[b], kinds[b] = br, map[cellKey][]float64{}, map[cellKey]int{}
			machines[b] = map[cellKey]map[string]bool{}
		}
		br.Runs++
		if run.CreatedAt.After(br.Newest) {
			br.Newest, br.GonomalyVersion = run.CreatedAt, clip(d.GonomalyVersion)
		}
		for i := range min(len(d.Cells), maxDocRows) {
			c := &d.Cells[i]
			if c.Status == bench.StatusOK && c.Total != nil && c.Total.Median > 0 {
				k := cellKey{clip(c.Algorithm), c.Rows, c.Cols, c.Contamination}
				if machines[b][k] == nil {
					machines[b][k] = map[string]bool{}
				}
				machines[b][k][d.MachineID(c)] = true
				if its := iterationSamples(c.Samples); len(its) > 0 {
					samples[b][k] = append(samples[b][k], its...)
					kinds[b][k] |= 1
				} else {
					samples[b][k] = append(samples[b][k], c.Total.Median)
					kinds[b][k] |= 2
				}
			}
		}
	}
	for _, br := range builds {
		v.Builds = append(v.Builds, *br)
	}
	slices.SortFunc(v.Builds, func(a, b BuildRuns) int {
		return cmp.Or(b.Newest.Compare(a.Newest), cmp.Compare(a.Build, b.Build))
	})
	if len(v.Builds) < 2 {
		return v
	}
	v.New, v.Old = v.Builds[0].Build, v.Builds[1].Build
	olds, news := samples[v.Old], samples[v.New]
	keys := slices.SortedFunc(maps.Keys(news), func(a, b cellKey) int {
		return cmp.Or(cmp.Compare(a.alg, b.alg), cmp.Compare(a.rows, b.rows), cmp.Compare(a.cols, b.cols),
			cmp.Compare(a.contamination, b.contamination))
	})
	for _, k := range keys {
		o, n := olds[k], news[k]
		if len(o) == 0 {
			continue
		}
		c := VersionCell{Algorithm: k.alg, Rows: k.rows, Cols: k.cols, Contamination: k.contamination, OldN: len(o), NewN: len(n),
			OldSeconds: stat.Median(o), NewSeconds: stat.Median(n), Verdict: VerdictSame}
		switch kinds[v.Old][k] | kinds[v.New][k] {
		case 1:
			c.Samples = SamplesIterations
		case 2:
			c.Samples = SamplesRuns
		default:
			c.Samples = SamplesMixed
		}
		ms := maps.Clone(machines[v.Old][k])
		maps.Copy(ms, machines[v.New][k])
		if c.Machines = len(ms); c.Machines > 1 {
			c.Warning = bench.MachinesWarning(c.Machines)
		}
		c.ChangePercent = 100 * (c.NewSeconds - c.OldSeconds) / c.OldSeconds
		if _, p := stat.MannWhitneyU(o, n); !math.IsNaN(p) {
			c.P = &p
			if p < versionAlpha {
				c.Verdict = VerdictImprovement
				if c.NewSeconds > c.OldSeconds {
					c.Verdict = VerdictRegression
				}
			}
		}
		v.Cells = append(v.Cells, c)
	}
	return v
}

// iterationSamples are a cell's stored iteration times that can be compared: positive and
// finite, at most bench.MaxSamples of them (a document is outside input).
func iterationSamples(xs []float64) []float64 {
	var out []float64
	for _, x := range xs {
		if x > 0 && !math.IsInf(x, 0) && len(out) < bench.MaxSamples {
			out = append(out, x)
		}
	}
	return out
}
