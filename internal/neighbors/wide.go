package neighbors

import (
	"context"
	"math"
	"math/bits"
	"slices"
	"sync/atomic"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/parallel"
)

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

// buildWide lays the index out for the wide search: it computes the images, the principal
// directions and the projections, orders the rows along a median-split tree over the
// projections, and fills ix.perm and ix.data. lo, hi and sum are the columns' minima, maxima
// and sums. It returns false, having changed nothing, when the bounds do not apply (values that
// are not finite once centred, a scale outside 2^-400..2^400, all rows equal, d so large that
// gamma_d is no longer small), and an error wrapping a *parallel.PanicError if a worker
// panicked.
func (ix *Index) buildWide(X *dataset.Matrix, lo, hi, sum []float64) (bool, error) {
	const u = 0x1p-24
	n, d := X.Rows, X.Cols
	if float64(d)*u >= 0.01 {
		return false, nil
	}
	w := &wide{d: d, m: min(wideM, d), dp: (d + 7) &^ 7, rtiny: math.Sqrt(float64(d)) * 0x1p-120}
	m, dp := w.m, w.dp
	w.mu = make([]float64, d)
	var spread float64
	for c := range w.mu {
		w.mu[c] = sum[c] / float64(n)
		// fl(x - mu) is monotone in x, so the extremes of |x - mu| are at the column's ends.
		spread = max(spread, hi[c]-w.mu[c], w.mu[c]-lo[c])
	}
	if !(spread > 0 && spread <= math.MaxFloat64) {
		return false, nil
	}
	_, e := math.Frexp(spread)
	if e < -400 || e > 400 {
		return false, nil
	}
	w.s = math.Ldexp(1, -e)
	ctx := context.Background()
	workers := parallel.Workers(ix.workers, n/wideBuildGrain+1)

	// The principal directions, from the images of evenly spaced rows.
	ns := min(n, wideSample)
	ys := make([]float32, ns*dp)
	for t := range ns {
		if _, _, ok := w.image(X.Row(t*n/ns), ys[t*dp:(t+1)*dp]); !ok {
			return false, nil
		}
	}
	V, eps := pcaBasis(ys, ns, d, dp, m)
	if !(eps < 1e-3) {
		return false, nil
	}
	gammaD := float64(d) * u / (1 - float64(d)*u)
	gammaM := float64(m) * u / (1 - float64(m)*u)
	w.eta = (gammaD*math.Sqrt(float64(m)*(1+eps)) + 1.0001*u*math.Sqrt(1+eps)) * (1 + 1e-6)
	w.kappaP = gammaM + 4*u
	w.tauP = float64(m+8) * 0x1p-120
	w.kappaY = gammaD + 8*u
	w.tauY = float64(d+8) * 0x1p-120
	w.e1 = (1 + eps) * wideMargin
	w.s2 = w.s * w.s * wideMargin
	w.vb = packBasis(V, d, m)

	// Projections p, input row order; the images are made again in tree order below, which
	// costs less than keeping and permuting them.
	proj := make([]float32, n*m)
	var bad atomic.Bool
	err := parallel.For(ctx, n, wideBuildGrain, workers, func(_, lo, hi int) {
		a := make([]float32, dp*wideMR)
		yi := make([]float32, dp)
		var pr [wideMR * wideM]float32
		for lo6 := lo; lo6 < hi; lo6 += wideMR {
			rows := min(wideMR, hi-lo6)
			clear(a)
			for i := range rows {
				if _, _, ok := w.image(X.Row(lo6+i), yi); !ok {
					bad.Store(true)
					return
				}
				for p, v := range yi[:d] {
					a[p*wideMR+i] = v
				}
			}
			w.project(a, &pr)
			for i := range rows {
				copy(proj[(lo6+i)*m:(lo6+i+1)*m], pr[i*wideM:i*wideM+m])
			}
		}
	})
	if err != nil {
		return false, err
	}
	if bad.Load() {
		return false, nil
	}

	// Tree order over the projections, then everything laid out in that order.
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	pcOrder(proj, m, perm, make([]float32, n))
	w.panels = (n + wideNR - 1) / wideNR
	w.y = make([]float32, n*dp)
	w.pb = make([]float32, w.panels*m*wideNR)
	w.nb = make([]float32, w.panels*wideNR)
	w.ny = make([]float32, w.panels*wideNR)
	w.yb = make([]float32, w.panels*dp*wideNR)
	w.r = make([]float64, n)
	w.rp = make([]float64, n)
	ix.perm = perm
	ix.data = make([]float64, n*d)
	err = parallel.For(ctx, n, wideBuildGrain, workers, func(_, lo, hi int) {
		for pos := lo; pos < hi; pos++ {
			i := int(perm[pos])
			row := X.Row(i)
			dst := ix.data[pos*d : (pos+1)*d]
			for p, c := range ix.cols {
				dst[p] = row[c]
			}
			y := w.y[pos*dp : (pos+1)*dp]
			w.r[pos], w.ny[pos], _ = w.image(row, y)
			P, j := pos/wideNR, pos%wideNR
			for p, v := range y[:d] {
				w.yb[(P*dp+p)*wideNR+j] = v
			}
			var p2 float64
			for c, v := range proj[i*m : (i+1)*m] {
				w.pb[(P*m+c)*wideNR+j] = v
				p2 += float64(v) * float64(v)
			}
			w.nb[pos] = float32(p2)
			w.rp[pos] = math.Sqrt(p2) * wideMargin
		}
	})
	if err != nil {
		return false, err
	}
	for pos := range n {
		w.rmax = max(w.rmax, w.r[pos])
		w.rpmax = max(w.rpmax, w.rp[pos])
	}
	for pos := n; pos < w.panels*wideNR; pos++ {
		w.nb[pos] = float32(math.NaN())
		w.ny[pos] = float32(math.NaN())
	}
	w.pbox = make([]float32, w.panels*2*m)
	for P := range w.panels {
		box := w.pbox[P*2*m : (P+1)*2*m]
		rows := min(wideNR, n-P*wideNR)
		for c := range m {
			col := w.pb[(P*m+c)*wideNR : (P*m+c)*wideNR+rows]
			box[c], box[m+c] = slices.Min(col), slices.Max(col)
		}
	}
	ix.wide = w
	return true, nil
}

