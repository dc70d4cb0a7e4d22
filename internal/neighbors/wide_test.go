package neighbors

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/reftest"
)

// wideCase is a data set for the wide search's property tests: training rows X and new rows Q.
type wideCase struct {
	name string
	X, Q *dataset.Matrix
}

// wideCases returns data built to stress the prefilters: duplicate rows and tied distances,
// constant columns, large offsets where the dot-product form cancels badly, columns of very
// different scales, clusters far apart, and queries far outside the training data.
func wideCases() []wideCase {
	var cs []wideCase
	add := func(name string, X *dataset.Matrix, seed uint64) {
		cs = append(cs, wideCase{name, X, wideQueries(X, seed)})
	}
	for i, d := range []int{16, 17, 64, 166, 300} {
		seed := uint64(100 + i)
		n := 320
		if d >= 166 {
			n = 260
		}
		add(fmt.Sprintf("gauss-d%d", d), gaussData(n, d, seed), seed)
		add(fmt.Sprintf("int-d%d", d), intData(n, d, 3, seed), seed)
	}
	for i, d := range []int{17, 64, 166} {
		seed := uint64(200 + i)
		n := 300
		X := gaussData(n, d, seed)
		for r := range X.Rows {
			row := X.Row(r)
			for j := 0; j < d; j += 3 {
				row[j] = 7.25 // constant columns
			}
		}
		add(fmt.Sprintf("const-cols-d%d", d), X, seed)

		X = gaussData(n, d, seed+10)
		for j := range X.Data {
			X.Data[j] = 1e9 + X.Data[j]*1e-3 // offset 10^12 times the spread
		}
		add(fmt.Sprintf("offset-d%d", d), X, seed+10)

		X = gaussData(n, d, seed+20)
		for r := range X.Rows {
			shift := 1e6 * float64(2*(r%2)-1) // two clusters, far apart
			for j, row := 0, X.Row(r); j < d; j++ {
				row[j] += shift
			}
		}
		add(fmt.Sprintf("clusters-d%d", d), X, seed+20)

		X = gaussData(n, d, seed+30)
		for r := range X.Rows {
			X.Row(r)[0] *= 1e6 // one column dominates every distance
		}
		add(fmt.Sprintf("scales-d%d", d), X, seed+30)

		X = intData(n, d, 2, seed+40)
		for r := 1; r < X.Rows; r += 2 {
			copy(X.Row(r), X.Row(0)) // half the rows equal
		}
		add(fmt.Sprintf("duplicates-d%d", d), X, seed+40)
	}
	add("tiny-n10-d20", gaussData(10, 20, 300), 300)
	add("small-n90-d24", intData(90, 24, 2, 301), 301)
	return cs
}

// wideQueries returns new rows for X: fresh rows like X's, exact copies of training rows,
// rows just beside training rows, and rows so far out that the kernels cannot take them.
func wideQueries(X *dataset.Matrix, seed uint64) *dataset.Matrix {
	rng := rand.New(rand.NewPCG(seed, 3))
	Q := dataset.NewMatrix(60, X.Cols)
	for i := range Q.Rows {
		q, src := Q.Row(i), X.Row(rng.IntN(X.Rows))
		switch i % 6 {
		case 0, 1:
			other := X.Row(rng.IntN(X.Rows))
			for j := range q {
				q[j] = (src[j] + other[j]) / 2
			}
		case 2:
			copy(q, src)
		case 3:
			copy(q, src)
			q[rng.IntN(len(q))] += 1e-9
		case 4:
			for j := range q {
				q[j] = src[j] + rng.NormFloat64()
			}
		case 5:
			if i == 5 {
				for j := range q {
					q[j] = 1e200 * float64(j%3-1) // beyond float32 once scaled
				}
			} else {
				for j := range q {
					q[j] = src[j] + 1e30
				}
			}
		}
	}
	return Q
}

