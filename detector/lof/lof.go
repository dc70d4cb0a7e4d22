package lof

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/internal/fit"
	"github.com/gonomaly/gonomaly/internal/binenc"
	"github.com/gonomaly/gonomaly/internal/neighbors"
	"github.com/gonomaly/gonomaly/internal/numsum"
	"github.com/gonomaly/gonomaly/internal/parallel"
)

// DefaultNeighbors is n_neighbors when Config.Neighbors is 0 (scikit-learn's default).
const DefaultNeighbors = 20

// ErrNotFitted is returned by Score and MarshalBinary before Fit.
var ErrNotFitted = errors.New("lof: detector is not fitted")

// Config configures a Detector. The zero value is scikit-learn's default, 20 neighbours.
type Config struct {
	// Neighbors is n_neighbors (0 = DefaultNeighbors). Fit caps it at the number of training rows minus one.
	Neighbors int
	// Workers is the number of goroutines used by Fit and Score (0 = GOMAXPROCS).
	Workers int
}

// Detector is scikit-learn's LocalOutlierFactor with novelty scoring of new rows.
type Detector struct {
	k       int // requested n_neighbors
	workers int
	// Fitted state.
	kEff  int              // neighbours used: min(k, n-1)
	ix    *neighbors.Index // the training rows
	kdist []float64        // distance from each training row to its kEff-th neighbour
	lrd   []float64        // local reachability density of each training row
	train []float64        // LOF of each training row
}

// New validates cfg and returns an unfitted detector.
func New(cfg Config) (*Detector, error) {
	if cfg.Neighbors < 0 {
		return nil, fmt.Errorf("lof: n_neighbors %d: must be at least 1 (0 means %d)", cfg.Neighbors, DefaultNeighbors)
	}
	if cfg.Neighbors == 0 {
		cfg.Neighbors = DefaultNeighbors
	}
	if cfg.Workers < 0 {
		return nil, fmt.Errorf("lof: workers %d: must not be negative (0 means every core)", cfg.Workers)
	}
	return &Detector{k: cfg.Neighbors, workers: cfg.Workers}, nil
}

// grain is the number of rows per parallel chunk of the density passes.
const grain = 1024

// MinRows is the fewest training rows: 2 (each row needs a neighbour).
func (d *Detector) MinRows() int { return 2 }

// Fit finds each training row's neighbours among the other training rows and computes their
// k-distances, local reachability densities and LOF values. X needs at least two rows.
func (d *Detector) Fit(ctx context.Context, X *dataset.Matrix) error {
	if X == nil || X.Rows == 0 || X.Cols == 0 {
		return fmt.Errorf("lof: fit: the data has no rows or no columns: %w", fit.ErrTooFewRows)
	}
	if X.Rows < 2 {
		return fmt.Errorf("lof: fit: %d row, need at least 2: %w", X.Rows, fit.ErrTooFewRows)
	}
	n := X.Rows
	k := min(d.k, n-1)
	ix, dist, idx, err := neighbors.BuildTrain(ctx, X, k, neighbors.Options{Workers: d.workers})
	if err != nil {
		return fmt.Errorf("lof: fit: %w", err)
	}
	kdist := make([]float64, n)
	for i := range kdist {
		kdist[i] = dist[i*k+k-1]
	}
	lrd := make([]float64, n)
	err = parallel.For(ctx, n, grain, d.workers, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			lrd[i] = density(dist[i*k:(i+1)*k], idx[i*k:(i+1)*k], kdist)
		}
	})
	if err != nil {
		return fmt.Errorf("lof: fit: %w", err)
	}
	train := make([]float64, n)
	err = parallel.For(ctx, n, grain, d.workers, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			train[i] = ratio(dist[i*k:(i+1)*k], idx[i*k:(i+1)*k], lrd, lrd[i])
		}
	})
	if err != nil {
		return fmt.Errorf("lof: fit: %w", err)
	}
	d.kEff, d.ix, d.kdist, d.lrd, d.train = k, ix, kdist, lrd, train
	return nil
}