// wideBuildGrain is the number of rows per parallel chunk of buildWide (a multiple of wideMR).
const wideBuildGrain = 510

// image writes the float32 image of row x (input column order) to dst (zero beyond len(x)) and
// returns its bound R and its squared norm rounded to float32. ok is false when the image is
// too large for the kernels or not finite.
func (w *wide) image(x []float64, dst []float32) (r float64, n2 float32, ok bool) {
	var s2 float64
	mu := w.mu[:len(x)]
	dst = dst[:w.dp]
	for c, v := range x {
		y := float32((v - mu[c]) * w.s)
		dst[c] = y
		s2 += float64(y) * float64(y)
	}
	clear(dst[len(x):])
	if !(s2 < wideMaxNorm2) {
		return 0, 0, false
	}
	return math.Sqrt(s2)*(1+0x1p-22) + w.rtiny, float32(s2), true
}

var (
	zeros32 [wideNR]float32
	nanThr  = [wideMR]float32{nan32, nan32, nan32, nan32, nan32, nan32}
)

// project computes the projections of the six images packed in a (a[p*6+i] is column p of
// image i) into pr[i*wideM+c], c < m. It runs the tile kernel against the basis panel with
// zero norms: the kernel's value is then 0 + (0 - 2g) = -2g exactly, so g comes back as the
// kernel's float32 dot product, whose error the bound allows for.
func (w *wide) project(a []float32, pr *[wideMR * wideM]float32) {
	var out [wideMR * wideNR]float32
	thr := nanThr
	d := w.d
	for h := 0; h*wideNR < w.m; h++ {
		kern6x16(a, w.vb[h*d*wideNR:(h+1)*d*wideNR], d, zeros32[:wideMR], zeros32[:], &thr, &out)
		for i := range wideMR {
			for j := range min(wideNR, w.m-h*wideNR) {
				pr[i*wideM+h*wideNR+j] = out[i*wideNR+j] / -2
			}
		}
	}
}

