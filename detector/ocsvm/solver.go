package ocsvm

import (
	"context"
	"math"

	"github.com/gonomaly/gonomaly/internal/parallel"
)

// tau replaces a non-positive curvature in the working-set selection and the update (libsvm's
// TAU).
const tau = 1e-12

// alpha status values.
const (
	lowerBound int8 = iota
	upperBound
	free
)

// fillParallelMin is the number of kernel entries below which a column is filled on the
// calling goroutine: fanning out costs a few microseconds.
const fillParallelMin = 2048

// solver is libsvm's Solver (Fan, Chen and Lin, JMLR 6, 2005) specialised to the one-class
// problem
//
//	min 0.5 a'Qa  subject to  0 <= a_i <= 1, sum a_i = nu*l,
//
// i.e. p = 0, y = +1 and C = 1 for every variable. Positions are permuted by shrinking exactly
// as libsvm permutes them; perm maps a position back to its training row.
type solver struct {
	l, d       int
	gamma      float64
	eps        float64
	shrinking  bool
	maxIter    int
	workers    int
	x          []float64 // rows in position order (a permuted copy of the training data)
	sq         []float64 // squared norms in position order
	alpha      []float64
	g          []float64 // gradient Q a
	gBar       []float64 // sum of C*Q_i over variables at the upper bound
	status     []int8
	perm       []int32
	activeSize int
	unshrink   bool
	cache      *cache

	// The column being filled by fillChunk (one fill at a time): positions
	// [fillStart, len(fillDst)) of column fillRow. fillFn is fillChunk bound once, so that
	// filling a column does not allocate a method value each time.
	fillDst   []float32
	fillRow   int
	fillStart int
	fillFn    func(w, lo, hi int)

	initFrom int // initGradient stores columns [initFrom, nz) in the cache

	iter       int
	hitMaxIter bool
}

func newSolver(X []float64, l, d int, gamma, nu, eps float64, shrinking bool, maxIter int, cacheBytes int64, workers int) *solver {
	s := &solver{
		l: l, d: d, gamma: gamma, eps: eps, shrinking: shrinking, maxIter: maxIter, workers: workers,
		x:      make([]float64, l*d),
		sq:     make([]float64, l),
		alpha:  make([]float64, l),
		g:      make([]float64, l),
		gBar:   make([]float64, l),
		status: make([]int8, l),
		perm:   make([]int32, l),
		cache:  newCache(l, cacheBytes),
	}
	copy(s.x, X[:l*d])
	for i := range l {
		s.sq[i] = dot(s.x[i*d:i*d+d], s.x[i*d:i*d+d])
		s.perm[i] = int32(i)
	}
	// libsvm's solve_one_class: nu*l summed row by row, then alphas at the bound C = 1 from
	// the first row on until the sum is used up.
	var nuL float64
	for range l {
		nuL += nu
	}
	for i := 0; nuL > 0 && i < l; i++ {
		s.alpha[i] = min(1, nuL)
		nuL -= s.alpha[i]
	}
	for i := range l {
		s.updateStatus(i)
	}
	s.fillFn = s.fillChunk
	return s
}

func (s *solver) updateStatus(i int) {
	switch {
	case s.alpha[i] >= 1:
		s.status[i] = upperBound
	case s.alpha[i] <= 0:
		s.status[i] = lowerBound
	default:
		s.status[i] = free
	}
}

func (s *solver) fillChunk(_, lo, hi int) {
	d, i := s.d, s.fillRow
	rbfColumn(s.fillDst, s.x[i*d:i*d+d], s.sq[i], s.x, s.sq, d, s.fillStart+lo, s.fillStart+hi, s.gamma)
}

