package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// SyntheticConfig describes labelled synthetic data: Gaussian inlier clusters plus uniformly
// scattered outliers.
type SyntheticConfig struct {
	Rows          int
	Cols          int
	Contamination float64 // share of outlier rows, in [0, 1)
	Clusters      int     // inlier clusters; 0 means 3
	Seed          uint64
}

// Synthetic returns a seeded synthetic dataset and its labels (1 = outlier). Inliers are drawn
// from Clusters Gaussian blobs (unit variance, centres uniform in [-10, 10]^d); outliers uniformly
// from the box [-20, 20]^d. The outliers are spread through the rows in a seeded order. The same
// config always gives the same data.
func Synthetic(cfg SyntheticConfig) (*Matrix, []int) {
	if cfg.Rows < 0 || cfg.Cols < 1 || cfg.Contamination < 0 || cfg.Contamination >= 1 {
		panic(fmt.Sprintf("dataset: Synthetic(%+v): invalid config", cfg))
	}
	k := cfg.Clusters
	if k <= 0 {
		k = 3
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x676f6e6f6d616c79))
	centres := make([]float64, k*cfg.Cols)
	for i := range centres {
		centres[i] = rng.Float64()*20 - 10
	}
	X := NewMatrix(cfg.Rows, cfg.Cols)
	labels := make([]int, cfg.Rows)
	nOut := int(math.Round(cfg.Contamination * float64(cfg.Rows)))
	for _, i := range rng.Perm(cfg.Rows)[:nOut] {
		labels[i] = 1
	}
	for i := 0; i < cfg.Rows; i++ {
		row := X.Row(i)
		if labels[i] == 1 {
			for j := range row {
				row[j] = rng.Float64()*40 - 20
			}
			continue
		}
		c := centres[rng.IntN(k)*cfg.Cols:]
		for j := range row {
			row[j] = c[j] + rng.NormFloat64()
		}
	}
	return X, labels
}