// packBasis packs the m directions of V (row-major, m x d) as kernel panels of 16.
func packBasis(V []float32, d, m int) []float32 {
	vb := make([]float32, (m+wideNR-1)/wideNR*d*wideNR)
	for c := range m {
		h, j := c/wideNR, c%wideNR
		for p := range d {
			vb[(h*d+p)*wideNR+j] = V[c*d+p]
		}
	}
	return vb
}

// pcOrder orders perm along a median-split tree over the projections (m components per row):
// a node of more than wideNR rows is split at the median of its component of widest spread,
// so consecutive rows, and the panels they make, lie close together. keys is scratch space of
// len(perm) values.
func pcOrder(proj []float32, m int, perm []int32, keys []float32) {
	if len(perm) <= wideNR {
		return
	}
	// The widest component is judged on at most about 64 of the node's rows: it only steers
	// the order, which any choice keeps exact.
	var lo, hi [wideM]float32
	first := proj[int(perm[0])*m : int(perm[0]+1)*m]
	copy(lo[:], first)
	copy(hi[:], first)
	step := max(1, len(perm)/64)
	for t := step; t < len(perm); t += step {
		i := perm[t]
		for c, v := range proj[int(i)*m : int(i+1)*m] {
			lo[c] = min(lo[c], v)
			hi[c] = max(hi[c], v)
		}
	}
	dim, best := 0, hi[0]-lo[0]
	for c := 1; c < m; c++ {
		if s := hi[c] - lo[c]; s > best {
			dim, best = c, s
		}
	}
	if best == 0 {
		return // every row projects to the same point
	}
	keys = keys[:len(perm)]
	for t, i := range perm {
		keys[t] = proj[int(i)*m+dim]
	}
	mid := len(perm) / 2
	selectKeyed(keys, perm, mid)
	pcOrder(proj, m, perm[:mid], keys)
	pcOrder(proj, m, perm[mid:], keys)
}

// limitP returns the largest projected value Ap a row may have and not be proved farther from
// the query than its k-th nearest so far, when tq = sqrt(t e1) for the query's threshold t,
// and the R and Rp of the query and the row add up to rs and rps.
func (w *wide) limitP(tq, rs, rps float64) float64 {
	t := tq + w.eta*rs
	return t*t + w.kappaP*rps*rps + w.tauP
}

// sigmaY returns the bound on the error of Ay for a pair whose R add up to rs.
func (w *wide) sigmaY(rs float64) float64 {
	return w.kappaY*rs*rs + w.tauY
}

// up32 rounds v >= 2^-120 up to a float32: the product carries v up by 2^-20 relative, more
// than float32 rounding (2^-24 relative for normal floats) takes back. Values beyond the
// float32 range become +Inf.
func up32(v float64) float32 {
	return float32(v * (1 + 0x1p-20))
}

var nan32 = float32(math.NaN())

// wideCand is a training row (tree-order position) in doubt for a query, with its Ay.
type wideCand struct {
	a   float32
	pos int32
}