// column returns the first n entries of column i of Q, from the cache or computed (in
// parallel for long stretches; every entry is computed on its own, so the result does not
// depend on the number of workers).
func (s *solver) column(i, n int) []float32 {
	col, start := s.cache.get(i, n)
	if start < n {
		if n-start < fillParallelMin || s.workers == 1 {
			rbfColumn(col, s.x[i*s.d:i*s.d+s.d], s.sq[i], s.x, s.sq, s.d, start, n, s.gamma)
		} else {
			s.fillDst, s.fillRow, s.fillStart = col, i, start
			grain := max(512, (n-start+4*s.workers-1)/(4*s.workers))
			// Background: a fill must never stop half-way; the solver checks ctx itself. So
			// the only error is a worker's panic, raised again here for solve to return.
			parallel.Repanic(parallel.For(context.Background(), n-start, grain, s.workers, s.fillFn))
			s.fillDst = nil
		}
	}
	return col
}

// initGradient sets G = Q alpha and G_bar = sum over upper-bound i of C*Q_i, as libsvm does
// (summing over i in order for each entry, with Q rounded to float32), but computing the
// kernel block directly in parallel over ranges of positions instead of column by column
// through the cache.
func (s *solver) initGradient(ctx context.Context) error {
	// The non-zero alphas are a prefix of the rows.
	nz := 0
	for nz < s.l && s.alpha[nz] > 0 {
		nz++
	}
	// These are whole columns of Q: keep the last ones that fit in the cache, as libsvm's
	// cache holds them after its column-by-column loop (same values, same LRU order).
	s.initFrom = nz - min(nz, s.cache.room(s.l))
	for i := s.initFrom; i < nz; i++ {
		s.cache.put(i, s.l)
	}
	return parallel.For(ctx, s.l, initChunk, s.workers, func(_, lo, hi int) { s.initRows(lo, hi, nz) })
}

// initChunk is the number of positions whose gradient one task computes. Their rows (and the
// block of columns being summed) stay in the CPU cache while all columns stream past in
// blocks: going through every column for four positions at a time instead re-reads the whole
// training matrix for every four positions.
const initChunk = 256

// initRows sets G and G_bar at positions [lo, hi) from the first nz columns, summing over the
// columns in order for each position.
func (s *solver) initRows(lo, hi, nz int) {
	const ib = blk / 4 // columns per block: four positions x ib columns per exp block
	var g, gb [initChunk]float64
	for b := 0; b < nz; b += ib {
		e := min(b+ib, nz)
		j := lo
		for ; j+4 <= hi; j += 4 {
			s.initBlock4(j, b, e, g[j-lo:j-lo+4:j-lo+4], gb[j-lo:j-lo+4:j-lo+4])
		}
		for ; j < hi; j++ {
			s.initBlock1(j, b, e, &g[j-lo], &gb[j-lo])
		}
	}
	copy(s.g[lo:hi], g[:hi-lo])
	copy(s.gBar[lo:hi], gb[:hi-lo])
}

