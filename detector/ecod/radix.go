package ecod

import (
	"math"
	"slices"
)

// orderKey maps a float64 to a uint64 with the same order (both zeros map to +0's key, so keys
// are equal exactly when the values compare equal; NaN is never passed).
func orderKey(v float64) uint64 {
	if v == 0 {
		v = 0 // -0 → +0
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

const (
	radixBits    = 11
	radixBuckets = 1 << radixBits
	// The radix passes sort by the top 33 bits of the keys (three 11-bit digits); keys that
	// agree there, rare for continuous data and already in order for repeated values, are
	// finished by a comparison sort of their run. This halves the passes of a full LSD sort.
	radixPasses = 3
	radixShift  = 64 - radixPasses*radixBits
	// minRadix is the length below which sorting falls back to pdqsort.
	minRadix = 1024
)

// pair is a key with its row number.
type pair struct {
	key uint64
	idx uint32
}

// sorter is one worker's scratch space for radix sorts; reused across calls.
type sorter struct {
	keys, kbuf  []uint64
	pairs, pbuf []pair
	hist        [radixPasses][radixBuckets]int
}

func (s *sorter) growKeys(n int) {
	if cap(s.keys) < n {
		s.keys = make([]uint64, n)
		s.kbuf = make([]uint64, n)
	}
	s.keys, s.kbuf = s.keys[:n], s.kbuf[:n]
}

func (s *sorter) growPairs(n int) {
	if cap(s.pairs) < n {
		s.pairs = make([]pair, n)
		s.pbuf = make([]pair, n)
	}
	s.pairs, s.pbuf = s.pairs[:n], s.pbuf[:n]
}

// sortFloats sorts x in place ascending (zeros become +0).
func (s *sorter) sortFloats(x []float64) {
	if len(x) < minRadix {
		for i, v := range x {
			if v == 0 {
				x[i] = 0
			}
		}
		slices.Sort(x)
		return
	}
	s.growKeys(len(x))
	for i, v := range x {
		s.keys[i] = orderKey(v)
	}
	keys := s.sortKeys()
	for i, k := range keys {
		x[i] = keyValue(k)
	}
}

// clearHist zeroes the digit counts.
func (s *sorter) clearHist() {
	for p := range s.hist {
		clear(s.hist[p][:])
	}
}

// offsets turns pass p's counts into starting offsets, or reports that every key shares the
// digit (the pass can be skipped).
func (s *sorter) offsets(p int, first uint64, n int) bool {
	h := &s.hist[p]
	if h[(first>>(radixShift+p*radixBits))&(radixBuckets-1)] == n {
		return false
	}
	sum := 0
	for b := range h {
		h[b], sum = sum, sum+h[b]
	}
	return true
}

// sortKeys sorts s.keys and returns the slice holding the result (s.keys or s.kbuf).
func (s *sorter) sortKeys() []uint64 {
	keys, buf := s.keys, s.kbuf
	n := len(keys)
	s.clearHist()
	h0, h1, h2 := &s.hist[0], &s.hist[1], &s.hist[2]
	for _, k := range keys {
		k >>= radixShift
		h0[k&(radixBuckets-1)]++
		h1[(k>>radixBits)&(radixBuckets-1)]++
		h2[k>>(2*radixBits)]++
	}
	for p := 0; p < radixPasses; p++ {
		if !s.offsets(p, keys[0], n) {
			continue
		}
		h := &s.hist[p]
		shift := uint(radixShift + p*radixBits)
		for _, k := range keys {
			b := (k >> shift) & (radixBuckets - 1)
			buf[h[b]] = k
			h[b]++
		}
		keys, buf = buf, keys
	}
	for i := 0; i < n; {
		top, sorted := keys[i]>>radixShift, true
		j := i + 1
		for ; j < n && keys[j]>>radixShift == top; j++ {
			sorted = sorted && keys[j-1] <= keys[j]
		}
		if !sorted {
			slices.Sort(keys[i:j])
		}
		i = j
	}
	return keys
}

// sortPairs sorts s.pairs by key and returns the slice holding the result.
func (s *sorter) sortPairs() []pair {
	ps, buf := s.pairs, s.pbuf
	n := len(ps)
	s.clearHist()
	h0, h1, h2 := &s.hist[0], &s.hist[1], &s.hist[2]
	for i := range ps {
		k := ps[i].key >> radixShift
		h0[k&(radixBuckets-1)]++
		h1[(k>>radixBits)&(radixBuckets-1)]++
		h2[k>>(2*radixBits)]++
	}
	for p := 0; p < radixPasses; p++ {
		if !s.offsets(p, ps[0].key, n) {
			continue
		}
		h := &s.hist[p]
		shift := uint(radixShift + p*radixBits)
		for _, q := range ps {
			b := (q.key >> shift) & (radixBuckets - 1)
			buf[h[b]] = q
			h[b]++
		}
		ps, buf = buf, ps
	}
	for i := 0; i < n; {
		top, sorted := ps[i].key>>radixShift, true
		j := i + 1
		for ; j < n && ps[j].key>>radixShift == top; j++ {
			sorted = sorted && ps[j-1].key <= ps[j].key
		}
		if !sorted {
			slices.SortFunc(ps[i:j], cmpPair)
		}
		i = j
	}
	return ps
}

func cmpPair(a, b pair) int {
	switch {
	case a.key < b.key:
		return -1
	case a.key > b.key:
		return 1
	}
	return 0
}