// TestWideMatchesBrute checks the prefiltered wide search against the plain exact brute force:
// the same neighbours and the same distances, bit for bit, for training and new rows, with
// either kernel and any number of workers. The pure-Go kernels, slow, run on every third case
// where the assembly runs too.
func TestWideMatchesBrute(t *testing.T) {
	defer func(v bool) { useAsm = v }(useAsm)
	for ci, c := range wideCases() {
		kernels := []bool{haveAVX2}
		if haveAVX2 && ci%3 == 0 {
			kernels = append(kernels, false)
		}
		for _, k := range []int{1, 5, 20, c.X.Rows - 1} {
			if k >= c.X.Rows || k == c.X.Rows-1 && c.X.Rows > 100 {
				continue
			}
			ref, err := build(c.X, Options{Algorithm: Brute, Workers: 2}, false)
			if err != nil {
				t.Fatal(err)
			}
			if ref.wide != nil {
				t.Fatal("the reference index has the prefilter")
			}
			wantD, wantI := queryTrain(t, ref, k)
			wantQD, wantQI := query(t, ref, c.Q, k)
			for _, asm := range kernels {
				useAsm = asm
				for _, workers := range []int{1, 3} {
					name := fmt.Sprintf("%s/k%d/asm=%v/workers=%d", c.name, k, asm, workers)
					ix, err := build(c.X, Options{Algorithm: Brute, Workers: workers}, true)
					if err != nil {
						t.Fatal(err)
					}
					if ix.wide == nil {
						t.Fatalf("%s: no prefilter", name)
					}
					gotD, gotI := queryTrain(t, ix, k)
					sameAnswers(t, name+"/QueryTrain", gotD, gotI, wantD, wantI)
					gotD, gotI = query(t, ix, c.Q, k)
					sameAnswers(t, name+"/Query", gotD, gotI, wantQD, wantQI)
				}
			}
		}
	}
}

func queryTrain(t *testing.T, ix *Index, k int) ([]float64, []int32) {
	t.Helper()
	dist := make([]float64, ix.n*k)
	idx := make([]int32, ix.n*k)
	if err := ix.QueryTrain(context.Background(), k, dist, idx); err != nil {
		t.Fatal(err)
	}
	return dist, idx
}

func query(t *testing.T, ix *Index, Q *dataset.Matrix, k int) ([]float64, []int32) {
	t.Helper()
	dist := make([]float64, Q.Rows*k)
	idx := make([]int32, Q.Rows*k)
	if err := ix.Query(context.Background(), Q, k, dist, idx); err != nil {
		t.Fatal(err)
	}
	return dist, idx
}

func sameAnswers(t *testing.T, what string, gotD []float64, gotI []int32, wantD []float64, wantI []int32) {
	t.Helper()
	for i := range wantD {
		if math.Float64bits(gotD[i]) != math.Float64bits(wantD[i]) || gotI[i] != wantI[i] {
			t.Fatalf("%s: position %d: got (%v, %d), want (%v, %d)", what, i, gotD[i], gotI[i], wantD[i], wantI[i])
		}
	}
}

// TestWideFallback checks the data the bounds do not cover: the index falls back to the plain
// brute force and still answers exactly.
func TestWideFallback(t *testing.T) {
	same := dataset.NewMatrix(40, 20)
	for i := range same.Data {
		same.Data[i] = 3
	}
	huge := gaussData(50, 20, 400)
	for i := range huge.Data {
		huge.Data[i] *= 1e300 // the scale falls outside 2^-400..2^400
	}
	for _, X := range []*dataset.Matrix{same, huge} {
		ix, err := build(X, Options{Algorithm: Brute}, true)
		if err != nil {
			t.Fatal(err)
		}
		if ix.wide != nil {
			t.Fatalf("%dx%d: prefilter built where its bounds do not hold", X.Rows, X.Cols)
		}
		wantD, wantI := naive(X, X, 3, true)
		gotD, gotI := queryTrain(t, ix, 3)
		compare(t, "fallback", gotD, gotI, wantD, wantI, false, false)
	}
}