// wideScratch is one worker's buffers for the wide search of a block of queries.
type wideScratch struct {
	ya   []float32 // wideG panels of packed query images, dp*wideMR values each
	pa   []float32 // wideG panels of packed query projections, m*wideMR values each
	yq   []float32 // the block's images, dp values each
	nyq  [wideBlock]float32
	na   [wideBlock]float32
	ra   [wideBlock]float64
	rpa  [wideBlock]float64
	slow [wideBlock]bool // queries too far out for the kernels, searched exactly instead
	// t is each query's threshold: an upper bound of its k-th exact distance in the units of
	// A, the smaller of the k-th smallest upper bound in ub and the k-th distance of its
	// k-list; tq is sqrt(t e1).
	t  [wideBlock]float64
	tq [wideBlock]float64
	// ub holds each query's k smallest upper bounds so far, ascending (k values per query).
	ub []float64
	// cand holds each query's rows in doubt (room values per query, nc in use).
	cand []wideCand
	nc   [wideBlock]int
	room int
	// lb holds, per panel, a lower bound of the squared distance in projection from any query
	// of the block to any row of the panel.
	lb []float64
	pr [wideMR * wideM]float32
	// thr is each query's kernel threshold: limitP with the largest R and Rp of all rows,
	// rounded up to float32; NaN for slow queries and padding.
	thr  [wideBlock]float32
	out  [wideMR * wideNR]float32
	thrY [wideMR]float32
	outY [wideMR * wideNR]float32
}

func (ws *wideScratch) init(w *wide, k int) {
	ws.ya = make([]float32, wideG*w.dp*wideMR)
	ws.pa = make([]float32, wideG*w.m*wideMR)
	ws.yq = make([]float32, wideBlock*w.dp)
	ws.room = 2*k + 64
	ws.ub = make([]float64, wideBlock*k)
	ws.cand = make([]wideCand, wideBlock*ws.room)
	ws.lb = make([]float64, w.panels)
}

// loadTrainWide loads tree-order rows [lo, lo+s.nq) as the block's queries.
func (s *searcher) loadTrainWide(lo int) {
	w := s.ix.wide
	ws := &s.w
	m := w.m
	copy(ws.yq[:s.nq*w.dp], w.y[lo*w.dp:(lo+s.nq)*w.dp])
	s.packImages()
	for b := range s.nq {
		pos := lo + b
		P, j := pos/wideNR, pos%wideNR
		g, i := b/wideMR, b%wideMR
		pa := ws.pa[g*m*wideMR:]
		for c := range m {
			pa[c*wideMR+i] = w.pb[(P*m+c)*wideNR+j]
		}
		ws.nyq[b], ws.na[b], ws.ra[b], ws.rpa[b], ws.slow[b] = w.ny[pos], w.nb[pos], w.r[pos], w.rp[pos], false
	}
}

// loadQueriesWide computes the images and projections of the block's new queries, the given
// rows of Q, and packs them.
func (s *searcher) loadQueriesWide(Q *dataset.Matrix, rows []int32) {
	w := s.ix.wide
	ws := &s.w
	m, dp := w.m, w.dp
	for b := range s.nq {
		yq := ws.yq[b*dp : (b+1)*dp]
		var ok bool
		ws.ra[b], ws.nyq[b], ok = w.image(Q.Row(int(rows[b])), yq)
		ws.slow[b] = !ok
		if !ok {
			clear(yq)
		}
	}
	s.packImages()
	for g := 0; g*wideMR < s.nq; g++ {
		w.project(ws.ya[g*dp*wideMR:(g+1)*dp*wideMR], &ws.pr)
		pa := ws.pa[g*m*wideMR:]
		for i := range min(wideMR, s.nq-g*wideMR) {
			b := g*wideMR + i
			var p2 float64
			for c, v := range ws.pr[i*wideM : i*wideM+m] {
				pa[c*wideMR+i] = v
				p2 += float64(v) * float64(v)
			}
			ws.na[b], ws.rpa[b] = float32(p2), math.Sqrt(p2)*wideMargin
		}
	}
}

