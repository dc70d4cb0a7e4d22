package stat

import (
	"math"
	"slices"
	"sort"
)

// Histogram summarises a sample so that later samples can be compared with it (PSIFromCounts,
// KSFromCounts): Counts[i] values fell in bin i of the bins cut at the sorted inner Edges, so
// len(Counts) == len(Edges)+1. Bin i holds the values x with Edges[i-1] < x <= Edges[i], the
// first bin everything up to Edges[0] and the last everything above the last edge (BinCounts'
// rule, closed on the right as pandas.cut): a value equal to an edge goes to the bin on its
// left. Tied values may give equal edges; the bins between them stay empty, and every later
// value is still counted by the same rule, so counts of training and of live data agree.
type Histogram struct {
	Edges  []float64
	Counts []float64
}

// Bin returns the bin of x: the number of edges below x, as sort.SearchFloat64s(h.Edges, x)
// finds it, in [0, len(h.Edges)]; a NaN falls in the last bin (BinCounts skips NaN; a caller
// counting values one at a time should too). Bin does not allocate.
func (h Histogram) Bin(x float64) int {
	lo, hi := 0, len(h.Edges)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if !(h.Edges[mid] >= x) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// Total returns the sum of the counts, the size of the sample the histogram summarises.
func (h Histogram) Total() float64 {
	var t float64
	for _, c := range h.Counts {
		t += c
	}
	return t
}

// NewHistogram returns the histogram of xs over bins equal-frequency bins: the edges are
// QuantileEdges of xs and the counts BinCounts of xs over them. NaN values are left out of
// both; with no other value the edges are NaN and the counts 0. xs is not modified.
// NewHistogram panics with "stat: psi bins < 1" if bins < 1.
func NewHistogram(xs []float64, bins int) Histogram {
	if bins < 1 {
		panic("stat: psi bins < 1")
	}
	s := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			s = append(s, x)
		}
	}
	slices.Sort(s)
	if len(s) == 0 {
		h := Histogram{Edges: make([]float64, bins-1), Counts: make([]float64, bins)}
		for i := range h.Edges {
			h.Edges[i] = math.NaN()
		}
		return h
	}
	return SortedHistogram(s, bins)
}

// SortedHistogram is NewHistogram for values already in ascending order, as a caller that
// sorted them for another reason (a quantile, a threshold) has them: it finds the edges and
// counts in O(bins log n) and allocates only the histogram. sorted must not be empty nor hold a
// NaN. SortedHistogram panics with "stat: psi bins < 1" if bins < 1, with
// "stat: histogram of no values" if sorted is empty, and with "stat: histogram input not
// sorted" if sorted is not in ascending order or holds a NaN.
func SortedHistogram(sorted []float64, bins int) Histogram {
	if bins < 1 {
		panic("stat: psi bins < 1")
	}
	if len(sorted) == 0 {
		panic("stat: histogram of no values")
	}
	if math.IsNaN(sorted[0]) {
		panic("stat: histogram input not sorted")
	}
	for i := 1; i < len(sorted); i++ {
		if !(sorted[i-1] <= sorted[i]) {
			panic("stat: histogram input not sorted")
		}
	}
	buf := make([]float64, 2*bins-1)
	h := Histogram{Edges: buf[: bins-1 : bins-1], Counts: buf[bins-1:]}
	below := 0 // values <= the previous edge
	for i := range h.Edges {
		e := sortedQuantile(sorted, float64(i+1)/float64(bins))
		h.Edges[i] = e
		// The first value above e: values <= e go to the bins up to i.
		n := below + sort.Search(len(sorted)-below, func(k int) bool { return sorted[below+k] > e })
		h.Counts[i] = float64(n - below)
		below = n
	}
	h.Counts[bins-1] = float64(len(sorted) - below)
	return h
}

// SortedQuantile is Quantile for values already in ascending order without NaN, for a caller
// that needs several quantiles or a histogram of the same values (SortedHistogram) and sorts
// them once: the same interpolation, the same result, in O(1). It returns NaN when sorted is
// empty, and panics with "stat: quantile q out of [0, 1]" if q is not in [0, 1]. The order is
// not checked.
func SortedQuantile(sorted []float64, q float64) float64 {
	if !(q >= 0 && q <= 1) {
		panic("stat: quantile q out of [0, 1]")
	}
	if len(sorted) == 0 {
		return math.NaN()
	}
	return sortedQuantile(sorted, q)
}