// density returns the local reachability density of a row from its neighbour distances and
// indices: 1 / (mean reach distance + 1e-10), reach_dist(a, b) = max(dist(a, b), k_distance(b)).
// It overwrites dist with the reach distances.
func density(dist []float64, idx []int32, kdist []float64) float64 {
	for j, nb := range idx {
		dist[j] = max(dist[j], kdist[nb])
	}
	return 1 / (numsum.Mean(dist) + 1e-10)
}

// ratio returns the LOF of a row of density lrdA: the mean over its neighbours of
// lrd(neighbour) / lrdA, in scikit-learn's order of operations. It overwrites buf.
func ratio(buf []float64, idx []int32, lrd []float64, lrdA float64) float64 {
	for j, nb := range idx {
		buf[j] = lrd[nb] / lrdA
	}
	return numsum.Mean(buf)
}

// TrainScores returns the LOF of each training row (scikit-learn's -negative_outlier_factor_),
// or nil before Fit. The slice belongs to the detector: do not modify it.
func (d *Detector) TrainScores() []float64 { return d.train }

// scoreChunk bounds the neighbour arrays of one Score step.
const scoreChunk = 8192

// Score writes the LOF of each row of X relative to the training rows into dst (used when
// len(dst) == X.Rows, else a new slice) and returns it: scikit-learn's -score_samples in
// novelty mode. A row's neighbours are its n_neighbors nearest training rows, with no
// self-exclusion.
func (d *Detector) Score(ctx context.Context, X *dataset.Matrix, dst []float64) ([]float64, error) {
	if d.ix == nil {
		return nil, fmt.Errorf("lof: score: %w", ErrNotFitted)
	}
	if err := fit.Columns(X, d.ix.Cols()); err != nil {
		return nil, fmt.Errorf("lof: score: %w", err)
	}
	dst = fit.Dst(dst, X.Rows)
	k := d.kEff
	err := d.ix.QueryChunks(ctx, X, k, scoreChunk, func(lo, hi int, dist []float64, idx []int32) error {
		out := dst[lo:hi]
		return parallel.For(ctx, hi-lo, grain, d.workers, func(_, a, b int) {
			for i := a; i < b; i++ {
				rd, ri := dist[i*k:(i+1)*k], idx[i*k:(i+1)*k]
				out[i] = ratio(rd, ri, d.lrd, density(rd, ri, d.kdist))
			}
		})
	})
	if err != nil {
		return nil, fmt.Errorf("lof: score: %w", err)
	}
	return dst, nil
}

// formatVersion is the version of the MarshalBinary payload.
const formatVersion = 1

// MarshalBinary encodes the fitted detector: n_neighbors, the training rows, their
// k-distances, densities and LOF values.
func (d *Detector) MarshalBinary() ([]byte, error) {
	if d.ix == nil {
		return nil, fmt.Errorf("lof: encode: %w", ErrNotFitted)
	}
	n, c := d.ix.Rows(), d.ix.Cols()
	w := binenc.Writer{Buf: make([]byte, 0, 64+8*n*(c+3))}
	w.Int(formatVersion)
	w.Int(d.k)
	w.Int(d.kEff)
	w.Int(c)
	w.Float64s(d.ix.Data())
	w.Float64s(d.kdist)
	w.Float64s(d.lrd)
	w.Float64s(d.train)
	return w.Buf, nil
}

