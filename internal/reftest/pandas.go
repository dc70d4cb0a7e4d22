package reftest

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
)

// The reference scores were computed on the data as pandas 1.5.3 reads it (read_csv with the
// default float_precision), whose parser is not correctly rounded: it accumulates at most 17
// digits, leading zeros included, in a float64 and then scales by a power of ten. 45% of
// cardio's cells differ from Go's strconv.ParseFloat by an ulp or so. HBOS is discontinuous at
// bin edges, and columns with a few evenly spaced values put values exactly on edges, so an
// accuracy test can replay pandas' parse to compare like with like (it matches pandas on every
// cell of all 23 reference datasets).

var pow10 = func() (e [309]float64) {
	for i := range e {
		e[i], _ = strconv.ParseFloat("1e"+strconv.Itoa(i), 64)
	}
	return e
}()

// PandasParse is pandas' precise_xstrtod (pandas/_libs/src/parser/tokenizer.c) for plain
// decimal numbers with an optional exponent.
func PandasParse(s string) (float64, bool) {
	p, neg := 0, false
	if p < len(s) && (s[p] == '+' || s[p] == '-') {
		neg = s[p] == '-'
		p++
	}
	num, exp, nd := 0.0, 0, 0
	digit := func() bool { return p < len(s) && s[p] >= '0' && s[p] <= '9' }
	for digit() {
		if nd < 17 {
			num = float64(num*10) + float64(s[p]-'0')
			nd++
		} else {
			exp++
		}
		p++
	}
	if p < len(s) && s[p] == '.' {
		p++
		dec := 0
		for nd < 17 && digit() {
			num = float64(num*10) + float64(s[p]-'0')
			p++
			nd++
			dec++
		}
		for digit() {
			p++
		}
		exp -= dec
	}
	if nd == 0 {
		return 0, false
	}
	if neg {
		num = -num
	}
	if p < len(s) && (s[p] == 'e' || s[p] == 'E') {
		p++
		eneg := false
		if p < len(s) && (s[p] == '+' || s[p] == '-') {
			eneg = s[p] == '-'
			p++
		}
		n := 0
		for digit() && n < 10000 {
			n = n*10 + int(s[p]-'0')
			p++
		}
		if eneg {
			n = -n
		}
		exp += n
	}
	if p != len(s) {
		return 0, false
	}
	switch {
	case exp > 308:
		return 0, false
	case exp > 0:
		num *= pow10[exp]
	case exp < -616:
		num = 0
	case exp < -308:
		num = num / pow10[-308-exp] / pow10[308]
	default:
		num /= pow10[-exp]
	}
	return num, true
}

// PandasX reads dataset name's features as pandas does; X (as Load read it) gives the
// expected shape. Detectors that are discontinuous in their input (hbos at bin edges) compare
// against the reference on these values.
func PandasX(t testing.TB, name string, X *dataset.Matrix) *dataset.Matrix {
	t.Helper()
	dir, _ := Root()
	f, err := os.Open(filepath.Join(dir, "datasets", "adbench", name+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	sc.Scan()
	header := strings.Split(sc.Text(), ",")
	label := -1
	for j, h := range header {
		if h == "label" {
			label = j
		}
	}
	out := dataset.NewMatrix(X.Rows, X.Cols)
	i := 0
	for sc.Scan() {
		if sc.Text() == "" {
			continue
		}
		if i >= X.Rows {
			t.Fatalf("%s: more rows than reftest loaded", name)
		}
		j := 0
		for k, cell := range strings.Split(sc.Text(), ",") {
			if k == label {
				continue
			}
			v, ok := PandasParse(cell)
			if !ok || j >= X.Cols {
				t.Fatalf("%s: row %d, column %d: cannot replay pandas on %q", name, i, k, cell)
			}
			out.Set(i, j, v)
			j++
		}
		i++
	}
	if err := sc.Err(); err != nil || i != X.Rows {
		t.Fatalf("%s: read %d rows of %d: %v", name, i, X.Rows, err)
	}
	return out
}

// CheckPandas runs a subtest for every dataset with scikit-learn's scores of algorithm algo:
// fitScore fits a detector on a matrix and scores its rows, on the data as PandasX parses it,
// and the subtest fails unless 99.9 % of the rows agree with the reference to 1e-6 relative
// (the share on our own parser's correctly rounded data is logged, for information).
func CheckPandas(t *testing.T, algo string, fitScore func(t testing.TB, X *dataset.Matrix) []float64) {
	t.Helper()
	Each(t, algo, func(t *testing.T, ds *Dataset, want []float64) {
		own, _ := RelClose(fitScore(t, ds.X), want, 1e-6)
		got := fitScore(t, PandasX(t, ds.Name, ds.X))
		share, worst := RelClose(got, want, 1e-6)
		t.Logf("%s: %.4f%% of %d rows within 1e-6 relative (%.4f%% on strconv-parsed data); worst row %d: got %.10g, want %.10g (relative error %.2g)",
			ds.Name, 100*share, len(want), 100*own, worst, got[worst], want[worst], math.Abs(got[worst]-want[worst])/math.Abs(want[worst]))
		if share < 0.999 {
			t.Errorf("only %.4f%% of rows within 1e-6 relative", 100*share)
		}
	})
}
