package detector

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gonomaly/gonomaly/detector/ecod"
	"github.com/gonomaly/gonomaly/detector/hbos"
	"github.com/gonomaly/gonomaly/detector/iforest"
	"github.com/gonomaly/gonomaly/detector/knn"
	"github.com/gonomaly/gonomaly/detector/lof"
	"github.com/gonomaly/gonomaly/detector/ocsvm"
)

// Algorithm is a registered detection algorithm: its name, its parameters and a constructor.
type Algorithm struct {
	Name    string
	Summary string
	Params  []ParamSpec
	// Seeded reports that the algorithm is random and takes a "seed" parameter.
	Seeded bool
	New    func(Params) (Detector, error)
	// CostParams are the parameters that drive the cost of a fit, named with their values
	// when Model.CheckBudget refuses one; CostAdvice says what to change.
	CostParams []string
	CostAdvice string
	// Overflow says what overflows float64 when the data's values are too large for the
	// algorithm, for the message of ErrOverflow.
	Overflow string
}

var registry []*Algorithm

// Register adds an algorithm. It panics on a duplicate name (a programming error).
func Register(a Algorithm) {
	if _, err := Lookup(a.Name); err == nil {
		panic("detector: Register called twice for " + a.Name)
	}
	registry = append(registry, &a)
	slices.SortFunc(registry, func(x, y *Algorithm) int { return strings.Compare(x.Name, y.Name) })
}

// Lookup returns the named algorithm, or an error listing the registered names.
func Lookup(name string) (*Algorithm, error) {
	for _, a := range registry {
		if a.Name == name {
			return a, nil
		}
	}
	return nil, fmt.Errorf("detector: %q: %w (valid: %s)", name, ErrUnknown, strings.Join(Names(), ", "))
}

// Names returns the registered algorithm names, sorted.
func Names() []string {
	names := make([]string, len(registry))
	for i, a := range registry {
		names[i] = a.Name
	}
	return names
}

// Algorithms returns the registered algorithms, sorted by name.
func Algorithms() []*Algorithm { return slices.Clone(registry) }