// initBlock4 adds columns [b, e) (at most blk/4) to the sums g and gb of positions j..j+3, and
// stores the values in the cached columns from initFrom on.
func (s *solver) initBlock4(j, b, e int, gs, gbs []float64) {
	var buf [blk]float64
	d, ng := s.d, -s.gamma
	x, sqAll, alpha, status, cols, from := s.x, s.sq, s.alpha, s.status, s.cache.cols, s.initFrom
	o := j * d
	r0 := x[o : o+d : o+d]
	r1 := x[o+d : o+2*d : o+2*d][:len(r0)]
	r2 := x[o+2*d : o+3*d : o+3*d][:len(r0)]
	r3 := x[o+3*d : o+4*d : o+4*d][:len(r0)]
	sq0, sq1, sq2, sq3 := sqAll[j], sqAll[j+1], sqAll[j+2], sqAll[j+3]
	i := b
	// Two columns at a time: eight independent sums in flight.
	for ; i+2 <= e; i += 2 {
		xi := x[i*d : i*d+d : i*d+d][:len(r0)]
		xh := x[i*d+d : i*d+2*d : i*d+2*d][:len(r0)]
		var a0, a1, a2, a3, c0, c1, c2, c3 float64
		for k, v := range r0 {
			u, w := xi[k], xh[k]
			v1, v2, v3 := r1[k], r2[k], r3[k]
			a0 += u * v
			a1 += u * v1
			a2 += u * v2
			a3 += u * v3
			c0 += w * v
			c1 += w * v1
			c2 += w * v2
			c3 += w * v3
		}
		sqi, sqh := sqAll[i], sqAll[i+1]
		t := buf[4*(i-b) : 4*(i-b)+8 : 4*(i-b)+8]
		t[0] = ng * (sqi + sq0 - 2*a0)
		t[1] = ng * (sqi + sq1 - 2*a1)
		t[2] = ng * (sqi + sq2 - 2*a2)
		t[3] = ng * (sqi + sq3 - 2*a3)
		t[4] = ng * (sqh + sq0 - 2*c0)
		t[5] = ng * (sqh + sq1 - 2*c1)
		t[6] = ng * (sqh + sq2 - 2*c2)
		t[7] = ng * (sqh + sq3 - 2*c3)
	}
	for ; i < e; i++ {
		xi := x[i*d : i*d+d : i*d+d][:len(r0)]
		var a0, a1, a2, a3 float64
		for k, v := range r0 {
			u := xi[k]
			a0 += u * v
			a1 += u * r1[k]
			a2 += u * r2[k]
			a3 += u * r3[k]
		}
		sqi := sqAll[i]
		t := buf[4*(i-b) : 4*(i-b)+4 : 4*(i-b)+4]
		t[0] = ng * (sqi + sq0 - 2*a0)
		t[1] = ng * (sqi + sq1 - 2*a1)
		t[2] = ng * (sqi + sq2 - 2*a2)
		t[3] = ng * (sqi + sq3 - 2*a3)
	}
	arg := buf[:4*(e-b)]
	expBlock(arg)
	g0, g1, g2, g3 := gs[0], gs[1], gs[2], gs[3]
	b0, b1, b2, b3 := gbs[0], gbs[1], gbs[2], gbs[3]
	for i := b; i < e; i++ {
		t := arg[4*(i-b) : 4*(i-b)+4 : 4*(i-b)+4]
		f0, f1, f2, f3 := float32(t[0]), float32(t[1]), float32(t[2]), float32(t[3])
		if i >= from {
			c := cols[i][j : j+4 : j+4]
			c[0], c[1], c[2], c[3] = f0, f1, f2, f3
		}
		q0, q1, q2, q3 := float64(f0), float64(f1), float64(f2), float64(f3)
		ai := alpha[i]
		g0 += ai * q0
		g1 += ai * q1
		g2 += ai * q2
		g3 += ai * q3
		if status[i] == upperBound {
			b0 += q0
			b1 += q1
			b2 += q2
			b3 += q3
		}
	}
	gs[0], gs[1], gs[2], gs[3] = g0, g1, g2, g3
	gbs[0], gbs[1], gbs[2], gbs[3] = b0, b1, b2, b3
}

// initBlock1 adds columns [b, e) to the sums g and gb of position j.
func (s *solver) initBlock1(j, b, e int, g, gb *float64) {
	var buf [blk]float64
	d, ng := s.d, -s.gamma
	rj := s.x[j*d : j*d+d : j*d+d]
	arg := buf[:e-b]
	for i := b; i < e; i++ {
		arg[i-b] = ng * (s.sq[i] + s.sq[j] - 2*dot(s.x[i*d:i*d+d], rj))
	}
	expBlock(arg)
	for i := b; i < e; i++ {
		q := float64(float32(arg[i-b]))
		if i >= s.initFrom {
			s.cache.cols[i][j] = float32(q)
		}
		*g += s.alpha[i] * q
		if s.status[i] == upperBound {
			*gb += q
		}
	}
}

// solve runs SMO from the initial alphas to an eps-optimal point (or maxIter iterations) and
// returns rho. The alphas are left in s.alpha in position order; s.perm maps them back. A panic
// while solving (a kernel column's worker's included) is returned as an error wrapping a
// *parallel.PanicError.
func (s *solver) solve(ctx context.Context) (rho float64, err error) {
	defer func() {
		if v := recover(); v != nil {
			rho, err = 0, parallel.Recovered(v)
		}
	}()
	l := s.l
	s.activeSize = l
	if err := s.initGradient(ctx); err != nil {
		return 0, err
	}
	counter := min(l, 1000) + 1
	for {
		if s.iter >= s.maxIter {
			s.hitMaxIter = true
			break
		}
		counter--
		if counter == 0 {
			counter = min(l, 1000)
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			if s.shrinking {
				s.doShrinking()
			}
		}
		i, j, ok := s.selectWorkingSet()
		if !ok {
			// Optimal on the active set: rebuild the whole gradient and check again.
			s.reconstructGradient()
			s.activeSize = l
			if i, j, ok = s.selectWorkingSet(); !ok {
				break
			}
			counter = 1 // shrink at the next iteration
		}
		s.iter++
		s.step(i, j)
	}
	return s.calculateRho(), nil
}