// UnmarshalBinary restores a detector encoded by MarshalBinary, rebuilding its index. A
// truncated or corrupt payload is an error, and so is one whose values Fit could not have
// written (see checkFitted and checkColumns): a decoded detector gives finite scores to
// every row whose distances to the training rows are finite. The payload's n_neighbors must
// be the detector's (from New; any, for a zero Detector). The detector keeps its own Workers
// setting.
func (d *Detector) UnmarshalBinary(b []byte) error {
	r := binenc.Reader{Buf: b}
	if v := r.Int(); r.Err() == nil && v != formatVersion {
		return fmt.Errorf("lof: decode: unknown format version %d (want %d)", v, formatVersion)
	}
	k, kEff, c := r.Int(), r.Int(), r.Int()
	data := r.Float64s()
	kdist, lrd, train := r.Float64s(), r.Float64s(), r.Float64s()
	if err := r.Done(); err != nil {
		return fmt.Errorf("lof: decode: %w", err)
	}
	n := len(train)
	switch {
	case k < 1 || c < 1 || n < 2 || kEff != min(k, n-1):
		return fmt.Errorf("lof: decode: bad header (n_neighbors %d, used %d, columns %d, rows %d)", k, kEff, c, n)
	case d.k != 0 && k != d.k:
		return fmt.Errorf("lof: decode: the payload's n_neighbors is %d, the detector's %d", k, d.k)
	case len(data)%n != 0 || len(data)/n != c || len(kdist) != n || len(lrd) != n: // not n*c, which can wrap
		return fmt.Errorf("lof: decode: %d values, %d k-distances and %d densities do not fit %d rows of %d columns",
			len(data), len(kdist), len(lrd), n, c)
	}
	if err := checkFitted(data, c, kEff, kdist, lrd, train); err != nil {
		return fmt.Errorf("lof: decode: %w", err)
	}
	if err := checkColumns(data, c, kEff, kdist, d.workers); err != nil {
		return fmt.Errorf("lof: decode: %w", err)
	}
	ix, err := neighbors.BuildRows(data, n, c, neighbors.Options{Workers: d.workers})
	if err != nil {
		return fmt.Errorf("lof: decode: %w", err)
	}
	d.k, d.kEff, d.ix, d.kdist, d.lrd, d.train = k, kEff, ix, kdist, lrd, train
	return nil
}

// maxDist is the largest finite euclidean distance: the index squares distances, so any
// distance above it is +Inf.
var maxDist = math.Sqrt(math.MaxFloat64)

// slack is the relative rounding allowed when checkFitted compares a value Fit computed with
// a bound on it (the sums involved round by some tens of ulps at most).
const slack = 1e-9

// checkFitted checks, in O(n c) time and O(c) space, the invariants Score and TrainScores rely
// on in the fitted state of len(kdist) rows of c columns with kEff neighbours each. They
// hold for whatever Fit writes; a value outside them can only come from a corrupt or forged
// model, and would turn scores into NaN or infinities, or into nonsense.
//
//   - Every training value is finite.
//   - A k-distance is a distance to another training row: finite and at most maxDist, not
//     negative, and no more than the diameter of the rows' bounding box (0 when every row is
//     the same).
//   - A density is 1 / (mean reach distance + 1e-10), and each reach distance of row i,
//     max(dist(i, nb), kdist[nb]), lies between kdist[nb] and max(kdist[i], kdist[nb]) (its
//     neighbours are within kdist[i]), while their mean is at least kdist[i] / kEff (the
//     kEff-th neighbour is one of them). So lrd[i] lies between 1 / (max kdist + 1e-10) and
//     1 / (max(kdist[i] / kEff, min kdist) + 1e-10): positive, at most 1e10.
//   - A training LOF is a mean of lrd[nb] / lrd[i], so it lies between min lrd / lrd[i] and
//     max lrd / lrd[i].
//
// With these, Score's densities are positive and its ratios finite for any row whose
// distances to the training rows are finite (for rows too large for that, Score returns
// infinities, which detector.Model.Score reports as an overflow).
func checkFitted(data []float64, c, kEff int, kdist, lrd, train []float64) error {
	lo, hi := make([]float64, c), make([]float64, c)
	copy(lo, data[:c])
	copy(hi, data[:c])
	for i := 0; i < len(data); i += c {
		for j, v := range data[i : i+c] {
			if v-v != 0 {
				return fmt.Errorf("training row %d, column %d is %v: %w", i/c, j, v, neighbors.ErrNonFinite)
			}
			lo[j], hi[j] = min(lo[j], v), max(hi[j], v)
		}
	}
	var span float64 // squared diameter of the bounding box (+Inf when that overflows)
	for j := range lo {
		w := hi[j] - lo[j]
		span += w * w
	}
	kmax := min(math.Sqrt(span)*(1+slack), maxDist)
	minK, maxK := math.Inf(1), 0.0
	for i, v := range kdist {
		if !(v >= 0 && v <= kmax) {
			return fmt.Errorf("k-distance of row %d is %v, not in [0, %v] "+
				"(the training rows' bounding box has diameter %v; a finite distance is at most %v)",
				i, v, kmax, math.Sqrt(span), maxDist)
		}
		minK, maxK = min(minK, v), max(maxK, v)
	}
	minL, maxL := math.Inf(1), 0.0
	for i, v := range lrd {
		a := 1 / (maxK + 1e-10) * (1 - slack)
		b := 1 / (max(kdist[i]/float64(kEff), minK) + 1e-10) * (1 + slack)
		if !(v >= a && v <= b) {
			return fmt.Errorf("density of row %d is %v, not in [%v, %v] where its k-distance %v and the others' (%v to %v) put it",
				i, v, a, b, kdist[i], minK, maxK)
		}
		minL, maxL = min(minL, v), max(maxL, v)
	}
	for i, v := range train {
		a, b := minL/lrd[i]*(1-slack), maxL/lrd[i]*(1+slack)
		if !(v >= a && v <= b) {
			return fmt.Errorf("training LOF of row %d is %v, not in [%v, %v] where its density %v and the others' (%v to %v) put it",
				i, v, a, b, lrd[i], minL, maxL)
		}
	}
	return nil
}