// queryOrder returns the rows of Q in the order the wide search takes them: along a
// median-split tree over their projections, like the training rows, so that a block of queries
// lies close together and its panels are visited from a good start; rows too far out for the
// kernels come last. The order only affects speed.
func (w *wide) queryOrder(ctx context.Context, Q *dataset.Matrix, workers int) ([]int32, error) {
	n, d, m, dp := Q.Rows, w.d, w.m, w.dp
	proj := make([]float32, n*m)
	far := make([]bool, n)
	type buf struct {
		a, y []float32
		pr   [wideMR * wideM]float32
	}
	bufs := make([]buf, workers)
	for i := range bufs {
		bufs[i] = buf{a: make([]float32, dp*wideMR), y: make([]float32, dp)}
	}
	err := parallel.For(ctx, n, wideBuildGrain, workers, func(wk, lo, hi int) {
		bf := &bufs[wk]
		for lo6 := lo; lo6 < hi; lo6 += wideMR {
			rows := min(wideMR, hi-lo6)
			clear(bf.a)
			for i := range rows {
				if _, _, ok := w.image(Q.Row(lo6+i), bf.y); !ok {
					far[lo6+i] = true
					continue
				}
				for p, v := range bf.y[:d] {
					bf.a[p*wideMR+i] = v
				}
			}
			w.project(bf.a, &bf.pr)
			for i := range rows {
				copy(proj[(lo6+i)*m:(lo6+i+1)*m], bf.pr[i*wideM:i*wideM+m])
			}
		}
	})
	if err != nil {
		return nil, err
	}
	order := make([]int32, 0, n)
	for i := range n {
		if !far[i] {
			order = append(order, int32(i))
		}
	}
	pcOrder(proj, m, order, make([]float32, len(order)))
	for i := range n {
		if far[i] {
			order = append(order, int32(i))
		}
	}
	return order, nil
}

// packImages packs the block's images (ws.yq) as kernel query panels (ws.ya), zero padded.
func (s *searcher) packImages() {
	dp := s.ix.wide.dp
	ws := &s.w
	gs := (s.nq + wideMR - 1) / wideMR
	for b := range gs * wideMR {
		ya := ws.ya[(b/wideMR)*dp*wideMR+b%wideMR:]
		if b >= s.nq {
			for p := range dp {
				ya[p*wideMR] = 0
			}
			continue
		}
		for p, v := range ws.yq[b*dp : (b+1)*dp] {
			ya[p*wideMR] = v
		}
	}
}

// wideDense is the number of rows a tile's projected test lets through from which the kernel
// computes the tile's Ay all at once, rather than one dot32 per row.
const wideDense = 12

// wideBlock answers the block of queries. Training panels are visited outward in tree order
// from the one whose box is centred nearest the box of the block's projections, so the
// thresholds tighten early; a panel whose box is farther than every query's reach is skipped.
func (s *searcher) wideBlock() {
	ix := s.ix
	w := ix.wide
	d, m, k := w.d, w.m, s.k
	ws := &s.w
	var qlo, qhi [wideM]float32
	for c := range m {
		qlo[c], qhi[c] = float32(math.Inf(1)), float32(math.Inf(-1))
	}
	for b := range wideBlock {
		ws.thr[b] = nan32
	}
	for b := range s.nq {
		ws.t[b], ws.tq[b] = math.Inf(1), math.Inf(1)
		if !ws.slow[b] {
			ws.thr[b] = float32(math.Inf(1))
		}
		ws.nc[b] = 0
		ub := ws.ub[b*k : (b+1)*k]
		for j := range ub {
			ub[j] = math.Inf(1)
		}
		if ws.slow[b] {
			continue
		}
		pa := ws.pa[(b/wideMR)*m*wideMR+b%wideMR:]
		for c := range m {
			v := pa[c*wideMR]
			qlo[c], qhi[c] = min(qlo[c], v), max(qhi[c], v)
		}
	}
	gs := (s.nq + wideMR - 1) / wideMR
	for b := s.nq; b < gs*wideMR; b++ {
		pa := ws.pa[(b/wideMR)*m*wideMR:]
		for c := range m {
			pa[c*wideMR+b%wideMR] = 0
		}
		ws.na[b] = 0
	}
	start, best := 0, math.Inf(1)
	for P := range w.panels {
		box := w.pbox[P*2*m : (P+1)*2*m]
		var lb, cd float64
		for c := range m {
			var g float64
			if box[c] > qhi[c] {
				g = float64(box[c]) - float64(qhi[c])
			} else if qlo[c] > box[m+c] {
				g = float64(qlo[c]) - float64(box[m+c])
			}
			lb += g * g
			e := float64(box[c]) + float64(box[m+c]) - float64(qlo[c]) - float64(qhi[c])
			cd += e * e
		}
		ws.lb[P] = lb * (1 - 1e-12)
		if cd < best {
			start, best = P, cd
		}
	}
	reach := math.Inf(1)
	visit := func(t, P int) {
		if t&7 == 0 {
			reach = s.wideReach()
		}
		if ws.lb[P] <= reach {
			s.widePanel(P, gs)
		}
	}
	visit(0, start)
	lo, hi := start, start+1
	for t := 1; lo > 0 || hi < w.panels; t++ {
		if hi < w.panels && (lo == 0 || hi-start <= start-lo) {
			visit(t, hi)
			hi++
		} else {
			lo--
			visit(t, lo)
		}
	}
	for b := range s.nq {
		if ws.slow[b] {
			s.bind(b)
			s.scanRows(s.q[b*d:(b+1)*d], s.self[b], 0, int32(ix.n))
			continue
		}
		s.wideFlush(b)
	}
}

