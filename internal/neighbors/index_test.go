package neighbors

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
)

// naive is the O(n^2) reference: every distance, sorted by (distance, row number).
func naive(X, Q *dataset.Matrix, k int, excludeSelf bool) ([]float64, []int32) {
	type cand struct {
		d2 float64
		i  int32
	}
	dist := make([]float64, Q.Rows*k)
	idx := make([]int32, Q.Rows*k)
	cands := make([]cand, 0, X.Rows)
	for q := 0; q < Q.Rows; q++ {
		cands = cands[:0]
		for i := 0; i < X.Rows; i++ {
			if excludeSelf && i == q {
				continue
			}
			var s float64
			for j := 0; j < X.Cols; j++ {
				t := Q.At(q, j) - X.At(i, j)
				s += t * t
			}
			cands = append(cands, cand{s, int32(i)})
		}
		slices.SortFunc(cands, func(a, b cand) int {
			if a.d2 != b.d2 {
				if a.d2 < b.d2 {
					return -1
				}
				return 1
			}
			return int(a.i - b.i)
		})
		for j := 0; j < k; j++ {
			dist[q*k+j] = math.Sqrt(cands[j].d2)
			idx[q*k+j] = cands[j].i
		}
	}
	return dist, idx
}

// intData returns rows of small integers: many duplicate rows and tied distances, all
// squared distances exact whatever the order of summation.
func intData(rows, cols, levels int, seed uint64) *dataset.Matrix {
	rng := rand.New(rand.NewPCG(seed, 1))
	m := dataset.NewMatrix(rows, cols)
	for i := range m.Data {
		m.Data[i] = float64(rng.IntN(levels))
	}
	return m
}

// gaussData returns continuous data with a few exact duplicate rows.
func gaussData(rows, cols int, seed uint64) *dataset.Matrix {
	rng := rand.New(rand.NewPCG(seed, 2))
	m := dataset.NewMatrix(rows, cols)
	for i := range m.Data {
		m.Data[i] = rng.NormFloat64() * float64(1+i%cols)
	}
	for i := 0; i < rows/10; i++ {
		copy(m.Row(rng.IntN(rows)), m.Row(rng.IntN(rows)))
	}
	return m
}

func TestAgainstNaive(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		X, Q  *dataset.Matrix
		exact bool // distances are exact: compare indices too
	}{
		{"int-d3", intData(700, 3, 4, 1), intData(90, 3, 5, 2), true},
		{"int-d9", intData(600, 9, 2, 3), intData(70, 9, 2, 4), true},
		{"int-d40", intData(500, 40, 2, 5), intData(60, 40, 3, 6), true},
		{"gauss-d5", gaussData(800, 5, 7), gaussData(100, 5, 8), false},
		{"gauss-d17", gaussData(600, 17, 9), gaussData(80, 17, 10), false},
		{"gauss-d70", gaussData(400, 70, 11), gaussData(50, 70, 12), false},
		{"tiny", intData(7, 2, 3, 13), intData(4, 2, 3, 14), true},
		{"all-equal", dataset.NewMatrix(50, 4), dataset.NewMatrix(5, 4), true},
	}
	type key struct {
		c     int
		k     int
		train bool
	}
	type answer struct {
		d []float64
		i []int32
	}
	memo := map[key]answer{}
	want := func(c, k int, train bool) ([]float64, []int32) {
		a, ok := memo[key{c, k, train}]
		if !ok {
			Q := cases[c].Q
			if train {
				Q = cases[c].X
			}
			a.d, a.i = naive(cases[c].X, Q, k, train)
			memo[key{c, k, train}] = a
		}
		return a.d, a.i
	}
	for ci, c := range cases {
		for _, algo := range []string{KDTree, Brute} {
			for _, leaf := range []int{2, 32} {
				for _, k := range []int{1, 5, 6} {
					if k >= c.X.Rows {
						continue
					}
					name := fmt.Sprintf("%s/%s/leaf%d/k%d", c.name, algo, leaf, k)
					t.Run(name, func(t *testing.T) {
						ix, err := Build(c.X, Options{Algorithm: algo, LeafSize: leaf, Workers: 2})
						if err != nil {
							t.Fatal(err)
						}
						dist := make([]float64, c.Q.Rows*k)
						idx := make([]int32, c.Q.Rows*k)
						if err := ix.Query(ctx, c.Q, k, dist, idx); err != nil {
							t.Fatal(err)
						}
						wd, wi := want(ci, k, false)
						compare(t, "Query", dist, idx, wd, wi, c.exact, algo == KDTree)

						dist = make([]float64, c.X.Rows*k)
						idx = make([]int32, c.X.Rows*k)
						if err := ix.QueryTrain(ctx, k, dist, idx); err != nil {
							t.Fatal(err)
						}
						wd, wi = want(ci, k, true)
						compare(t, "QueryTrain", dist, idx, wd, wi, c.exact, algo == KDTree)
					})
				}
			}
		}
	}
}

