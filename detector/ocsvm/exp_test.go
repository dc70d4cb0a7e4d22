package ocsvm

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// bigExp is exp(x) rounded to float64 from a 200-bit evaluation: the Taylor series of
// exp(x/2^12), squared 12 times.
func bigExp(x float64) float64 {
	const prec, halvings = 200, 12
	y := new(big.Float).SetPrec(prec).SetFloat64(math.Ldexp(x, -halvings))
	sum := new(big.Float).SetPrec(prec).SetFloat64(1)
	term := new(big.Float).SetPrec(prec).SetFloat64(1)
	for n := int64(1); n < 40; n++ {
		term.Mul(term, y)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(n))
		sum.Add(sum, term)
	}
	for range halvings {
		sum.Mul(sum, sum)
	}
	f, _ := sum.Float64()
	return f
}

func TestExpBlockAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	args := []float64{0, math.Copysign(0, -1), 1e-300, -1e-300, -707.9, 708.9, -750, 800, math.Inf(-1), math.NaN()}
	for range 3000 {
		args = append(args, -rng.Float64()*60, -rng.Float64()*700, rng.Float64()*0.02-0.01)
	}
	got := append([]float64(nil), args...)
	expBlock(got)
	worst := int64(0)
	for i, x := range args {
		want := math.Exp(x) // outside the fast range expBlock must agree with math.Exp exactly
		if x > -708 && x < 709 {
			want = bigExp(x)
		}
		if math.IsNaN(want) {
			if !math.IsNaN(got[i]) {
				t.Fatalf("exp(%v) = %v, want NaN", x, got[i])
			}
			continue
		}
		u := int64(math.Float64bits(got[i])) - int64(math.Float64bits(want))
		u = max(u, -u)
		worst = max(worst, u)
		if u > 1 {
			t.Fatalf("exp(%v) = %v, want %v (%d ulp)", x, got[i], want, u)
		}
	}
	t.Logf("worst error %d ulp over %d arguments", worst, len(args))
}
