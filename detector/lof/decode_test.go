package lof

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
	"github.com/gonomaly/gonomaly/internal/binenc"
)

// payload is the fitted state as MarshalBinary writes it.
type payload struct {
	k, kEff, c              int
	data, kdist, lrd, train []float64
}

func decodePayload(t *testing.T, b []byte) payload {
	t.Helper()
	r := binenc.Reader{Buf: b}
	if v := r.Int(); v != formatVersion {
		t.Fatalf("format version %d", v)
	}
	p := payload{k: r.Int(), kEff: r.Int(), c: r.Int()}
	p.data, p.kdist, p.lrd, p.train = r.Float64s(), r.Float64s(), r.Float64s(), r.Float64s()
	if err := r.Done(); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p payload) encode() []byte {
	var w binenc.Writer
	w.Int(formatVersion)
	w.Int(p.k)
	w.Int(p.kEff)
	w.Int(p.c)
	w.Float64s(p.data)
	w.Float64s(p.kdist)
	w.Float64s(p.lrd)
	w.Float64s(p.train)
	return w.Buf
}

func (p payload) clone() payload {
	p.data, p.kdist, p.lrd, p.train = slices.Clone(p.data), slices.Clone(p.kdist), slices.Clone(p.lrd), slices.Clone(p.train)
	return p
}

// fitted fits a detector of n_neighbors k on X and returns it with its payload.
func fitted(t *testing.T, k int, X *dataset.Matrix) (*Detector, []byte) {
	t.Helper()
	d, err := New(Config{Neighbors: k})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Fit(context.Background(), X); err != nil {
		t.Fatal(err)
	}
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return d, b
}

func randomRows(rng *rand.Rand, n, c int, scale float64) *dataset.Matrix {
	X := dataset.NewMatrix(n, c)
	for i := range X.Data {
		X.Data[i] = scale * rng.NormFloat64()
	}
	return X
}