// TestWideBounds checks the two bounds the prefilters rest on, pair by pair, against the exact
// squared distance dist2 computes: Ay within sigmaY of it (scaled), and the projected lower
// bound never above it.
func TestWideBounds(t *testing.T) {
	defer func(v bool) { useAsm = v }(useAsm)
	for ci, c := range wideCases() {
		for _, asm := range []bool{haveAVX2, ci%3 != 0 && haveAVX2} {
			useAsm = asm
			ix, err := build(c.X, Options{Algorithm: Brute}, true)
			if err != nil {
				t.Fatal(err)
			}
			w := ix.wide
			rng := rand.New(rand.NewPCG(7, 7))
			for range 2000 {
				a, b := rng.IntN(ix.n), rng.IntN(ix.n)
				if rng.IntN(8) == 0 {
					b = a
				}
				exact := dist2(ix.data[a*ix.d:(a+1)*ix.d], ix.data[b*ix.d:(b+1)*ix.d], math.Inf(1)) * w.s * w.s
				rs := w.r[a] + w.r[b]
				g := dot32(w.y[a*w.dp:(a+1)*w.dp], w.y[b*w.dp:(b+1)*w.dp])
				ay := float64(w.ny[a] + (w.ny[b] - 2*g))
				if sig := w.sigmaY(rs); ay-sig > exact*wideMargin || exact > (ay+sig)*wideMargin {
					t.Fatalf("%s: rows %d, %d: Ay = %g, exact %g, sigmaY %g", c.name, a, b, ay, exact, sig)
				}
				ap := projected(w, a, b)
				lb := math.Sqrt(max(0, ap-w.kappaP*sq(w.rp[a]+w.rp[b])-w.tauP)) - w.eta*rs
				if lb > 0 && lb*lb > exact*w.e1 {
					t.Fatalf("%s: rows %d, %d: projected bound %g above the exact %g", c.name, a, b, lb*lb, exact)
				}
			}
		}
	}
}

// projected returns the kernel's Ap for tree-order rows a and b, through kern6x16 as the
// search runs it.
func projected(w *wide, a, b int) float64 {
	m := w.m
	pa := make([]float32, m*wideMR)
	for c := range m {
		pa[c*wideMR] = w.pb[((a/wideNR)*m+c)*wideNR+a%wideNR]
	}
	na := []float32{w.nb[a], 0, 0, 0, 0, 0}
	P := b / wideNR
	var out [wideMR * wideNR]float32
	thr := nanThr
	kern6x16(pa, w.pb[P*m*wideNR:(P+1)*m*wideNR], m, na, w.nb[P*wideNR:(P+1)*wideNR], &thr, &out)
	return float64(out[b%wideNR])
}

func sq(x float64) float64 { return x * x }

