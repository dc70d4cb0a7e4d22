package ocsvm

// The kernel loops below work on four rows at a time so that four independent dot products
// (or squared distances) are in flight at once, while each one is still summed strictly left to
// right with a single accumulator: the same rounding as libsvm's loops, but without their
// dependency chain of one add per feature. The exps are then taken over a block on the stack.

// blk is the number of kernel values whose exps are taken together (a multiple of 4).
const blk = 64

// rbfColumn writes the training kernel K(xi, x_j) for rows j in [lo, hi) of the row-major
// matrix x (width d) into dst[j], rounded to float32 as libsvm's Qfloat cache does. It uses
// libsvm's training form exp(-gamma*(|xi|^2+|xj|^2-2 xi.xj)) with the squared norms sq.
func rbfColumn(dst []float32, xi []float64, sqi float64, x, sq []float64, d, lo, hi int, gamma float64) {
	var buf [blk]float64
	ng := -gamma
	xi = xi[:d]
	for b := lo; b < hi; b += blk {
		e := min(b+blk, hi)
		arg := buf[:e-b]
		j := b
		for ; j+4 <= e; j += 4 {
			o := j * d
			r0 := x[o : o+d : o+d]
			r1 := x[o+d : o+2*d : o+2*d]
			r2 := x[o+2*d : o+3*d : o+3*d]
			r3 := x[o+3*d : o+4*d : o+4*d]
			r1, r2, r3 = r1[:len(r0)], r2[:len(r0)], r3[:len(r0)]
			var a0, a1, a2, a3 float64
			for k, v := range xi[:len(r0)] {
				a0 += v * r0[k]
				a1 += v * r1[k]
				a2 += v * r2[k]
				a3 += v * r3[k]
			}
			s := sq[j : j+4 : j+4]
			t := arg[j-b : j-b+4 : j-b+4]
			t[0] = ng * (sqi + s[0] - 2*a0)
			t[1] = ng * (sqi + s[1] - 2*a1)
			t[2] = ng * (sqi + s[2] - 2*a2)
			t[3] = ng * (sqi + s[3] - 2*a3)
		}
		for ; j < e; j++ {
			arg[j-b] = ng * (sqi + sq[j] - 2*dot(xi, x[j*d:j*d+d]))
		}
		expBlock(arg)
		out := dst[b:e]
		for k, v := range arg {
			out[k] = float32(v)
		}
	}
}

// dot returns a.b summed left to right.
func dot(a, b []float64) float64 {
	var s float64
	b = b[:len(a)]
	for k, v := range a {
		s += v * b[k]
	}
	return s
}

// decisionSum returns sum_i coef[i]*exp(-gamma*|x-sv_i|^2) over the support vectors sv
// (row-major, width len(x)), summed in support-vector order. The distance is summed from the
// differences as libsvm's k_function does at prediction time.
func decisionSum(x, sv, coef []float64, gamma float64) float64 {
	var buf [blk]float64
	d := len(x)
	ng := -gamma
	var sum float64
	n := len(coef)
	for b := 0; b < n; b += blk {
		e := min(b+blk, n)
		arg := buf[:e-b]
		i := b
		for ; i+4 <= e; i += 4 {
			o := i * d
			r0 := sv[o : o+d : o+d]
			r1 := sv[o+d : o+2*d : o+2*d]
			r2 := sv[o+2*d : o+3*d : o+3*d]
			r3 := sv[o+3*d : o+4*d : o+4*d]
			r1, r2, r3 = r1[:len(r0)], r2[:len(r0)], r3[:len(r0)]
			var a0, a1, a2, a3 float64
			for k, v := range x[:len(r0)] {
				t0 := v - r0[k]
				t1 := v - r1[k]
				t2 := v - r2[k]
				t3 := v - r3[k]
				a0 += t0 * t0
				a1 += t1 * t1
				a2 += t2 * t2
				a3 += t3 * t3
			}
			t := arg[i-b : i-b+4 : i-b+4]
			t[0] = ng * a0
			t[1] = ng * a1
			t[2] = ng * a2
			t[3] = ng * a3
		}
		for ; i < e; i++ {
			r := sv[i*d : i*d+d : i*d+d]
			var a float64
			for k, v := range x {
				t := v - r[k]
				a += t * t
			}
			arg[i-b] = ng * a
		}
		expBlock(arg)
		c := coef[b:e]
		for k, v := range arg {
			sum += c[k] * v
		}
	}
	return sum
}
