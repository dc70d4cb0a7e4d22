package neighbors

import (
	"math"
	"unsafe"

	"github.com/gonomaly/gonomaly/internal/parallel"
)

// Estimate returns what Build of n rows of d columns and a QueryTrain of k neighbours each
// need, computed in float64 (no overflow for absurd shapes): the index's bytes (with the
// build's temporaries), the query's scratch bytes over all its workers (not the n*k answers,
// which the caller allocates), and the wall time of both in nanoseconds. workers is
// Options.Workers.
//
// Memory is counted from the allocations of sktree.go, widebuild.go, widesearch.go and
// tree.go. The time is a model calibrated on uniform synthetic data, where a KD-tree prunes
// least: a query examines about (k + 30) 2^(0.75 d) rows (all of them from about 10 columns on), at 2 ns per value,
// plus 40 ns k log k for its heap and sort and a walk of 0.2 us log n; the wide search costs 3 ns per training
// row and 25 ns per neighbour and column. Real data, with structure, is usually faster.
func Estimate(n, d, k, workers int) (indexBytes, scratchBytes, ns float64) {
	if n < 1 || d < 1 {
		return 0, 0, 0
	}
	fn, fd, fk := float64(n), float64(d), float64(max(k, 1))
	w := float64(parallel.Workers(workers, (n+63)/64))
	logn := math.Log2(fn + 1)
	build := 2.5 * fn * logn * fd
	var query float64 // ns of one query, on one core
	switch {
	case d <= AutoMaxDim:
		levels := math.Floor(math.Log2(math.Max(1, (fn-1)/skLeafSize)) + 1)
		nodes := math.Exp2(levels) - 1
		indexBytes = 16*fn*fd + 4*fn + nodes*9 + nodes*2*fd*8
		scratchBytes = w * ((fk+1)*12 + 2*skLeafSize*12)
		examined := math.Min(fn, (fk+30)*math.Exp2(0.75*fd))
		query = 2*fd*examined + 40*fk*math.Log2(fk+1) + 200*logn
	case wideOn() && fd*0x1p-24 < 0.01:
		dp, m := math.Ceil(fd/8)*8, math.Min(wideM, fd)
		panels := math.Ceil(fn / wideNR)
		indexBytes = 8*fn*fd + // data
			4*fn*dp + 4*panels*wideNR*dp + // y, yb
			4*panels*wideNR*m + 8*panels*wideNR + 16*fn + 4*fn + // pb, nb and ny, r and rp, perm
			4*fn*m + 4*fn + 24*(fn/512+1)*fd + 4*wideSample*dp // proj, keys, column sums, sample
		scratchBytes = w * (wideBlock*fk*8 + wideBlock*(2*fk+64)*float64(unsafe.Sizeof(wideCand{})) +
			2*wideBlock*dp*4 + wideBlock*fd*8 + panels*8)
		query = 3*fn + 25*fk*fd
	default:
		nodes := 2*fn/16 + 1
		indexBytes = 8*fn*fd + 4*fn + nodes*float64(unsafe.Sizeof(node{})) + nodes*2*fd*8 + 24*(fn/512+1)*fd
		scratchBytes = w * (queryBlock*fd*8 + nodes/2*float64(unsafe.Sizeof(leafOrder{})))
		query = 1*fn*fd + 25*fk*fd
	}
	return indexBytes, scratchBytes, build + fn*query/w
}
