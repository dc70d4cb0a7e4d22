package eval

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// order gives what a stable sort of the indices by descending score gives, ties (many here:
// scores drawn from 50 values) in index order.
func TestOrderIsTheStableDescendingOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 7, 1000, 20000} {
		scores := make([]float64, n)
		for i := range scores {
			scores[i] = float64(r.IntN(50)) / 7
		}
		want := make([]int, n)
		for i := range want {
			want[i] = i
		}
		sort.SliceStable(want, func(a, b int) bool { return scores[want[a]] > scores[want[b]] })
		var got []int
		for _, r := range order(scores) {
			got = append(got, r.i)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("n=%d: order differs from the stable sort", n)
		}
	}
}

// BenchmarkEvaluate is detect's evaluation of a large labelled file: a million scores.
func BenchmarkEvaluate(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 1_000_000
	scores, labels := make([]float64, n), make([]int, n)
	for i := range scores {
		scores[i] = r.Float64()
		if r.IntN(100) == 0 {
			labels[i] = 1
			scores[i] += 0.5
		}
	}
	for b.Loop() {
		if _, err := Evaluate(labels, scores); err != nil {
			b.Fatal(err)
		}
	}
}
