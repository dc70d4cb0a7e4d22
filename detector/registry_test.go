package detector

import (
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/detectortest"
	"github.com/gonomaly/gonomaly/detector/ecod"
	"github.com/gonomaly/gonomaly/detector/hbos"
	"github.com/gonomaly/gonomaly/detector/iforest"
	"github.com/gonomaly/gonomaly/detector/knn"
	"github.com/gonomaly/gonomaly/detector/lof"
	"github.com/gonomaly/gonomaly/detector/ocsvm"
)

// The registry's defaults are the algorithm packages' own: each parameter's Default is the
// package's exported constant, of the Go type its Kind reads (an int default for a Float
// parameter would read as 0), and a detector built from the registry with no parameters
// scores exactly as the package's default configuration.
func TestRegistryDefaultsAreThePackages(t *testing.T) {
	for _, tc := range []struct {
		alg, param string
		want       any
	}{
		{"isolation_forest", "n_estimators", iforest.DefaultTrees},
		{"isolation_forest", "max_features", iforest.DefaultMaxFeatures},
		{"local_outlier_factor", "n_neighbors", lof.DefaultNeighbors},
		{"one_class_svm", "nu", ocsvm.DefaultNu},
		{"one_class_svm", "tol", ocsvm.DefaultTol},
		{"one_class_svm", "cache_size_mb", ocsvm.DefaultCacheMB},
		{"knn", "n_neighbors", knn.DefaultNeighbors},
		{"knn", "method", knn.Largest},
		{"hbos", "n_bins", hbos.DefaultBins},
		{"hbos", "alpha", hbos.DefaultAlpha},
		{"hbos", "tol", hbos.DefaultTol},
	} {
		a, err := Lookup(tc.alg)
		if err != nil {
			t.Fatal(err)
		}
		p, err := a.ParseParams(nil)
		if err != nil {
			t.Fatal(err)
		}
		if p[tc.param] != tc.want {
			t.Errorf("%s %s: registry default %#v, package default %#v", tc.alg, tc.param, p[tc.param], tc.want)
		}
	}

	// The package's default configuration: the zero Config, except hbos, whose Tol of 0 is
	// taken literally.
	pkg := map[string]func() (Detector, error){
		"isolation_forest":     func() (Detector, error) { return iforest.New(iforest.Config{}) },
		"local_outlier_factor": func() (Detector, error) { return lof.New(lof.Config{}) },
		"one_class_svm":        func() (Detector, error) { return ocsvm.New(ocsvm.Config{}) },
		"knn":                  func() (Detector, error) { return knn.New(knn.Config{}) },
		"hbos":                 func() (Detector, error) { return hbos.New(hbos.Config{Tol: hbos.DefaultTol}) },
		"ecod":                 func() (Detector, error) { return ecod.New(ecod.Config{}) },
	}
	X, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 300, Cols: 4, Contamination: 0.05, Seed: 7})
	Q, _ := dataset.Synthetic(dataset.SyntheticConfig{Rows: 60, Cols: 4, Contamination: 0.3, Seed: 8})
	scores := func(t *testing.T, newDetector func() (Detector, error)) []float64 {
		t.Helper()
		d, err := newDetector()
		if err != nil {
			t.Fatal(err)
		}
		return detectortest.Score(t, detectortest.Fit(t, d, X), Q)
	}
	for _, a := range Algorithms() {
		t.Run(a.Name, func(t *testing.T) {
			newPkg, ok := pkg[a.Name]
			if !ok {
				t.Fatalf("no package default for %s in this test", a.Name)
			}
			p, err := a.ParseParams(nil)
			if err != nil {
				t.Fatal(err)
			}
			want := scores(t, newPkg)
			got := scores(t, func() (Detector, error) { return a.New(p) })
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("row %d: the registry's defaults score %v, the package's %v", i, got[i], want[i])
				}
			}
		})
	}
}