// TestDecodeRefusesBrokenInvariants edits one value of a real payload at a time, past every
// invariant UnmarshalBinary checks (see checkFitted and checkColumns), and wants each refused
// with an error that names what is wrong. Two are FuzzUnmarshalModel crashers (in package
// detector's testdata/fuzz/FuzzUnmarshalModel): lof-nan-density, a NaN density that every new
// row's score averaged in, so each scored NaN; and lof-far-rows, training values moved near
// 1e264 with their k-distances left as they were, so that new rows of ordinary values found
// them among their neighbours at infinite distance.
func TestDecodeRefusesBrokenInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const k = 5
	_, b := fitted(t, k, randomRows(rng, 40, 3, 1))
	good := decodePayload(t, b)
	// Two clusters of equal rows so far apart that the diameter of their bounding box
	// overflows: only maxDist bounds the k-distances.
	X := dataset.NewMatrix(20, 3)
	for i := range X.Data {
		X.Data[i] = 1e200
		if i < 30 {
			X.Data[i] = -1e200
		}
	}
	_, bfar := fitted(t, k, X)
	far := decodePayload(t, bfar)
	for _, c := range []struct {
		name, want string
		edit       func(p *payload)
	}{
		{"density NaN (the fuzz crasher)", "density of row 21 is NaN", func(p *payload) { p.lrd[21] = math.NaN() }},
		{"density +Inf", "density of row 3 is +Inf", func(p *payload) { p.lrd[3] = math.Inf(1) }},
		{"density 0", "density of row 3 is 0", func(p *payload) { p.lrd[3] = 0 }},
		{"density negative", "density of row 3 is -", func(p *payload) { p.lrd[3] = -p.lrd[3] }},
		{"density above 1 / (k-distance / k + 1e-10)", "density of row 7", func(p *payload) { p.lrd[7] *= 2 * float64(k) }},
		{"density below 1 / (largest k-distance + 1e-10)", "density of row 7", func(p *payload) { p.lrd[7] /= 100 }},
		{"density 1e10 with a k-distance above 0", "density of row 0", func(p *payload) { p.lrd[0] = 1e10 }},
		{"k-distance NaN", "k-distance of row 2 is NaN", func(p *payload) { p.kdist[2] = math.NaN() }},
		{"k-distance +Inf", "k-distance of row 2 is +Inf", func(p *payload) { p.kdist[2] = math.Inf(1) }},
		{"k-distance negative", "k-distance of row 2 is -", func(p *payload) { p.kdist[2] = -p.kdist[2] }},
		{"k-distance beyond the rows' bounding box", "k-distance of row 2 is 1e+06", func(p *payload) { p.kdist[2] = 1e6 }},
		{"k-distance beyond the largest finite distance", "k-distance of row 2 is 1e+200", func(p *payload) {
			*p = far.clone()
			p.kdist[2] = 1e200
		}},
		{"row far from every other row (the second fuzz crasher)", "training row 4 has 0 other rows within its k-distance",
			func(p *payload) { p.data[4*3+2] = 1e264 }},
		{"k-distance 0 for a row with no duplicate", "training row 9 has 0 other rows within its k-distance 0 in column 0",
			func(p *payload) { p.kdist[9] = 0 }},
		{"k-distance smaller than its row's neighbours allow", "training row 9 has", func(p *payload) { p.kdist[9] /= 1000 }},
		{"training LOF NaN", "training LOF of row 5 is NaN", func(p *payload) { p.train[5] = math.NaN() }},
		{"training LOF +Inf", "training LOF of row 5 is +Inf", func(p *payload) { p.train[5] = math.Inf(1) }},
		{"training LOF outside the densities' ratios", "training LOF of row 5 is 1000", func(p *payload) { p.train[5] = 1000 }},
		{"training value NaN", "training row 4, column 1 is NaN", func(p *payload) { p.data[4*3+1] = math.NaN() }},
		{"training value -Inf", "training row 4, column 1 is -Inf", func(p *payload) { p.data[4*3+1] = math.Inf(-1) }},
		{"neighbours used above rows - 1", "bad header", func(p *payload) { p.k, p.kEff = 40, 40 }},
		{"neighbours used not min(n_neighbors, rows - 1)", "bad header", func(p *payload) { p.kEff = 4 }},
		{"n_neighbors 0", "bad header", func(p *payload) { p.k, p.kEff = 0, 0 }},
		{"n_neighbors not the detector's", "n_neighbors is 6, the detector's 5", func(p *payload) { p.k, p.kEff = 6, 6 }},
		{"one row", "bad header", func(p *payload) {
			p.data, p.kdist, p.lrd, p.train = p.data[:3], p.kdist[:1], p.lrd[:1], p.train[:1]
		}},
		{"fewer k-distances than rows", "do not fit", func(p *payload) { p.kdist = p.kdist[1:] }},
		{"fewer densities than rows", "do not fit", func(p *payload) { p.lrd = p.lrd[1:] }},
		{"values not rows x columns", "do not fit", func(p *payload) { p.data = p.data[1:] }},
		{"columns not the values' width", "do not fit", func(p *payload) { p.c = 2 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := good.clone()
			c.edit(&p)
			d, _ := New(Config{Neighbors: k})
			err := d.UnmarshalBinary(p.encode())
			if err == nil {
				t.Fatal("decoded without error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			if d.ix != nil {
				t.Error("the refused payload left the detector fitted")
			}
		})
	}
	// The unedited payloads load.
	for _, p := range []payload{good, far} {
		d, _ := New(Config{Neighbors: k})
		if err := d.UnmarshalBinary(p.encode()); err != nil {
			t.Fatalf("a payload Fit wrote: %v", err)
		}
	}
	// A zero Detector takes the payload's n_neighbors.
	var d Detector
	if err := d.UnmarshalBinary(b); err != nil || d.k != k {
		t.Fatalf("zero Detector: n_neighbors %d, error %v", d.k, err)
	}
}

