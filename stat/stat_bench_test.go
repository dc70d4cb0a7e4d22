package stat

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// sample returns n values of which about a quarter repeat another, so ranks meet ties.
func sample(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = rng.NormFloat64()
		if i > 0 && rng.IntN(4) == 0 {
			xs[i] = xs[rng.IntN(i)]
		}
	}
	return xs
}

var sink float64

func BenchmarkQuantile(b *testing.B) {
	for _, n := range []int{100, 10_000, 1_000_000} {
		xs := sample(n, 1)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = Quantile(xs, 0.9)
			}
		})
	}
}

func BenchmarkRanks(b *testing.B) {
	for _, n := range []int{100, 10_000, 1_000_000} {
		xs := sample(n, 2)
		dst := make([]float64, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Ranks(dst, xs)
			}
		})
	}
}

func BenchmarkSpearman(b *testing.B) {
	for _, n := range []int{100, 10_000, 1_000_000} {
		x, y := sample(n, 3), sample(n, 4)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = Spearman(x, y)
			}
		})
	}
}

// BenchmarkMannWhitneyU covers the exact tail (5 and 7 untied values, bench's compare with
// default iterations) and the normal approximation.
func BenchmarkMannWhitneyU(b *testing.B) {
	for _, c := range []struct{ n1, n2 int }{{5, 5}, {7, 7}, {30, 30}, {10_000, 10_000}} {
		x, y := sample(c.n1, 5), sample(c.n2, 6)
		if c.n1 < 8 {
			x, y = untied(c.n1, 5), untied(c.n2, 6)
		}
		b.Run(fmt.Sprintf("%dx%d", c.n1, c.n2), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink, _ = MannWhitneyU(x, y)
			}
		})
	}
}

func untied(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 2))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	return xs
}
