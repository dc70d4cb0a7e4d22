package neighbors

// Mean returns the arithmetic mean of xs summed as numpy does (pairwise summation, eight
// accumulators in blocks of up to 128 values), so averages of neighbour distances match
// scikit-learn's np.mean to the last bit where the inputs match. It returns NaN for no values.
func Mean(xs []float64) float64 {
	return pairwiseSum(xs) / float64(len(xs))
}

// pairwiseSum is numpy's pairwise_sum (numpy/core/src/umath/loops_utils.h.src).
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		var s float64
		for _, v := range a {
			s += v
		}
		return s
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for t := 0; t < 8; t++ {
				r[t] += a[i+t]
			}
		}
		s := (r[0] + r[1]) + (r[2] + r[3]) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += a[i]
		}
		return s
	default:
		h := n / 2
		h -= h % 8
		return pairwiseSum(a[:h]) + pairwiseSum(a[h:])
	}
}