func init() {
	Register(Algorithm{
		Name:    "isolation_forest",
		Summary: "Isolation Forest (Liu et al. 2008): score 2^(-E[h(x)]/c(psi)) in (0, 1]",
		Seeded:  true,
		Params: []ParamSpec{
			{Name: "n_estimators", Kind: Int, Default: iforest.DefaultTrees, Min: 1, Max: 100000, Doc: "number of trees"},
			{Name: "max_samples", Kind: FloatOrChoice, Default: "auto", Choices: []string{"auto"}, Min: 0, MinOpen: true,
				Doc: "rows drawn per tree: auto = min(256, n); a value in (0, 1] is a share of the rows, above 1 a count"},
			{Name: "max_features", Kind: Float, Default: iforest.DefaultMaxFeatures, Min: 0, MinOpen: true,
				Doc: "features drawn per tree: a value in (0, 1] is a share of the columns, above 1 a count"},
			{Name: "bootstrap", Kind: Bool, Default: false, Doc: "draw rows with replacement"},
			{Name: "seed", Kind: Int, Default: 0, Min: 0, Doc: "random seed; the same seed gives the same scores on any number of cores"},
		},
		CostParams: []string{"n_estimators", "max_samples"},
		CostAdvice: "lower n_estimators or max_samples",
		Overflow:   "its trees split in float32, whose range ends at ±3.4e38",
		New: func(p Params) (Detector, error) {
			ms := p.Float("max_samples") // 0 when "auto"
			for _, name := range []string{"max_samples", "max_features"} {
				if v := p.Float(name); v > 1 && v != math.Trunc(v) {
					return nil, fmt.Errorf("%s=%v: %w: above 1 it is a count and must be a whole number (or a share in (0, 1])", name, v, ErrBadParameter)
				} else if v > 1<<40 {
					return nil, fmt.Errorf("%s=%v: %w: too large (a count of at most 2^40)", name, v, ErrBadParameter)
				}
			}
			return iforest.New(iforest.Config{
				Trees: p.Int("n_estimators"), MaxSamples: ms, MaxFeatures: p.Float("max_features"),
				Bootstrap: p.Bool("bootstrap"), Seed: uint64(p.Int("seed")),
			})
		},
	})
	Register(Algorithm{
		Name:    "local_outlier_factor",
		Summary: "Local Outlier Factor (Breunig et al. 2000), euclidean; training rows as neighbours for new rows",
		Params: []ParamSpec{
			{Name: "n_neighbors", Kind: Int, Default: lof.DefaultNeighbors, Min: 1, Max: 100000, Doc: "neighbours per row"},
		},
		CostParams: []string{"n_neighbors"},
		CostAdvice: "lower n_neighbors or fit on fewer rows",
		Overflow:   "distances overflow float64",
		New: func(p Params) (Detector, error) {
			return lof.New(lof.Config{Neighbors: p.Int("n_neighbors")})
		},
	})
	Register(Algorithm{
		Name:    "one_class_svm",
		Summary: "One-class SVM with an RBF kernel (Schoelkopf et al. 2001), libsvm-style SMO; score = -decision_function",
		Params: []ParamSpec{
			{Name: "gamma", Kind: FloatOrChoice, Default: "scale", Choices: []string{"scale", "auto"}, Min: 0, MinOpen: true,
				Doc: "RBF width: scale = 1/(d*Var(X)), auto = 1/d, or a positive number"},
			{Name: "nu", Kind: Float, Default: ocsvm.DefaultNu, Min: 0, MinOpen: true, Max: 1, Doc: "upper bound on the share of training errors"},
			{Name: "tol", Kind: Float, Default: ocsvm.DefaultTol, Min: 0, MinOpen: true, Doc: "stopping tolerance"},
			{Name: "cache_size_mb", Kind: Int, Default: ocsvm.DefaultCacheMB, Min: 1, Max: 1 << 20, Doc: "kernel cache size in MiB"},
			{Name: "shrinking", Kind: Bool, Default: true, Doc: "use the shrinking heuristic"},
			{Name: "max_iter", Kind: Int, Default: 0, Min: 0, Doc: "iteration cap (0 = none but libsvm's own)"},
		},
		CostParams: []string{"cache_size_mb"},
		CostAdvice: "fit on fewer rows (time grows with their square) or lower cache_size_mb",
		Overflow:   "squared norms and kernel arguments overflow float64",
		New: func(p Params) (Detector, error) {
			return ocsvm.New(ocsvm.Config{
				Gamma: p.Float("gamma"), GammaAuto: p.String("gamma") == "auto", Nu: p.Float("nu"), Tol: p.Float("tol"),
				CacheMB: p.Int("cache_size_mb"), NoShrinking: !p.Bool("shrinking"), MaxIter: p.Int("max_iter"),
			})
		},
	})
	Register(Algorithm{
		Name:    "knn",
		Summary: "k-nearest-neighbour distance (Ramaswamy et al. 2000), euclidean",
		Params: []ParamSpec{
			{Name: "n_neighbors", Kind: Int, Default: knn.DefaultNeighbors, Min: 1, Max: 100000, Doc: "k"},
			{Name: "method", Kind: Choice, Default: knn.Largest, Choices: []string{knn.Largest, knn.Mean, knn.Median},
				Doc: "distance to the k-th neighbour, or the mean or median of the k distances"},
		},
		CostParams: []string{"n_neighbors"},
		CostAdvice: "lower n_neighbors or fit on fewer rows",
		Overflow:   "distances overflow float64",
		New: func(p Params) (Detector, error) {
			return knn.New(knn.Config{Neighbors: p.Int("n_neighbors"), Method: p.String("method")})
		},
	})
	Register(Algorithm{
		Name:    "hbos",
		Summary: "Histogram-based outlier score (Goldstein & Dengel 2012), PyOD's definition",
		Params: []ParamSpec{
			{Name: "n_bins", Kind: Int, Default: hbos.DefaultBins, Min: 2, Max: 1 << 20, Doc: "bins per feature"},
			{Name: "alpha", Kind: Float, Default: hbos.DefaultAlpha, Min: 0, MinOpen: true, Doc: "added to each density before the log"},
			{Name: "tol", Kind: Float, Default: hbos.DefaultTol, Min: 0, Doc: "how far outside the range, in bin widths, a value still takes the edge bin"},
		},
		CostParams: []string{"n_bins"},
		CostAdvice: "lower n_bins or fit on fewer columns",
		Overflow:   "a column's range overflows float64",
		New: func(p Params) (Detector, error) {
			return hbos.New(hbos.Config{Bins: p.Int("n_bins"), Alpha: p.Float("alpha"), Tol: p.Float("tol")})
		},
	})
	Register(Algorithm{
		Name:       "ecod",
		Summary:    "Empirical-CDF outlier detection (Li et al. 2022), parameter-free",
		CostAdvice: "fit on fewer rows or columns",
		New: func(p Params) (Detector, error) {
			return ecod.New(ecod.Config{})
		},
	})
}