// wideReach returns the largest squared distance in projection at which a training row may
// still be among the k nearest of one of the block's queries (-Inf when every query is slow).
func (s *searcher) wideReach() float64 {
	w := s.ix.wide
	ws := &s.w
	reach := math.Inf(-1)
	for b := range s.nq {
		if !ws.slow[b] {
			t := ws.tq[b] + w.eta*(ws.ra[b]+w.rmax)
			reach = max(reach, t*t)
		}
	}
	return reach
}

// widePanel runs the kernel on training panel P against each of the gs query panels and
// hands the rows it lets through to wideHits.
func (s *searcher) widePanel(P, gs int) {
	w := s.ix.wide
	ws := &s.w
	m, dp := w.m, w.dp
	pb := w.pb[P*m*wideNR : (P+1)*m*wideNR]
	nb := w.nb[P*wideNR : (P+1)*wideNR]
	for g := range gs {
		base := g * wideMR
		thr := (*[wideMR]float32)(ws.thr[base : base+wideMR])
		m0, m1 := kern6x16(ws.pa[g*m*wideMR:(g+1)*m*wideMR], pb, m, ws.na[base:base+wideMR], nb, thr, &ws.out)
		dense := bits.OnesCount64(m0)+bits.OnesCount64(m1) >= wideDense
		if dense {
			for i := range wideMR {
				b := base + i
				if b >= s.nq || ws.slow[b] {
					ws.thrY[i] = nan32
					continue
				}
				ws.thrY[i] = up32(ws.t[b]*wideMargin + w.sigmaY(ws.ra[b]+w.rmax))
			}
			y0, y1 := kern6x16(ws.ya[g*dp*wideMR:(g+1)*dp*wideMR], w.yb[P*dp*wideNR:(P+1)*dp*wideNR], dp,
				ws.nyq[base:base+wideMR], w.ny[P*wideNR:(P+1)*wideNR], &ws.thrY, &ws.outY)
			m0 &= y0
			m1 &= y1
		}
		if m0 != 0 {
			s.wideHits(m0, base, 0, P, dense)
		}
		if m1 != 0 {
			s.wideHits(m1, base, 4, P, dense)
		}
	}
}