// compare checks results against the naive search. With anyTie set (the KD-tree, which keeps
// whichever tied row scikit-learn's walk meets first) a neighbour may be any row at the same
// distance, so only distances are compared (TestSklearnKDTreeGolden checks the rows chosen).
func compare(t *testing.T, what string, dist []float64, idx []int32, wd []float64, wi []int32, exact, anyTie bool) {
	t.Helper()
	if anyTie {
		for i := range wd {
			if math.Abs(dist[i]-wd[i]) > 1e-12*max(1, wd[i]) {
				t.Fatalf("%s: position %d: distance %v, want %v", what, i, dist[i], wd[i])
			}
		}
		return
	}
	for i := range wd {
		if exact && (dist[i] != wd[i] || idx[i] != wi[i]) {
			t.Fatalf("%s: position %d: got (%v, %d), want (%v, %d)", what, i, dist[i], idx[i], wd[i], wi[i])
		}
		if !exact && (math.Abs(dist[i]-wd[i]) > 1e-12*max(1, wd[i]) || idx[i] != wi[i]) {
			t.Fatalf("%s: position %d: got (%v, %d), want (%v, %d)", what, i, dist[i], idx[i], wd[i], wi[i])
		}
	}
}

// TestTreeAgreesWithBrute checks that each search gives bit-identical answers on every worker
// count, and that the two searches find the same distances (they sum the squares in different
// column orders, so to the last bit or so).
func TestTreeAgreesWithBrute(t *testing.T) {
	ctx := context.Background()
	for _, X := range []*dataset.Matrix{gaussData(3000, 6, 21), gaussData(1500, 30, 22), intData(2000, 8, 3, 23)} {
		const k = 7
		var first []float64
		for _, algo := range []string{KDTree, Brute} {
			var ref []float64
			var refI []int32
			for _, w := range []int{1, 3} {
				ix, err := Build(X, Options{Algorithm: algo, Workers: w})
				if err != nil {
					t.Fatal(err)
				}
				dist := make([]float64, X.Rows*k)
				idx := make([]int32, X.Rows*k)
				if err := ix.QueryTrain(ctx, k, dist, idx); err != nil {
					t.Fatal(err)
				}
				if ref == nil {
					ref, refI = dist, idx
					continue
				}
				for i := range ref {
					if dist[i] != ref[i] || idx[i] != refI[i] {
						t.Fatalf("%dx%d %s workers=%d: position %d: (%v, %d), workers=1 (%v, %d)",
							X.Rows, X.Cols, algo, w, i, dist[i], idx[i], ref[i], refI[i])
					}
				}
			}
			if first == nil {
				first = ref
				continue
			}
			for i := range ref {
				if math.Abs(ref[i]-first[i]) > 1e-12*max(1, first[i]) {
					t.Fatalf("%dx%d: position %d: brute %v, KD-tree %v", X.Rows, X.Cols, i, ref[i], first[i])
				}
			}
		}
	}
}

func TestRowAndErrors(t *testing.T) {
	X := gaussData(100, 5, 31)
	ix, err := Build(X, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < X.Rows; i++ {
		if !slices.Equal(ix.Row(i, nil), X.Row(i)) {
			t.Fatalf("Row(%d) = %v, want %v", i, ix.Row(i, nil), X.Row(i))
		}
	}
	ctx := context.Background()
	buf := make([]float64, 1000)
	ibuf := make([]int32, 1000)
	if err := ix.QueryTrain(ctx, 100, buf, ibuf); !errors.Is(err, ErrBadK) {
		t.Errorf("QueryTrain with k = n: %v, want ErrBadK", err)
	}
	if err := ix.Query(ctx, X, 0, buf, ibuf); !errors.Is(err, ErrBadK) {
		t.Errorf("Query with k = 0: %v, want ErrBadK", err)
	}
	if err := ix.Query(ctx, dataset.NewMatrix(2, 4), 1, buf, ibuf); err == nil {
		t.Error("Query with the wrong width: no error")
	}
	if err := ix.Query(ctx, X, 20, buf, ibuf); err == nil {
		t.Error("Query with short output: no error")
	}
	if _, err := Build(X, Options{Algorithm: "ball"}); err == nil {
		t.Error("Build with an unknown algorithm: no error")
	}
	if _, err := Build(dataset.NewMatrix(0, 3), Options{}); err == nil {
		t.Error("Build with no rows: no error")
	}
	c, cancel := context.WithCancel(ctx)
	cancel()
	if err := ix.QueryTrain(c, 3, buf, ibuf); !errors.Is(err, context.Canceled) {
		t.Errorf("QueryTrain with a cancelled context: %v", err)
	}
}

func TestAuto(t *testing.T) {
	for _, c := range []struct {
		cols int
		want string
	}{{3, KDTree}, {AutoMaxDim, KDTree}, {AutoMaxDim + 1, Brute}} {
		ix, err := Build(dataset.NewMatrix(10, c.cols), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if ix.Algorithm() != c.want {
			t.Errorf("%d columns: %s, want %s", c.cols, ix.Algorithm(), c.want)
		}
	}
}
