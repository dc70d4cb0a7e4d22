package neighbors

// Tile shape of the dot-product kernel: wideMR query rows by wideNR training rows, the 6 x 16
// of BLIS's AVX2 single-precision kernel (12 of the 16 vector registers accumulate).
const (
	wideMR = 6
	wideNR = 16
)

// useAsm lets tests run the search with kern6x16Go on a machine that has the assembly.
var useAsm = true

// kern6x16Go is the tile kernel in plain Go. a holds 6 query rows and b 16 training rows, each
// packed column by column (a[p*6+i] is column p of query i, b[p*16+j] of training row j); na
// and nb are their squared norms. For every pair it computes, in float32, the dot product g
// over the d columns in order, then na[i] + (nb[j] - 2g), stores that to out[16*i+j], and
// sets the pair's bit when the value is <= thr[i] (never when it is NaN): query i's 16 bits
// are bits 16*i.. of m0 for i < 4 and bits 16*(i-4).. of m1 for i = 4, 5.
func kern6x16Go(a, b []float32, d int, na, nb []float32, thr *[wideMR]float32, out *[wideMR * wideNR]float32) (m0, m1 uint64) {
	var acc [wideMR * wideNR]float32
	a = a[:d*wideMR]
	b = b[:d*wideNR]
	for p := 0; p < d; p++ {
		bp := (*[wideNR]float32)(b[p*wideNR:])
		ap := (*[wideMR]float32)(a[p*wideMR:])
		for i, ai := range ap {
			row := (*[wideNR]float32)(acc[i*wideNR:])
			for j, bj := range bp {
				row[j] += ai * bj
			}
		}
	}
	nbr := (*[wideNR]float32)(nb)
	for i := range wideMR {
		var bits uint64
		for j, n := range nbr {
			v := na[i] + (n - 2*acc[i*wideNR+j])
			out[i*wideNR+j] = v
			if v <= thr[i] {
				bits |= 1 << j
			}
		}
		if i < 4 {
			m0 |= bits << (wideNR * i)
		} else {
			m1 |= bits << (wideNR * (i - 4))
		}
	}
	return m0, m1
}

// dot32Go returns the float32 dot product of a and b (len(b) >= len(a)), summed in order. Any
// summation order errs by at most gamma_n times the sum of the terms' magnitudes, which is
// all the wide search's bound assumes.
func dot32Go(a, b []float32) float32 {
	b = b[:len(a)]
	var s float32
	for i, v := range a {
		s += v * b[i]
	}
	return s
}
