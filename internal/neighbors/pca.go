package neighbors

import (
	"math"
	"math/rand/v2"
)

// wideIters is the number of subspace iterations pcaBasis runs.
const wideIters = 5

// pcaBasis returns m orthonormal directions (rows of V, m x d, in float32) spanning nearly the
// m leading principal directions of the n images in y (stride values per row, already
// centred), and eps, a bound on |V V^T - I|_F for V as stored. The directions only decide how
// much the prefilter prunes; what it proves rests on eps alone, so they are estimated cheaply
// (the caller passes a sample of the rows): the covariance, then a few subspace iterations
// from a fixed pseudo-random start (Halko, Martinsson and Tropp, 2011, algorithm 4.4), products
// by the tile kernel, orthonormalization in float64.
func pcaBasis(y []float32, n, d, stride, m int) (V []float32, eps float64) {
	ca := covariancePanels(y, n, d, stride)
	rng := rand.New(rand.NewPCG(1, 2))
	Q := make([]float64, m*d) // direction c is Q[c*d:(c+1)*d]
	for i := range Q {
		Q[i] = rng.NormFloat64()
	}
	orthonormalize(Q, d, m, rng)
	qb := make([]float32, d*wideNR)
	var out [wideMR * wideNR]float32
	thr := nanThr
	Z := make([]float64, m*d)
	for range wideIters {
		// Q = orthonormalize(C Q): C's rows are the kernel's queries, Q's columns its panels.
		for h := 0; h*wideNR < m; h++ {
			cs := min(wideNR, m-h*wideNR)
			clear(qb)
			for c := range cs {
				for p := range d {
					qb[p*wideNR+c] = float32(Q[(h*wideNR+c)*d+p])
				}
			}
			for a := 0; a*wideMR < d; a++ {
				kern6x16(ca[a*d*wideMR:(a+1)*d*wideMR], qb, d, zeros32[:wideMR], zeros32[:], &thr, &out)
				for i := range min(wideMR, d-a*wideMR) {
					for c := range cs {
						Z[(h*wideNR+c)*d+a*wideMR+i] = float64(out[i*wideNR+c]) / -2
					}
				}
			}
		}
		Q, Z = Z, Q
		orthonormalize(Q, d, m, rng)
	}
	V = make([]float32, m*d)
	for i, v := range Q {
		V[i] = float32(v)
	}
	return V, orthoError(V, d, m)
}

// covariancePanels returns the d x d matrix C = sum y_i y_i^T over the ns rows of y, packed as
// kernel query panels (C[6a+i][p] at [(a*d+p)*6+i]) for the products C Q. C itself is computed
// by the tile kernel, with the features as rows and the samples as columns.
func covariancePanels(y []float32, ns, d, stride int) []float32 {
	fa := (d + wideMR - 1) / wideMR
	fb := (d + wideNR - 1) / wideNR
	A := make([]float32, fa*ns*wideMR)
	B := make([]float32, fb*ns*wideNR)
	for s := range ns {
		for p, v := range y[s*stride : s*stride+d] {
			A[(p/wideMR)*ns*wideMR+s*wideMR+p%wideMR] = v
			B[(p/wideNR)*ns*wideNR+s*wideNR+p%wideNR] = v
		}
	}
	ca := make([]float32, fa*d*wideMR)
	var out [wideMR * wideNR]float32
	thr := nanThr
	for a := range fa {
		for b := range fb {
			kern6x16(A[a*ns*wideMR:(a+1)*ns*wideMR], B[b*ns*wideNR:(b+1)*ns*wideNR], ns, zeros32[:wideMR], zeros32[:], &thr, &out)
			for i := range min(wideMR, d-a*wideMR) {
				for j := range min(wideNR, d-b*wideNR) {
					ca[(a*d+b*wideNR+j)*wideMR+i] = out[i*wideNR+j] / -2
				}
			}
		}
	}
	return ca
}

// orthonormalize makes the m vectors of Q (each d values, one after the other) orthonormal by
// modified Gram-Schmidt, each projection done twice for accuracy. A vector that vanishes
// (rank-deficient data) is replaced by a fresh random one.
func orthonormalize(Q []float64, d, m int, rng *rand.Rand) {
	for c := range m {
		q := Q[c*d : (c+1)*d]
		for attempt := 0; ; attempt++ {
			before := norm64(q)
			for range 2 {
				for e := range c {
					qe := Q[e*d : (e+1)*d]
					var dot float64
					for p, v := range qe {
						dot += v * q[p]
					}
					for p, v := range qe {
						q[p] -= dot * v
					}
				}
			}
			nrm := norm64(q)
			if nrm > 1e-6*before && nrm > 1e-300 || attempt == 8 {
				for p := range q {
					q[p] /= nrm
				}
				break
			}
			for p := range q {
				q[p] = rng.NormFloat64()
			}
		}
	}
}

func norm64(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// orthoError bounds |V V^T - I|_F for the m rows of V (m x d). Products of float32 values are
// exact in float64; the sums err by at most d 2^-53 of |V_i||V_j| each, which the added term
// covers while the rows' norms are near 1 (a larger result disables the prefilter anyway).
func orthoError(V []float32, d, m int) float64 {
	var f float64
	for i := range m {
		for j := range m {
			var g float64
			for p := range d {
				g += float64(V[i*d+p]) * float64(V[j*d+p])
			}
			if i == j {
				g--
			}
			f += g * g
		}
	}
	return math.Sqrt(f)*(1+1e-6) + float64(m*d)*0x1p-50
}