// TestKernels checks kern6x16 and dot32 (assembly and Go) against float64 arithmetic, within
// the error bounds the search assumes, and the kernel's bits against its own values.
func TestKernels(t *testing.T) {
	defer func(v bool) { useAsm = v }(useAsm)
	rng := rand.New(rand.NewPCG(11, 12))
	for _, asm := range []bool{false, haveAVX2} {
		useAsm = asm
		for _, d := range []int{1, 7, 8, 16, 33, 64, 166} {
			a := make([]float32, d*wideMR)
			b := make([]float32, d*wideNR)
			for i := range a {
				a[i] = float32(rng.NormFloat64())
			}
			for i := range b {
				b[i] = float32(rng.NormFloat64())
			}
			na := make([]float32, wideMR)
			nb := make([]float32, wideNR)
			var thr [wideMR]float32
			for i := range na {
				na[i] = float32(rng.Float64() * 10)
				thr[i] = float32(rng.Float64() * 20)
			}
			thr[5] = nan32
			for j := range nb {
				nb[j] = float32(rng.Float64() * 10)
			}
			nb[15] = nan32
			var out [wideMR * wideNR]float32
			m0, m1 := kern6x16(a, b, d, na, nb, &thr, &out)
			gamma := float64(d+3) * 0x1p-24
			for i := range wideMR {
				for j := range wideNR {
					var g, mag float64
					for p := range d {
						g += float64(a[p*wideMR+i]) * float64(b[p*wideNR+j])
						mag += math.Abs(float64(a[p*wideMR+i]) * float64(b[p*wideNR+j]))
					}
					want := float64(na[i]) + float64(nb[j]) - 2*g
					got := float64(out[i*wideNR+j])
					bit := (m0>>(wideNR*i)>>j)&1 == 1
					if i >= 4 {
						bit = (m1>>(wideNR*(i-4))>>j)&1 == 1
					}
					if j == 15 {
						if !math.IsNaN(got) || bit {
							t.Fatalf("asm=%v d=%d: padding (%d, %d) gave %v, bit %v", asm, d, i, j, got, bit)
						}
						continue
					}
					if tol := gamma * (2*mag + float64(na[i]) + float64(nb[j]) + math.Abs(want)); math.Abs(got-want) > tol {
						t.Fatalf("asm=%v d=%d: (%d, %d) = %v, want %v within %g", asm, d, i, j, got, want, tol)
					}
					if bit != (out[i*wideNR+j] <= thr[i]) {
						t.Fatalf("asm=%v d=%d: (%d, %d): bit %v for %v against %v", asm, d, i, j, bit, got, thr[i])
					}
				}
			}
			if dp := d &^ 7; dp > 0 {
				x, y := a[:dp], b[:dp]
				var want, mag float64
				for p := range x {
					want += float64(x[p]) * float64(y[p])
					mag += math.Abs(float64(x[p]) * float64(y[p]))
				}
				if got := float64(dot32(x, y)); math.Abs(got-want) > float64(dp)*0x1p-24*mag {
					t.Fatalf("asm=%v: dot32 over %d = %v, want %v", asm, dp, got, want)
				}
			}
		}
	}
}

// TestWideRow checks Row on an index laid out for the wide search.
func TestWideRow(t *testing.T) {
	X := gaussData(100, 40, 500)
	ix, err := build(X, Options{Algorithm: Brute}, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range X.Rows {
		if !slices.Equal(ix.Row(i, nil), X.Row(i)) {
			t.Fatalf("Row(%d) differs", i)
		}
	}
}

// TestWideMatchesBruteReference runs the comparison of TestWideMatchesBrute on the benchmark
// datasets of more than AutoMaxDim columns (the testdata subset by default, all of them with
// GONOMALY_REFERENCE_DIR): the neighbours LOF and knn fit on, bit for bit.
func TestWideMatchesBruteReference(t *testing.T) {
	if !haveAVX2 {
		t.Skip("no AVX2: Build never uses the prefilters here (TestWideMatchesBrute covers the Go kernels)")
	}
	for _, name := range reftest.Names(t) {
		X := reftest.Load(t, name).X
		if X.Cols <= AutoMaxDim {
			continue
		}
		ref, err := build(X, Options{Algorithm: Brute}, false)
		if err != nil {
			t.Fatal(err)
		}
		ix, err := build(X, Options{Algorithm: Brute}, true)
		if err != nil {
			t.Fatal(err)
		}
		if ix.wide == nil {
			t.Fatalf("%s: no prefilter", name)
		}
		for _, k := range []int{5, 20} {
			k = min(k, X.Rows-1)
			wantD, wantI := queryTrain(t, ref, k)
			gotD, gotI := queryTrain(t, ix, k)
			sameAnswers(t, fmt.Sprintf("%s/k%d/QueryTrain", name, k), gotD, gotI, wantD, wantI)
		}
		Q := X.Slice(0, min(X.Rows, 500))
		wantD, wantI := query(t, ref, Q, 5)
		gotD, gotI := query(t, ix, Q, 5)
		sameAnswers(t, name+"/Query", gotD, gotI, wantD, wantI)
	}
}