// checkColumns checks that the k-distances fit the training rows: row i has kEff other rows
// within kdist[i] (its neighbours), so in each column at least kEff other rows' values lie
// within kdist[i] of its own (a coordinate differs by no more than the distance). A row whose
// values were changed to ones far from the other rows', or a k-distance made too small, is
// found here; checkFitted's bounds relate the k-distances to each other only. It sorts each
// column's values with their rows' k-distances (radixSort), then counts the rows within reach
// among the kEff on each side of each value: O(n c) time, plus the comparison sorts of runs of
// near-equal values, and scratch of under twice the payload's size.
//
// A computed distance d bounds the rounded difference x in one column by d (1 + 3 eps) plus
// sqrt(c) 2^-538 (x*x rounds to at most half a subnormal away, or to 0), hence the slack.
func checkColumns(data []float64, c, kEff int, kdist []float64, workers int) error {
	n := len(kdist)
	reach := make([]float64, n)
	for i, kd := range kdist {
		reach[i] = kd*(1+slack) + 1e-150
	}
	// Columns are gathered colBlock at a time (a cache line of each row), on up to w workers,
	// each with colBlock+1 columns of 16-byte entries, against 8 (c+3) n bytes of payload.
	const colBlock = 8
	g := min(c, colBlock)
	w := min(parallel.Workers(workers, (c+g-1)/g), max(1, (c+3)/(g+1)))
	scratch := make([][]entry, w)
	type failure struct {
		e    entry
		near int // other rows within reach
	}
	bad := make([]*failure, c)
	err := parallel.For(context.Background(), c, g, w, func(wk, lo, hi int) {
		if scratch[wk] == nil {
			scratch[wk] = make([]entry, (g+1)*n)
		}
		cols, spare := scratch[wk][:g*n], scratch[wk][g*n:]
		m := hi - lo
		for i := 0; i < n; i++ {
			for t, v := range data[i*c+lo : i*c+hi] {
				cols[t*n+i] = entry{orderKey(v), reach[i]}
			}
		}
		for t := 0; t < m; t++ {
			col := radixSort(cols[t*n:(t+1)*n], spare)
			if &col[0] == &spare[0] {
				spare = cols[t*n : (t+1)*n] // free now, the next column's scratch
			}
			for p, e := range col {
				// Most often the kEff values on one side are all within reach.
				v := keyValue(e.key)
				a, b := orderKey(v-e.reach), orderKey(v+e.reach)
				if (p >= kEff && col[p-kEff].key >= a) || (p+kEff < n && col[p+kEff].key <= b) {
					continue
				}
				left := col[max(0, p-kEff):p]
				right := col[p+1 : min(n, p+1+kEff)]
				l := len(left) - sort.Search(len(left), func(q int) bool { return left[q].key >= a })
				r := sort.Search(len(right), func(q int) bool { return right[q].key > b })
				if l+r < kEff {
					bad[lo+t] = &failure{e, l + r}
					break
				}
			}
		}
	})
	if err != nil {
		return err
	}
	for j, f := range bad {
		if f == nil {
			continue
		}
		i := 0 // the first row with the failing value and k-distance
		for i < n-1 && (orderKey(data[i*c+j]) != f.e.key || reach[i] != f.e.reach) {
			i++
		}
		return fmt.Errorf("training row %d has %d other rows within its k-distance %v in column %d (value %v), "+
			"not the %d neighbours it needs", i, f.near, kdist[i], j, data[i*c+j], kEff)
	}
	return nil
}

