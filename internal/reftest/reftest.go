// Package reftest loads the labelled benchmark datasets and scikit-learn's reference outputs that
// the detectors' accuracy tests compare against.
//
// By default it reads the small subset copied into the repository's testdata/. When the
// environment variable GONOMALY_REFERENCE_DIR names a directory laid out like the project's
// shared data (DIR/datasets/adbench/NAME.csv and DIR/reference/sklearn/NAME.*), every dataset
// there is used instead, as CI does.
package reftest

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/detectortest"
	"github.com/gonomaly/gonomaly/eval"
)

// EnvDir is the environment variable naming a full reference directory.
const EnvDir = "GONOMALY_REFERENCE_DIR"

// Root returns the reference root directory in use and whether it is the full one.
func Root() (dir string, full bool) {
	if d := os.Getenv(EnvDir); d != "" {
		return d, true
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata"), false
}

// Names returns the names of the datasets available, sorted.
func Names(t testing.TB) []string {
	t.Helper()
	dir, _ := Root()
	files, err := filepath.Glob(filepath.Join(dir, "datasets", "adbench", "*.csv"))
	if err != nil || len(files) == 0 {
		t.Fatalf("reftest: no datasets under %s (err %v)", dir, err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".csv"))
	}
	slices.Sort(names)
	return names
}

// Dataset is one labelled dataset with scikit-learn's summary of it.
type Dataset struct {
	Name    string
	X       *dataset.Matrix
	Labels  []int
	Summary Summary
}

// Summary is NAME.summary.json: per algorithm, scikit-learn's metrics and timings.
type Summary struct {
	Rows       int                           `json:"rows"`
	Cols       int                           `json:"cols"`
	Outliers   int                           `json:"outliers"`
	Algorithms map[string]map[string]float64 `json:"algorithms"`
}

// Load reads dataset name and its summary.
func Load(t testing.TB, name string) *Dataset {
	t.Helper()
	dir, _ := Root()
	tab, err := dataset.ReadCSVFile(filepath.Join(dir, "datasets", "adbench", name+".csv"), dataset.CSVOptions{Label: "label"})
	if err != nil {
		t.Fatalf("reftest: %v", err)
	}
	d := &Dataset{Name: name, X: tab.X, Labels: tab.Labels}
	b, err := os.ReadFile(filepath.Join(dir, "reference", "sklearn", name+".summary.json"))
	if err != nil {
		t.Fatalf("reftest: %v", err)
	}
	if err := json.Unmarshal(b, &d.Summary); err != nil {
		t.Fatalf("reftest: %s.summary.json: %v", name, err)
	}
	return d
}

// Scores reads scikit-learn's scores of algorithm algo on dataset name, or returns nil if the
// reference has none (one_class_svm is only computed up to 20,000 rows).
func Scores(t testing.TB, name, algo string) []float64 {
	t.Helper()
	dir, _ := Root()
	f, err := os.Open(filepath.Join(dir, "reference", "sklearn", name+"."+algo+".scores.csv"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("reftest: %v", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("reftest: %s.%s: %v", name, algo, err)
	}
	out := make([]float64, 0, len(recs))
	for _, r := range recs[1:] {
		v, err := strconv.ParseFloat(r[0], 64)
		if err != nil {
			t.Fatalf("reftest: %s.%s: %v", name, algo, err)
		}
		out = append(out, v)
	}
	return out
}

// Each runs f as a subtest for every dataset with scikit-learn's scores of algorithm algo,
// giving it the dataset and those scores; a dataset without them is skipped.
func Each(t *testing.T, algo string, f func(t *testing.T, ds *Dataset, want []float64)) {
	t.Helper()
	for _, name := range Names(t) {
		t.Run(name, func(t *testing.T) {
			want := Scores(t, name, algo)
			if want == nil {
				t.Skipf("no %s reference scores", algo)
			}
			f(t, Load(t, name), want)
		})
	}
}

// Ranks returns how got ranks the rows next to the reference's want: their Spearman
// correlation, and the ROC-AUC of each against labels (failing t if either cannot be computed).
func Ranks(t testing.TB, labels []int, got, want []float64) (rho, aucGot, aucWant float64) {
	t.Helper()
	aucGot, err := eval.ROCAUC(labels, got)
	if err != nil {
		t.Fatal(err)
	}
	aucWant, err = eval.ROCAUC(labels, want)
	if err != nil {
		t.Fatal(err)
	}
	return eval.Spearman(got, want), aucGot, aucWant
}

// RelClose returns the share of positions where got and want agree to within rel relative
// error (absolute error rel where want is 0), and the index of the worst disagreement.
func RelClose(got, want []float64, rel float64) (share float64, worst int) {
	ok := 0
	worstErr := -1.0
	for i := range want {
		den := max(abs(want[i]), 1e-300)
		e := abs(got[i]-want[i]) / den
		if want[i] == 0 {
			e = abs(got[i])
		}
		if e <= rel {
			ok++
		}
		if e > worstErr {
			worstErr, worst = e, i
		}
	}
	return float64(ok) / float64(len(want)), worst
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// BenchSets returns a synthetic rows x cols set (dataset.Synthetic, 5 % outliers, seed 1) and,
// when the full reference directory is given, those of the named datasets it holds: the data
// that BENCHMARKS.md times side by side with scikit-learn.
func BenchSets(b testing.TB, rows, cols int, names ...string) []detectortest.BenchSet {
	b.Helper()
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: rows, Cols: cols, Contamination: 0.05, Seed: 1})
	sets := []detectortest.BenchSet{{Name: fmt.Sprintf("synthetic-%dx%d", rows, cols), X: X}}
	if _, full := Root(); !full {
		b.Logf("%s not set: benchmarking synthetic data only", EnvDir)
		return sets
	}
	have := Names(b)
	for _, n := range names {
		if slices.Contains(have, n) {
			sets = append(sets, detectortest.BenchSet{Name: n, X: Load(b, n).X})
		}
	}
	return sets
}
