package stat

import (
	"math"
	"slices"
)

// Ranks writes into dst the 1-based ranks of xs, tied values sharing the average of the ranks
// they span (scipy.stats.rankdata with method="average"), and returns dst. If xs holds a NaN,
// every rank is NaN (rankdata's nan_policy="propagate"). If dst is nil a new slice is allocated;
// otherwise Ranks panics with "stat: ranks: dst length mismatch" unless len(dst) == len(xs).
// dst must not share memory with xs. xs is not modified.
func Ranks(dst, xs []float64) []float64 {
	if dst == nil {
		dst = make([]float64, len(xs))
	}
	if len(dst) != len(xs) {
		panic("stat: ranks: dst length mismatch")
	}
	ranks(dst, xs, make([]int, len(xs)))
	return dst
}

// ranks writes the average ranks of xs into r (both of one length) with idx as scratch space
// of that length, and returns the tie term sum(t^3 - t) over the groups of t tied values. With a
// NaN in xs, every rank and the tie term are NaN.
func ranks(r, xs []float64, idx []int) (tie float64) {
	if hasNaN(xs) {
		for i := range r {
			r[i] = math.NaN()
		}
		return math.NaN()
	}
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int {
		switch {
		case xs[i] < xs[j]:
			return -1
		case xs[i] > xs[j]:
			return 1
		}
		return 0
	})
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && xs[idx[j]] == xs[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2
		for k := i; k < j; k++ {
			r[idx[k]] = avg
		}
		t := float64(j - i)
		tie += t*t*t - t
		i = j
	}
	return tie
}

func hasNaN(xs []float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) {
			return true
		}
	}
	return false
}
