package neighbors

import (
	"context"
	"math"
	"slices"
	"sync/atomic"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/parallel"
)

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
