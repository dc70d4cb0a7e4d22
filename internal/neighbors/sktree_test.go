package neighbors

import (
	"context"
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/gonomaly/gonomaly/dataset"
)

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func readMatrix(t *testing.T, path string) *dataset.Matrix {
	recs := readCSV(t, path)
	m := dataset.NewMatrix(len(recs), len(recs[0]))
	for i, r := range recs {
		for j, s := range r {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			m.Set(i, j, v)
		}
	}
	return m
}

// TestSklearnKDTreeGolden checks that our KD-tree returns exactly scikit-learn 1.2.1's
// neighbour lists, order included, on data full of exact ties (testdata/make_golden.py made
// the expected lists with KDTree, leaf_size 30, as LocalOutlierFactor uses it).
func TestSklearnKDTreeGolden(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		k    int
	}{{"discrete", 20}, {"dups", 20}, {"mixed", 10}} {
		X := readMatrix(t, "testdata/"+tc.name+".X.csv")
		Q := X.Slice(0, 50).Clone()
		for i := range Q.Data {
			Q.Data[i] += 0.5
		}
		for _, workers := range []int{1, 3} {
			ix, err := Build(X, Options{Algorithm: KDTree, Workers: workers})
			if err != nil {
				t.Fatal(err)
			}
			for _, train := range []bool{true, false} {
				n, file := X.Rows, "train"
				if !train {
					n, file = Q.Rows, "query"
				}
				dist := make([]float64, n*tc.k)
				idx := make([]int32, n*tc.k)
				if train {
					err = ix.QueryTrain(ctx, tc.k, dist, idx)
				} else {
					err = ix.Query(ctx, Q, tc.k, dist, idx)
				}
				if err != nil {
					t.Fatal(err)
				}
				want := readCSV(t, "testdata/"+tc.name+"."+file+".idx")
				for i, row := range want {
					for j, s := range row {
						w, _ := strconv.Atoi(s)
						if got := idx[i*tc.k+j]; int(got) != w {
							t.Fatalf("%s %s workers=%d: row %d neighbour %d: index %d, scikit-learn %d", tc.name, file, workers, i, j, got, w)
						}
						q := X.Row(i)
						if !train {
							q = Q.Row(i)
						}
						var s2 float64
						for c, v := range q {
							x := v - X.At(w, c)
							s2 += x * x
						}
						if dist[i*tc.k+j] != math.Sqrt(s2) {
							t.Fatalf("%s %s: row %d neighbour %d: distance %v, exact %v", tc.name, file, i, j, dist[i*tc.k+j], math.Sqrt(s2))
						}
					}
				}
			}
		}
	}
}

// TestNthMatchesSort: after nth, the element at n is the one a full sort puts there, with
// smaller ones before and larger ones after (scikit-learn's comparator: value, then index).
func TestNthMatchesSort(t *testing.T) {
	X := intData(300, 1, 5, 77)
	for _, n := range []int{0, 1, 7, 150, 299} {
		a := make([]int32, X.Rows)
		for i := range a {
			a[i] = int32(len(a) - 1 - i)
		}
		nth(a, n, X.Data, 1, 0)
		key := func(i int32) float64 { return X.Data[i]*1e6 + float64(i) }
		for i := range a {
			if (i < n && key(a[i]) > key(a[n])) || (i > n && key(a[i]) < key(a[n])) {
				t.Fatalf("n=%d: position %d out of order", n, i)
			}
		}
	}
}

// TestSelectKeyedMatchesSort: after selectKeyed, position n holds the (key, id) pair a full sort
// puts there, with smaller pairs before and larger after, keys and ids still paired; for the
// float32 projections of pcOrder and the float64 columns of buildTree, with many ties.
func TestSelectKeyedMatchesSort(t *testing.T) {
	X := intData(300, 1, 5, 77)
	check := func(t *testing.T, keyOf func(int32) float64, sel func(ids []int32, n int) func(int) float64) {
		for _, n := range []int{0, 1, 7, 150, 299} {
			ids := make([]int32, X.Rows)
			for i := range ids {
				ids[i] = int32(len(ids) - 1 - i)
			}
			key := sel(ids, n)
			rank := func(p int) float64 { return key(p)*1e6 + float64(ids[p]) }
			for p := range ids {
				if key(p) != keyOf(ids[p]) {
					t.Fatalf("n=%d: position %d holds key %v with id %d, whose key is %v", n, p, key(p), ids[p], keyOf(ids[p]))
				}
				if (p < n && rank(p) > rank(n)) || (p > n && rank(p) < rank(n)) {
					t.Fatalf("n=%d: position %d out of order", n, p)
				}
			}
		}
	}
	keyOf := func(i int32) float64 { return X.Data[i] }
	t.Run("float32", func(t *testing.T) {
		check(t, keyOf, func(ids []int32, n int) func(int) float64 {
			keys := make([]float32, len(ids))
			for p, i := range ids {
				keys[p] = float32(X.Data[i])
			}
			selectKeyed(keys, ids, n)
			return func(p int) float64 { return float64(keys[p]) }
		})
	})
	t.Run("float64", func(t *testing.T) {
		check(t, keyOf, func(ids []int32, n int) func(int) float64 {
			keys := make([]float64, len(ids))
			for p, i := range ids {
				keys[p] = X.Data[i]
			}
			selectKeyed(keys, ids, n)
			return func(p int) float64 { return keys[p] }
		})
	})
}