// step updates alpha_i and alpha_j (y_i = y_j = +1, C = 1), then G, the statuses and G_bar.
func (s *solver) step(i, j int) {
	n := s.activeSize
	qi := s.column(i, n)
	qj := s.column(j, n)
	ai, aj := s.alpha[i], s.alpha[j]
	oldI, oldJ := ai, aj

	quad := 1 + 1 - 2*float64(qi[j]) // QD is 1 for the RBF kernel: exp(-gamma*0)
	if quad <= 0 {
		quad = tau
	}
	delta := (s.g[i] - s.g[j]) / quad
	sum := ai + aj
	ai -= delta
	aj += delta
	if sum > 1 {
		if ai > 1 {
			ai, aj = 1, sum-1
		}
	} else if aj < 0 {
		aj, ai = 0, sum
	}
	if sum > 1 {
		if aj > 1 {
			aj, ai = 1, sum-1
		}
	} else if ai < 0 {
		ai, aj = 0, sum
	}
	s.alpha[i], s.alpha[j] = ai, aj

	di, dj := ai-oldI, aj-oldJ
	g := s.g[:n]
	qi, qj = qi[:n], qj[:n]
	for k := range g {
		g[k] += float64(qi[k])*di + float64(qj[k])*dj
	}

	ui, uj := s.status[i] == upperBound, s.status[j] == upperBound
	s.updateStatus(i)
	s.updateStatus(j)
	if ui != (s.status[i] == upperBound) {
		s.addGBar(i, ui)
	}
	if uj != (s.status[j] == upperBound) {
		s.addGBar(j, uj)
	}
}

// addGBar subtracts (wasUpper) or adds column i to G_bar over all l positions.
func (s *solver) addGBar(i int, wasUpper bool) {
	q := s.column(i, s.l)
	gb := s.gBar[:len(q)]
	if wasUpper {
		for k, v := range q {
			gb[k] -= 1 * float64(v)
		}
	} else {
		for k, v := range q {
			gb[k] += 1 * float64(v)
		}
	}
}

// selectWorkingSet is libsvm's WSS 3 (second-order selection): i maximises -G over
// I_up = {alpha < C}, j minimises -(G_i... )^2/quad over I_low = {alpha > 0} with
// -G_j < -G_i. It reports false when the maximal violation Gmax+Gmax2 is below eps.
func (s *solver) selectWorkingSet() (int, int, bool) {
	n := s.activeSize
	g := s.g[:n]
	st := s.status[:n]
	gmax := math.Inf(-1)
	gmax2 := math.Inf(-1)
	gmaxIdx, gminIdx := -1, -1
	objDiffMin := math.Inf(1)
	for t, v := range g {
		if st[t] != upperBound && -v >= gmax {
			gmax, gmaxIdx = -v, t
		}
	}
	i := gmaxIdx
	if i != -1 {
		qi := s.column(i, n)
		for j, v := range g {
			if st[j] == lowerBound {
				continue
			}
			gradDiff := gmax + v
			if v >= gmax2 {
				gmax2 = v
			}
			if gradDiff > 0 {
				quad := 1 + 1 - 2.0*float64(qi[j])
				var objDiff float64
				if quad > 0 {
					objDiff = -(gradDiff * gradDiff) / quad
				} else {
					objDiff = -(gradDiff * gradDiff) / tau
				}
				if objDiff <= objDiffMin {
					gminIdx, objDiffMin = j, objDiff
				}
			}
		}
	} else {
		for j, v := range g {
			if st[j] != lowerBound && v >= gmax2 {
				gmax2 = v
			}
		}
	}
	if gmax+gmax2 < s.eps || gminIdx == -1 {
		return 0, 0, false
	}
	return gmaxIdx, gminIdx, true
}