// wideHits takes the kernel's bits m for query rows base+i0.. against panel P. A pair that the
// projected bound with its own R and Rp (rather than the largest) still admits has Ay computed
// (or taken from ws.outY when dense); if that admits it too, its upper bound may tighten the
// query's threshold and the row becomes one of the query's candidates.
func (s *searcher) wideHits(m uint64, base, i0, P int, dense bool) {
	ix := s.ix
	w := ix.wide
	ws := &s.w
	k, dp := s.k, w.dp
	for m != 0 {
		bit := bits.TrailingZeros64(m)
		m &= m - 1
		i := i0 + bit/wideNR
		b := base + i
		pos := P*wideNR + bit%wideNR
		if ix.perm[pos] == s.self[b] {
			continue
		}
		rs := ws.ra[b] + w.r[pos]
		if float64(ws.out[i*wideNR+bit%wideNR]) > w.limitP(ws.tq[b], rs, ws.rpa[b]+w.rp[pos]) {
			continue
		}
		var ay float32
		if dense {
			ay = ws.outY[i*wideNR+bit%wideNR]
		} else {
			g := dot32(ws.yq[b*dp:(b+1)*dp], w.y[pos*dp:(pos+1)*dp])
			ay = ws.nyq[b] + (w.ny[pos] - 2*g)
		}
		sig := w.sigmaY(rs)
		if float64(ay) > ws.t[b]*wideMargin+sig {
			continue
		}
		ub := ws.ub[b*k : (b+1)*k : (b+1)*k]
		if up := (float64(ay) + sig) * wideMargin; up < ub[k-1] {
			t := k - 1
			for t > 0 && ub[t-1] > up {
				ub[t] = ub[t-1]
				t--
			}
			ub[t] = up
			s.wideTighten(b, ub[k-1])
		}
		ws.cand[b*ws.room+ws.nc[b]] = wideCand{a: ay, pos: int32(pos)}
		ws.nc[b]++
		if ws.nc[b] == ws.room {
			s.wideCompact(b)
		}
	}
}

// wideTighten lowers query b's threshold to t if that is lower.
func (s *searcher) wideTighten(b int, t float64) {
	ws := &s.w
	if t < ws.t[b] {
		w := s.ix.wide
		ws.t[b] = t
		ws.tq[b] = math.Sqrt(t * w.e1)
		ws.thr[b] = up32(w.limitP(ws.tq[b], ws.ra[b]+w.rmax, ws.rpa[b]+w.rpmax))
	}
}

// wideCompact drops query b's candidates that its threshold now excludes; if more than half
// the room is still in use (many rows tied with the nearest, such as duplicates), it computes
// their distances now instead.
func (s *searcher) wideCompact(b int) {
	w := s.ix.wide
	ws := &s.w
	cand := ws.cand[b*ws.room : b*ws.room+ws.nc[b]]
	kept := 0
	for _, c := range cand {
		if float64(c.a) <= ws.t[b]*wideMargin+w.sigmaY(ws.ra[b]+w.r[c.pos]) {
			cand[kept] = c
			kept++
		}
	}
	ws.nc[b] = kept
	if 2*kept > ws.room {
		s.wideFlush(b)
	}
}

// wideFlush computes the exact distance of each of query b's candidates that its threshold
// still admits, offers it to the query's k-list, and empties the candidates.
func (s *searcher) wideFlush(b int) {
	ix := s.ix
	w := ix.wide
	ws := &s.w
	d, k := ix.d, s.k
	s.bind(b)
	q := s.q[b*d : (b+1)*d]
	for _, c := range ws.cand[b*ws.room : b*ws.room+ws.nc[b]] {
		if float64(c.a) > ws.t[b]*wideMargin+w.sigmaY(ws.ra[b]+w.r[c.pos]) {
			continue
		}
		pos := int(c.pos)
		id := ix.perm[pos]
		worst := s.curD[k-1]
		d2 := dist2(q, ix.data[pos*d:(pos+1)*d], worst)
		if d2 > worst || (d2 == worst && id > s.curI[k-1]) {
			continue
		}
		s.insert(d2, id)
		s.wideTighten(b, s.curD[k-1]*w.s2)
	}
	ws.nc[b] = 0
}

// wideOn reports whether Build gives brute-force indexes the prefilters: where the AVX2
// kernels run. The pure-Go kernels give the same answers (tests run them) but more slowly than
// the plain exact search.
func wideOn() bool { return haveAVX2 && useAsm }