// entry is a value of a column, as its orderKey, and the reach of its row's k-distance.
type entry struct {
	key   uint64
	reach float64
}

// orderKey maps a finite float64 to a uint64 in the same order (-0 to +0's key).
func orderKey(v float64) uint64 {
	if v == 0 {
		v = 0
	}
	b := math.Float64bits(v)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

// keyValue inverts orderKey.
func keyValue(k uint64) float64 {
	if k>>63 != 0 {
		return math.Float64frombits(k &^ (1 << 63))
	}
	return math.Float64frombits(^k)
}

// radixSort sorts a by key, using buf (as long as a) as scratch, and returns the one of them
// holding the result. It is an LSD radix sort by the keys' top 33 bits (three 11-bit digits,
// a digit that all keys share skipped); a run of keys that agree there, rare in continuous
// data, is finished by a comparison sort.
func radixSort(a, buf []entry) []entry {
	const bits, passes, shift = 11, 3, 64 - 33
	cmpKey := func(x, y entry) int { return cmp.Compare(x.key, y.key) }
	if len(a) < 256 {
		slices.SortFunc(a, cmpKey)
		return a
	}
	var hist [passes][1 << bits]int
	for _, e := range a {
		k := e.key >> shift
		hist[0][k&(1<<bits-1)]++
		hist[1][k>>bits&(1<<bits-1)]++
		hist[2][k>>(2*bits)]++
	}
	for p := range passes {
		h, s := &hist[p], shift+p*bits
		if h[a[0].key>>s&(1<<bits-1)] == len(a) {
			continue
		}
		sum := 0
		for b := range h {
			h[b], sum = sum, sum+h[b]
		}
		for _, e := range a {
			b := e.key >> s & (1<<bits - 1)
			buf[h[b]] = e
			h[b]++
		}
		a, buf = buf, a
	}
	for i := 0; i < len(a); {
		j := i + 1
		for j < len(a) && a[j].key>>shift == a[i].key>>shift {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(a[i:j], cmpKey)
		}
		i = j
	}
	return a
}

// Estimate returns the cost of Fit on rows x cols (local_outlier_factor is a TrainScorer): the
// neighbour index (see neighbors.Estimate), its search of every training row with
// k = min(n_neighbors, rows-1), whose n*k distances and indices (12 bytes each) the density
// passes need at once, and the k-distances, densities and LOF values (8 bytes a row each).
func (d *Detector) Estimate(rows, cols int) fit.Cost {
	if rows < 2 || cols < 1 {
		return fit.Cost{}
	}
	k := min(d.k, rows-1)
	ib, sb, ns := neighbors.Estimate(rows, cols, k, d.workers)
	n, fk := float64(rows), float64(k)
	w := float64(parallel.Workers(d.workers, (rows+grain-1)/grain))
	return fit.Make(ib+sb+n*fk*12+3*n*8, ns+4*n*fk/w)
}
