// Package numsum adds float64 slices in exactly numpy's order, so that sums and means of the
// same inputs match scikit-learn and the numpy references to the last bit where order matters
// (a score on the edge of a threshold, a LOF density ratio).
package numsum

// Pairwise is numpy's pairwise_sum (numpy/core/src/umath/loops_utils.h.src): plain summation
// below 8 values, eight interleaved accumulators up to 128, and halves (rounded to a multiple
// of 8) above. numpy uses it for a reduction along a contiguous axis of at most 8192 values.
func Pairwise(x []float64) float64 {
	n := len(x)
	switch {
	case n < 8:
		s := 0.0
		for _, v := range x {
			s += v
		}
		return s
	case n <= 128:
		var r [8]float64
		copy(r[:], x[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			r[0] += x[i]
			r[1] += x[i+1]
			r[2] += x[i+2]
			r[3] += x[i+3]
			r[4] += x[i+4]
			r[5] += x[i+5]
			r[6] += x[i+6]
			r[7] += x[i+7]
		}
		s := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += x[i]
		}
		return s
	}
	h := n / 2
	h -= h % 8
	return Pairwise(x[:h]) + Pairwise(x[h:])
}

// Blocked is numpy's add.reduce of a long contiguous array: pairwise sums of blocks of 8192
// values (the iterator's buffer size), added in turn.
func Blocked(x []float64) float64 {
	s := 0.0
	for lo := 0; lo < len(x); lo += 8192 {
		s += Pairwise(x[lo:min(lo+8192, len(x))])
	}
	return s
}

// Mean is np.mean of a contiguous slice of at most 8192 values: Pairwise / len. It returns
// NaN for an empty slice.
func Mean(x []float64) float64 { return Pairwise(x) / float64(len(x)) }