// TestDecodeAcceptsWhatFitWrites checks that the invariants hold for what Fit computes on data
// at their edges: every row the same (k-distances 0, densities 1e10), many duplicates (and
// integer columns, whose values tie), two rows, n_neighbors above the rows, values near the
// largest and smallest that square finitely, wide data (the brute-force search); and that the
// decoded detector scores as the fitted one.
func TestDecodeAcceptsWhatFitWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	dup := randomRows(rng, 200, 2, 1)
	for i := 2; i < dup.Rows; i++ {
		copy(dup.Row(i), dup.Row(i%7))
	}
	same := dataset.NewMatrix(30, 4)
	for i := range same.Data {
		same.Data[i] = 3.5
	}
	shifted := randomRows(rng, 100, 3, 1)
	for i := range shifted.Data {
		shifted.Data[i] += 1e12
	}
	integers := randomRows(rng, 3000, 3, 3)
	for i, v := range integers.Data {
		integers.Data[i] = math.Round(v)
	}
	for _, c := range []struct {
		name string
		k    int
		X    *dataset.Matrix
	}{
		{"gaussian", 20, randomRows(rng, 500, 3, 1)},
		{"every row the same", 5, same},
		{"duplicates", 20, dup},
		{"two rows", 20, randomRows(rng, 2, 3, 1)},
		{"n_neighbors above rows", 50, randomRows(rng, 30, 2, 1)},
		{"k = 1", 1, randomRows(rng, 100, 2, 1)},
		{"large values", 10, randomRows(rng, 100, 3, 1e150)},
		{"tiny values (squares 0)", 10, randomRows(rng, 100, 3, 1e-300)},
		{"small values (subnormal squares)", 10, randomRows(rng, 100, 3, 1e-160)},
		{"integer values", 10, integers},
		{"offset far from 0", 10, shifted},
		{"wide", 20, randomRows(rng, 300, 40, 1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, b := fitted(t, c.k, c.X)
			d2, _ := New(Config{Neighbors: c.k})
			if err := d2.UnmarshalBinary(b); err != nil {
				t.Fatalf("a payload Fit wrote is refused: %v", err)
			}
			Q := randomRows(rng, 50, c.X.Cols, 1)
			want, err := d.Score(context.Background(), Q, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d2.Score(context.Background(), Q, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("decoded detector scores %v, fitted %v", got[:3], want[:3])
			}
		})
	}
}

// TestDecodeRefusesFarRowLarge is the far-row case on enough rows for checkColumns' radix
// sort, with the row's value moved in each column in turn.
func TestDecodeRefusesFarRowLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n, c = 3000, 12
	_, b := fitted(t, 20, randomRows(rng, n, c, 1))
	good := decodePayload(t, b)
	for j := 0; j < c; j++ {
		p := good.clone()
		p.data[1234*c+j] = -40
		d, _ := New(Config{Neighbors: 20})
		err := d.UnmarshalBinary(p.encode())
		want := fmt.Sprintf("training row 1234 has 0 other rows within its k-distance %v in column %d", p.kdist[1234], j)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("column %d: error %v, want one saying %q", j, err, want)
		}
	}
}

// TestRadixSort compares radixSort with a comparison sort on keys of both signs, zeros, ties,
// and runs that agree in the top 33 bits, which its passes do not see.
func TestRadixSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{2, 255, 256, 1000, 100000} {
		for name, gen := range map[string]func() float64{
			"normal":    rng.NormFloat64,
			"integers":  func() float64 { return math.Round(3 * rng.NormFloat64()) },
			"zeros":     func() float64 { return []float64{0, math.Copysign(0, -1), 1}[rng.IntN(3)] },
			"near 1e12": func() float64 { return 1e12 + rng.Float64()*1e-3 },
			"wide range": func() float64 {
				return math.Ldexp(rng.NormFloat64(), rng.IntN(2000)-1000)
			},
		} {
			a := make([]entry, n)
			for i := range a {
				a[i] = entry{orderKey(gen()), float64(i)}
			}
			want := slices.Clone(a)
			slices.SortStableFunc(want, func(x, y entry) int { return cmp.Compare(x.key, y.key) })
			got := radixSort(a, make([]entry, n))
			for i := range got {
				if got[i].key != want[i].key {
					t.Fatalf("%s, %d keys: position %d has %v, want %v", name, n, i, keyValue(got[i].key), keyValue(want[i].key))
				}
			}
			if !slices.IsSortedFunc(got, func(x, y entry) int { return cmp.Compare(keyValue(x.key), keyValue(y.key)) }) {
				t.Fatalf("%s, %d keys: not in the order of the values", name, n)
			}
		}
	}
}