func (s *solver) beShrunk(i int, gmax1, gmax2 float64) bool {
	switch s.status[i] {
	case upperBound:
		return -s.g[i] > gmax1
	case lowerBound:
		return s.g[i] > gmax2
	}
	return false
}

// doShrinking moves variables that are bound and unlikely to move to the end of the active set.
func (s *solver) doShrinking() {
	gmax1 := math.Inf(-1) // max -G over I_up
	gmax2 := math.Inf(-1) // max G over I_low
	for i := range s.activeSize {
		if s.status[i] != upperBound && -s.g[i] >= gmax1 {
			gmax1 = -s.g[i]
		}
		if s.status[i] != lowerBound && s.g[i] >= gmax2 {
			gmax2 = s.g[i]
		}
	}
	if !s.unshrink && gmax1+gmax2 <= s.eps*10 {
		s.unshrink = true
		s.reconstructGradient()
		s.activeSize = s.l
	}
	for i := 0; i < s.activeSize; i++ {
		if !s.beShrunk(i, gmax1, gmax2) {
			continue
		}
		s.activeSize--
		for s.activeSize > i {
			if !s.beShrunk(s.activeSize, gmax1, gmax2) {
				s.swapIndex(i, s.activeSize)
				break
			}
			s.activeSize--
		}
	}
	s.cache.flushSwaps()
}

// reconstructGradient recomputes G for the inactive positions from G_bar and the free
// variables, choosing libsvm's cheaper of the two loop orders.
func (s *solver) reconstructGradient() {
	l, n := s.l, s.activeSize
	if n == l {
		return
	}
	for j := n; j < l; j++ {
		s.g[j] = s.gBar[j] // + p[j] = 0
	}
	nrFree := 0
	for j := range n {
		if s.status[j] == free {
			nrFree++
		}
	}
	if int64(nrFree)*int64(l) > 2*int64(n)*int64(l-n) {
		for i := n; i < l; i++ {
			qi := s.column(i, n)
			gi := s.g[i]
			for j, v := range qi {
				if s.status[j] == free {
					gi += s.alpha[j] * float64(v)
				}
			}
			s.g[i] = gi
		}
	} else {
		for i := range n {
			if s.status[i] != free {
				continue
			}
			qi := s.column(i, l)
			ai := s.alpha[i]
			g := s.g[n:l]
			for k, v := range qi[n:l] {
				g[k] += ai * float64(v)
			}
		}
	}
}

func (s *solver) swapIndex(i, j int) {
	s.cache.swap(i, j)
	d := s.d
	ri, rj := s.x[i*d:i*d+d], s.x[j*d:j*d+d]
	for k := range ri {
		ri[k], rj[k] = rj[k], ri[k]
	}
	s.sq[i], s.sq[j] = s.sq[j], s.sq[i]
	s.g[i], s.g[j] = s.g[j], s.g[i]
	s.status[i], s.status[j] = s.status[j], s.status[i]
	s.alpha[i], s.alpha[j] = s.alpha[j], s.alpha[i]
	s.perm[i], s.perm[j] = s.perm[j], s.perm[i]
	s.gBar[i], s.gBar[j] = s.gBar[j], s.gBar[i]
}

// calculateRho is the mean gradient over the free variables, or the midpoint of the bounds
// the bound variables give when none is free.
func (s *solver) calculateRho() float64 {
	ub, lb := math.Inf(1), math.Inf(-1)
	nrFree := 0
	var sumFree float64
	for i := range s.activeSize {
		yg := s.g[i]
		switch s.status[i] {
		case upperBound:
			lb = max(lb, yg)
		case lowerBound:
			ub = min(ub, yg)
		default:
			nrFree++
			sumFree += yg
		}
	}
	if nrFree > 0 {
		return sumFree / float64(nrFree)
	}
	return (ub + lb) / 2
}
