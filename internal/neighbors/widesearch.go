package neighbors

import (
	"context"
	"math"
	"math/bits"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/parallel"
)

var (
	zeros32 [wideNR]float32
	nanThr  = [wideMR]float32{nan32, nan32, nan32, nan32, nan32, nan32}
)

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
