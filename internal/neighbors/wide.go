package neighbors

// The wide search (more than AutoMaxDim columns) is brute force behind two exact prefilters,
// so that few pairs ever have their distance computed in full.
//
// At Build, every row x is centred, scaled by a power of two and rounded to float32: its image
// y. The images are projected on an orthonormal basis V of the m leading principal directions
// (pca.go): p = V y. For a block of queries:
//
//  1. The register-tiled kernel (kern6x16) computes Ap = |p_q|^2 + |p_x|^2 - 2 p_q.p_x for
//     every training row x: m multiply-adds per pair instead of d. For orthonormal V, |V w| <=
//     |w|, so Ap (less its rounding error) is a lower bound of the squared distance, and since V
//     keeps most of the variance it is most of it: it proves most rows farther than the query's
//     k-th nearest so far.
//  2. A row that survives has Ay = |y_q|^2 + |y_x|^2 - 2 y_q.y_x computed over all d columns in
//     float32 (dot32): within a few float32 ulps of the scaled squared distance, so it gives an
//     upper bound (which tightens the query's threshold: the k-th smallest upper bound) and a
//     lower bound (which dismisses most of the rest).
//  3. The rows still in doubt when every panel has been seen have their distances computed
//     exactly (dist2, as the plain brute force does) and offered to the k-list.
//
// A row is only ever dismissed on a proof that it is farther than k rows, so the answer is the
// exact search's answer, bit for bit, whatever the approximations and the visiting order.
//
// The bounds. Let u = 2^-24, z = s(x - mu) the exact scaled row, R >= max(|y|, |z|) and
// Rp >= |p|, and write gamma_n = n u / (1 - n u) (Higham, Accuracy and Stability of Numerical
// Algorithms, 3.1: a float32 dot product of n terms, any summation order, one rounding per
// step, errs by at most gamma_n times the sum of the terms' magnitudes).
//
//   - Per component |y - z| <= (u + 2^-53)|z| + 2^-150, so |y - z| <= 1.0001 u R (rtiny, added
//     to every R, absorbs the subnormal term).
//   - Ay errs from |z_q - z_x|^2 by at most (gamma_d + 5.04 u)(R_q + R_x)^2: gamma_d |y_q||y_x|
//     for the dot product, 1.01 u R^2 for each norm rounded to float32, 2.02 u (R_q + R_x)^2
//     for the last subtraction and addition, and 2.001 u (R_q + R_x)^2 for |y - z|. We take
//     sigmaY = kappaY (R_q + R_x)^2 + tauY, kappaY = gamma_d + 8u, tauY = (d + 8) 2^-120.
//   - V is stored in float32; eps bounds |V V^T - I|_F, so |V w|^2 <= (1 + eps)|w|^2. The
//     projection (the kernel's float32 dot product over d columns) errs per component by at most
//     gamma_d |V_j||y|, so |p - V z| <= eta R with eta = gamma_d sqrt(m (1 + eps)) +
//     1.0001 u sqrt(1 + eps). Ap errs from |p_q - p_x|^2 by at most (gamma_m + 3.03 u)(Rp_q +
//     Rp_x)^2; we take sigmaP = kappaP (Rp_q + Rp_x)^2 + tauP, kappaP = gamma_m + 4u, tauP =
//     (m + 8) 2^-120. Hence |z_q - z_x| sqrt(1 + eps) >= sqrt(max(0, Ap - sigmaP)) -
//     eta (R_q + R_x).
//   - dist2 is within (d + 4) 2^-53 relative of the real squared distance; wideMargin (1e-9)
//     covers it and the rounding of the comparisons themselves. The tau terms keep every
//     dismissed pair's distance far above float64's underflow, where that relative bound holds.
//
// With t an upper bound of the query's k-th exact distance (scaled by s^2), a row is dismissed
// when Ap > (sqrt(t (1 + eps) wideMargin) + eta (R_q + R_x))^2 + sigmaP, or when
// Ay > t wideMargin + sigmaY: either way its distance exceeds the k-th.

// wideM is the number of principal components the prefilter keeps (fewer when d is smaller).
const wideM = 16

// wideG is the number of kernel panels of queries in a block: a block of wideBlock queries
// meets each training panel while the panel is in the L1 cache.
const (
	wideG     = 8
	wideBlock = wideG * wideMR
)

// wideMargin widens the k-th exact distance before it is compared with a lower bound: it
// covers the rounding of dist2 (at most (d + 4) 2^-53 relative, below 1e-10 for d < 10^6) and
// of the few float64 operations of the comparison.
const wideMargin = 1 + 1e-9

// wideMaxNorm2 is the largest squared norm of an image y the kernel takes; a query farther out
// (far beyond the training data) is searched exactly without the prefilter.
const wideMaxNorm2 = 0x1p100

// wideSample is the most rows the principal directions are estimated from.
const wideSample = 512

// wide is the prefilters of a brute-force index: the training rows' images and projections
// packed for the kernels, the basis that makes them, and the constants of the bounds.
type wide struct {
	d, m   int
	dp     int // d rounded up to a multiple of 8: the stride of y
	panels int
	// pb is panel P's component c at pb[(P*m+c)*wideNR:][:wideNR], rows in tree order.
	pb []float32
	// nb is each row's |p|^2 rounded to float32, NaN on padding so the kernel never selects it.
	nb []float32
	// y holds the images, rows in tree order, dp values each (zero beyond d); yb the same
	// packed as kernel panels (yb[(P*dp+p)*wideNR+j]); ny their squared norms rounded to
	// float32, NaN on padding.
	y  []float32
	yb []float32
	ny []float32
	r  []float64 // R per tree-order row
	rp []float64 // Rp per tree-order row
	// vb is the basis packed as kernel panels: vb[(h*d+p)*wideNR+j] is column p of direction
	// 16h+j, zero beyond m.
	vb []float32
	mu []float64 // the centre (the column means), in input column order
	s  float64   // the scale, a power of two
	s2 float64   // s^2 wideMargin: turns a dist2 value into an upper bound in the units of A
	// e1 is (1 + eps) wideMargin; the other constants are those of the bounds (see above).
	e1                  float64
	eta, kappaP, tauP   float64
	kappaY, tauY, rtiny float64
	// pbox is each panel's bounding box in projection: m minima, then m maxima.
	pbox []float32
	// rmax and rpmax are the largest R and Rp of all rows.
	rmax, rpmax float64
}

// wideOn reports whether Build gives brute-force indexes the prefilters: where the AVX2
// kernels run. The pure-Go kernels give the same answers (tests run them) but more slowly than
// the plain exact search.
func wideOn() bool { return haveAVX2 && useAsm }
