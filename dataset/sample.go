package dataset

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
)

// MaxSampleRows bounds the rows a Sampler keeps, whatever its caller asks: a sample is held in
// memory, and a request past this is a mistake in a size computation, not a wish.
const MaxSampleRows = 1 << 28

// Sampler keeps a uniform random sample of at most n rows of a stream of chunks whose length
// it need not know: every set of n rows of the stream is equally likely to be the sample
// (reservoir sampling, Li's Algorithm L, which draws a random number per row kept rather than
// per row seen). The sample depends only on the seed and the rows, not on how they are cut
// into chunks. Until more than n rows have been seen the sample is every row, in order.
//
// Memory grows with the rows kept, up to n rows of the stream's width, never with the rows
// seen. A Sampler is used by one goroutine at a time.
type Sampler struct {
	n    int
	cols int
	rng  *rand.Rand
	seen int64 // rows added so far
	x    Matrix
	at   []int64 // at[k] is the 0-based stream row held in slot k
	w    float64 // Algorithm L's W
	next int64   // the stream row that replaces a slot next; math.MaxInt64 for none
}

// NewSampler returns a Sampler keeping up to n rows (1 <= n <= MaxSampleRows), drawing its
// random numbers from a PCG generator seeded by seed: the same seed and rows give the same
// sample.
func NewSampler(n int, seed uint64) (*Sampler, error) {
	if n < 1 || n > MaxSampleRows {
		return nil, fmt.Errorf("dataset: a sample of %d rows: must be between 1 and %d", n, MaxSampleRows)
	}
	return &Sampler{n: n, rng: rand.New(rand.NewPCG(seed, 0x6e6f6d616c79)), next: -1}, nil
}

// Seen returns the number of rows added so far.
func (s *Sampler) Seen() int64 { return s.seen }

// Add offers every row of x to the sample. x is not kept: its rows are copied. All chunks must
// have the width of the first.
func (s *Sampler) Add(x *Matrix) error {
	if x.Rows == 0 {
		return nil
	}
	if s.cols == 0 {
		s.cols = x.Cols
	}
	s.x.Cols = s.cols
	if x.Cols != s.cols || len(x.Data) != x.Rows*x.Cols {
		return fmt.Errorf("dataset: sample: %w: a chunk of %d x %d after chunks of %d columns", ErrShape, x.Rows, x.Cols, s.cols)
	}
	// Fill: the first n rows are the sample.
	if k := min(s.n-len(s.at), x.Rows); k > 0 {
		s.x.Data = append(s.x.Data, x.Data[:k*x.Cols]...)
		for r := range k {
			s.at = append(s.at, s.seen+int64(r))
		}
		s.x.Rows += k
		if len(s.at) == s.n {
			s.w = math.Exp(math.Log(s.uniform()) / float64(s.n))
			s.next = s.seen + int64(k) + s.skip()
		}
	}
	// Replace: row s.next takes a random slot, then the next row to take is drawn.
	end := s.seen + int64(x.Rows)
	for s.next >= 0 && s.next < end {
		r := int(s.next - s.seen)
		slot := s.rng.IntN(s.n)
		copy(s.x.Data[slot*s.cols:(slot+1)*s.cols], x.Data[r*x.Cols:(r+1)*x.Cols])
		s.at[slot] = s.next
		s.w *= math.Exp(math.Log(s.uniform()) / float64(s.n))
		if sk := s.skip(); sk >= math.MaxInt64-s.next-1 {
			s.next = math.MaxInt64
		} else {
			s.next += 1 + sk
		}
	}
	s.seen = end
	return nil
}

// skip draws how many rows Algorithm L passes over before the next one it takes:
// floor(log(U) / log(1 - W)), saturating when W is so small that no row would be taken.
func (s *Sampler) skip() int64 {
	d := math.Log1p(-s.w)
	if d >= 0 || math.IsNaN(d) { // W == 0: the sample is final
		return math.MaxInt64
	}
	v := math.Floor(math.Log(s.uniform()) / d)
	if v >= 1<<62 || math.IsNaN(v) {
		return math.MaxInt64
	}
	return int64(v)
}

// uniform returns a random number in the open interval (0, 1), so its logarithm is finite.
func (s *Sampler) uniform() float64 {
	return (float64(s.rng.Uint64()>>11) + 0.5) / (1 << 53)
}

// Matrix returns the sample, its rows in the order of the stream. The Sampler gives up the
// matrix: it must not be used afterwards.
func (s *Sampler) Matrix() *Matrix {
	x := &s.x
	if x.Cols == 0 {
		x.Cols = s.cols
	}
	// Put the slots in stream order in place (following the permutation's cycles), so the
	// sample is a function of the set of rows kept, and costs no second copy of itself.
	perm := make([]int, len(s.at))
	for k := range perm {
		perm[k] = k
	}
	slices.SortFunc(perm, func(a, b int) int { return cmp.Compare(s.at[a], s.at[b]) })
	tmp := make([]float64, x.Cols)
	for k := range perm {
		if perm[k] < 0 || perm[k] == k {
			continue
		}
		// Cycle from k: position j takes the row now at perm[j].
		copy(tmp, x.Row(k))
		j := k
		for {
			src := perm[j]
			perm[j] = -1
			if src == k {
				copy(x.Row(j), tmp)
				break
			}
			copy(x.Row(j), x.Row(src))
			j = src
		}
	}
	s.at = nil
	return x
}

// Reservoir reads src to its end and returns a uniform random sample of n of its rows (see
// Sampler), in the order of the file: every row, in order, when src holds n rows or fewer.
// Memory is bounded by the sample and src's chunk, whatever the size of src. An error of src
// (a bad row, a truncated file) is returned as it is, with no sample.
func Reservoir(ctx context.Context, src Source, n int, seed uint64) (*Matrix, error) {
	s, err := NewSampler(n, seed)
	if err != nil {
		return nil, err
	}
	s.cols = len(src.Columns())
	for {
		x, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			return s.Matrix(), nil
		}
		if err != nil {
			return nil, err
		}
		if err := s.Add(x); err != nil {
			return nil, err
		}
	}
}
