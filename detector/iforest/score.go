package iforest

import (
	"context"
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/detector/internal/fit"
	"github.com/gonomaly/gonomaly/internal/parallel"
)

// blockRows returns how many rows Score converts and pushes through the forest together (B):
// a multiple of 8, as rows are walked eight at a time, large enough to amortise bringing each
// tree into L1, small enough that the block (column by column: row r's value of column f at
// f*B + r) stays in L1 beside the tree.
func blockRows(cols int) int {
	b := 256
	for b > 16 && b*cols*4 > 16<<10 {
		b >>= 1
	}
	return b
}

// scratch is one worker's buffers for a block.
type scratch struct {
	x   []uint32 // the block, column-major: x[f*B+r] = key32(float32(X[lo+r, f]))
	acc []float64
}

// getScratch returns a block's buffers, reused from an earlier Score when one is free.
func (m *model) getScratch() *scratch {
	if s, ok := m.scratch.Get().(*scratch); ok {
		return s
	}
	return &scratch{x: make([]uint32, m.block*m.cols), acc: make([]float64, m.block)}
}

// Score returns each row's anomaly score s(x, psi) = 2^(-E[h(x)]/c(psi)) in (0, 1], higher
// meaning more anomalous (scikit-learn's -score_samples). dst is used when len(dst) ==
// X.Rows, else a new slice is allocated. A row's score does not depend on the other rows in
// X nor on Workers.
func (d *Detector) Score(ctx context.Context, X *dataset.Matrix, dst []float64) ([]float64, error) {
	m := d.m
	if m == nil {
		return nil, ErrNotFitted
	}
	if err := checkMatrix(X, m.cols); err != nil {
		return nil, fmt.Errorf("iforest: score: %w", err)
	}
	dst = fit.Dst(dst, X.Rows)
	if X.Rows == 0 {
		return dst, ctx.Err()
	}
	cols := m.cols
	B := m.block
	chunks := (X.Rows + B - 1) / B
	workers := parallel.Workers(d.cfg.Workers, chunks)
	scr := make([]*scratch, workers)
	defer func() {
		for _, s := range scr {
			if s != nil {
				m.scratch.Put(s)
			}
		}
	}()
	norm := float64(m.trees) * AveragePathLength(m.psi)

	var mu sync.Mutex
	badRow, badCol := -1, -1
	err := parallel.For(ctx, X.Rows, B, workers, func(w, lo, hi int) {
		s := scr[w]
		if s == nil {
			s = m.getScratch()
			scr[w] = s
		}
		n := hi - lo
		bad := -1
		for r := range n {
			row := X.Data[(lo+r)*cols : (lo+r+1)*cols]
			for f, v := range row {
				f32 := float32(v)
				if f32-f32 != 0 && bad < 0 { // NaN, ±Inf, or beyond float32's range
					bad = r*cols + f
				}
				s.x[f*B+r] = key32(f32)
			}
		}
		if bad >= 0 {
			mu.Lock()
			if r := lo + bad/cols; badRow < 0 || r < badRow {
				badRow, badCol = r, bad%cols
			}
			mu.Unlock()
			return
		}
		m.pathLengths(s.x, n, s.acc)
		out := dst[lo:hi]
		for i, a := range s.acc[:n] {
			if norm == 0 { // one row per tree: scikit-learn defines the score as 1
				out[i] = 1
			} else {
				out[i] = math.Exp2(-a / norm)
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("iforest: score: %w", err)
	}
	if badRow >= 0 {
		if v := X.At(badRow, badCol); v-v == 0 {
			return nil, fmt.Errorf("iforest: score: row %d, column %d: %v is beyond float32's range (±3.4e38): %w", badRow, badCol, v, fit.ErrOverflow)
		}
		return nil, fmt.Errorf("iforest: score: row %d, column %d: value %v is not finite: %w", badRow, badCol, X.At(badRow, badCol), fit.ErrNonFiniteInput)
	}
	return dst, nil
}

// pathLengths sets acc[r] to the sum over trees of row r's path length for the first n rows
// of the column-major block x of B = m.block rows of keys (len(x) = B*m.cols, len(acc) = B).
// Trees are added in order, so the sum does not depend on the blocking.
//
// Rows are walked eight at a time through one tree: their walks are independent, so the CPU
// overlaps their loads. Rows n..B-1 (up to the next multiple of 8) are walked too, over
// whatever the buffer holds, and their sums ignored.
//
// The walk uses unsafe pointer arithmetic to drop the bounds checks of the innermost loop
// (with them, and with an array of node structs, it ran at half the speed). It relies on
// invariants established by Fit and checked by UnmarshalBinary: every off is feature*B with
// feature in [0, m.cols), so off+r+k < len(x); and after k < depth steps from the root the
// node number (from 1) is below 2^(k+1) <= 2^depth, so depth steps end on a leaf.
func (m *model) pathLengths(x []uint32, n int, acc []float64) {
	B := m.block
	if len(x) != B*m.cols || len(acc) != B || n > B || B%8 != 0 {
		panic("iforest: pathLengths: bad block") // a programming error inside this package
	}
	clear(acc)
	D := m.depth
	ni, nl := 1<<D-1, 1<<D
	for t := 0; t < m.trees; t++ {
		op := unsafe.Pointer(&m.offs[t*ni])
		kp := unsafe.Pointer(&m.keys[t*ni])
		leaves := m.leaves[t*nl : (t+1)*nl : (t+1)*nl]
		for r := 0; r < n; r += 8 {
			xr := unsafe.Pointer(&x[r])
			// Heap numbering from 1: node j's children are 2j and 2j+1, leaves are
			// nl..2nl-1. It saves an add per step over 0-based numbering.
			j0, j1, j2, j3, j4, j5, j6, j7 := uintptr(1), uintptr(1), uintptr(1), uintptr(1), uintptr(1), uintptr(1), uintptr(1), uintptr(1)
			for range D {
				j0 = step(op, kp, xr, j0, 0)
				j1 = step(op, kp, xr, j1, 1)
				j2 = step(op, kp, xr, j2, 2)
				j3 = step(op, kp, xr, j3, 3)
				j4 = step(op, kp, xr, j4, 4)
				j5 = step(op, kp, xr, j5, 5)
				j6 = step(op, kp, xr, j6, 6)
				j7 = step(op, kp, xr, j7, 7)
			}
			a := acc[r : r+8 : r+8]
			a[0] += leaves[int(j0)-nl]
			a[1] += leaves[int(j1)-nl]
			a[2] += leaves[int(j2)-nl]
			a[3] += leaves[int(j3)-nl]
			a[4] += leaves[int(j4)-nl]
			a[5] += leaves[int(j5)-nl]
			a[6] += leaves[int(j6)-nl]
			a[7] += leaves[int(j7)-nl]
		}
	}
}

// step moves row k of the block at xr from node j (numbered from 1) of the tree (offsets at
// op, keys at kp) to its left child 2j or, when key(x) > key(thr), its right child 2j+1
// (scikit-learn sends x <= thr left). The comparison is the sign of a 64-bit difference: no
// branch, no flags.
func step(op, kp, xr unsafe.Pointer, j, k uintptr) uintptr {
	off := *(*uint32)(unsafe.Add(op, j*4-4))
	key := *(*uint32)(unsafe.Add(kp, j*4-4))
	x := *(*uint32)(unsafe.Add(xr, (uintptr(off)+k)*4))
	return 2*j + uintptr((uint64(key)-uint64(x))>>63)
}
