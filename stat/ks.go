package stat

import (
	"math"
	"slices"
)

// ksExactMaxN is the largest sample for which KS2 computes the exact p-value, as
// scipy.stats.ks_2samp does with method="auto" (its MAX_AUTO_N).
const ksExactMaxN = 10000

// KS2 returns the two-sample Kolmogorov-Smirnov statistic d, the largest distance between the
// empirical distribution functions of a and b, and its two-sided p-value, as
// scipy.stats.ks_2samp(a, b) computes them with its defaults (alternative="two-sided",
// method="auto"). When neither sample is larger than 10000 the p-value is exact: the share of
// lattice paths that leave the band |i/n1 - j/n2| < d (Hodges 1958, with the numerically stable
// recursion of Viehmann 2021, arXiv:2102.08037), and d is rounded, as scipy rounds it, to the
// nearest multiple of 1/lcm(n1, n2). For larger samples the p-value is scipy's
// method="asymp": kstwo.sf(d, en), the distribution of the one-sample statistic for the effective
// size en = n1 n2 / (n1 + n2) rounded, which agrees with scipy to 1e-9 when en > 140 and the
// p-value is small; see kstwoSurvival for where it is only within 1e-4 or, when en <= 140 (one
// sample of at most about 140 values against more than 10000), 1e-2. Both results are NaN when a
// sample is empty or holds a NaN. a and b are not modified; KS2 sorts copies.
func KS2(a, b []float64) (d, p float64) {
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 || hasNaN(a) || hasNaN(b) {
		return math.NaN(), math.NaN()
	}
	s := make([]float64, n1+n2)
	sa, sb := s[:n1], s[n1:]
	copy(sa, a)
	copy(sb, b)
	slices.Sort(sa)
	slices.Sort(sb)
	d = ksStatistic(sa, sb)

	if max(n1, n2) <= ksExactMaxN {
		g := gcd(n1, n2)
		lcm := (n1 / g) * n2
		h := int(math.Round(d * float64(lcm)))
		d = float64(h) / float64(lcm)
		if h == 0 {
			return d, 1
		}
		if n1 == n2 {
			p = ksOutsideSquare(n1, h)
		} else {
			p = ksOutsideBand(n1, n2, g, h)
		}
		if p >= 0 && p <= 1 {
			return d, p
		}
		// scipy falls back to the asymptotic distribution when the exact result is not a
		// probability; the recursion keeps its values in [0, 1], so this is a safeguard.
	}
	// scipy's method="asymp": the one-sample distribution at the effective size.
	en := int(math.RoundToEven(float64(n1) * float64(n2) / float64(n1+n2)))
	return d, min(max(kstwoSurvival(en, d), 0), 1)
}

// ksStatistic returns max |F_a(x) - F_b(x)| over the values x of both sorted samples, F being the
// right-continuous empirical distribution function, so tied values move both functions at once.
func ksStatistic(sa, sb []float64) float64 {
	n1, n2 := float64(len(sa)), float64(len(sb))
	var i, j int
	var d float64
	for i < len(sa) && j < len(sb) {
		x := min(sa[i], sb[j])
		for i < len(sa) && sa[i] == x {
			i++
		}
		for j < len(sb) && sb[j] == x {
			j++
		}
		d = max(d, math.Abs(float64(i)/n1-float64(j)/n2))
	}
	// Past the end of either sample the distance only shrinks towards 0.
	return d
}

// ksOutsideSquare returns P(D >= h/n) for two samples of n each: 2 (A1 - A2 + A3 - ...) where
// Ak = C(2n, n-kh) / C(2n, n), evaluated from the innermost term outwards as
// A1 (1 - A2/A1 (1 - ...)) so that no large binomial coefficient nor cancellation appears.
func ksOutsideSquare(n, h int) float64 {
	var q float64
	for k := n / h; k >= 0; k-- {
		// r = A(k+1) / A(k), a product of h ratios of consecutive binomial coefficients.
		r := 1.0
		for j := 0; j < h; j++ {
			r = float64(n-k*h-j) * r / float64(n+k*h+j+1)
		}
		q = r * (1 - q)
	}
	return 2 * q
}

// ksOutsideBand returns the share of monotone lattice paths from (0, 0) to (m, n) that touch or
// cross a line |j/n - i/m| = h/lcm(m, n), for m != n. It walks the columns i = 1..m keeping only
// the window of rows inside the band, where v(i, j) is the probability that a random path to
// (i, j) left the band: v(i, j) = (i v(i-1, j) + j v(i, j-1)) / (i + j), and v = 1 outside.
func ksOutsideBand(m, n, g, h int) float64 {
	if m < n {
		m, n = n, m
	}
	mg, ng := m/g, n/g
	lo, hi := 0, min(ceilDiv(h, mg), n+1) // rows [lo, hi) of the current column are inside
	v := make([]float64, min(2*hi+2, n+1))
	for j := range v {
		v[j] = 1
	}
	for j := lo; j < hi; j++ {
		v[j] = 0
	}
	for i := 1; i <= m; i++ {
		prevLo, prevLen := lo, hi-lo
		lo = min(max(floorDiv(ng*i-h, mg)+1, 0), n)
		hi = min(ceilDiv(ng*i+h, mg), n+1)
		if hi <= lo {
			return 1
		}
		below := 0.0 // v(i, lo-1): the origin row is inside, anything below the band is out
		if lo != 0 {
			below = 1
		}
		for k := 0; k < hi-lo; k++ {
			j := lo + k
			below = (v[k+lo-prevLo]*float64(i) + below*float64(j)) / float64(i+j)
			v[k] = below
		}
		// Rows that dropped out of the window read as outside in the next column.
		for k := hi - lo; k < min(prevLen, len(v)); k++ {
			v[k] = 1
		}
	}
	return v[hi-lo-1]
}

// kstwoSurvival returns P(D_n >= x) for the two-sided one-sample Kolmogorov-Smirnov statistic of
// n values, following the case analysis of scipy.stats.kstwo.sf (Simard and L'Ecuyer 2011, in
// scipy's _ksstats.py): closed forms near the ends of the range (Ruben and Gambino), twice the
// exact one-sided tail (smirnov) where the p-value is small, and otherwise the Pelz-Good
// expansion in 1/sqrt(n). Where scipy computes the Durbin matrix or Pomeranz recursion instead
// (p above about 0.02; with n > 140 only for p within 1e-4 of 1) the Pelz-Good value is an
// approximation: within 1e-6 of scipy's for n > 140, within 1e-4 for n = 20 and 1e-2 for n = 3.
func kstwoSurvival(n int, x float64) float64 {
	nf := float64(n)
	t := nf * x
	switch {
	case x >= 1:
		return 0
	case x <= 0, t <= 0.5:
		return 1
	case t <= 1:
		// P(D_n < x) = n!/n^n (2t - 1)^n.
		lf, _ := math.Lgamma(nf + 1)
		return 1 - math.Exp(lf-nf*math.Log(nf)+nf*math.Log(2*t-1))
	case t >= nf-1:
		return 2 * math.Pow(1-x, nf)
	case x >= 0.5:
		return 2 * smirnov(n, x)
	}
	nx2 := t * x
	switch {
	case n > 140 && nx2 >= 370:
		return 0
	case nx2 >= 2.2 && (n > 140 || nx2 > 4):
		return min(2*smirnov(n, x), 1)
	}
	return min(max(pelzGoodSurvival(nf, x), 0), 1)
}

// smirnov returns P(D+_n >= x), the exact one-sided tail (scipy.special.smirnov), by the
// Birnbaum-Tingey sum x Σ_j C(n, j) (x + j/n)^(j-1) (1 - x - j/n)^(n-j), j = 0..floor(n(1-x)),
// whose terms are positive, evaluated in log space.
func smirnov(n int, x float64) float64 {
	nf := float64(n)
	lgn, _ := math.Lgamma(nf + 1)
	var s float64
	for j := 0; j <= int(math.Floor(nf*(1-x))); j++ {
		jf := float64(j)
		rest := 1 - x - jf/nf
		if rest <= 0 && j < n {
			break
		}
		lgj, _ := math.Lgamma(jf + 1)
		lgnj, _ := math.Lgamma(nf - jf + 1)
		l := lgn - lgj - lgnj + (jf-1)*math.Log(x+jf/nf)
		if j < n {
			l += (nf - jf) * math.Log(rest)
		}
		s += math.Exp(l)
	}
	return x * s
}

// pelzGoodSurvival returns 1 - P(D_n <= x) from the Pelz-Good (1976) expansion
// K0(z) + K1(z)/sqrt(n) + K2(z)/n + K3(z)/n^1.5 with z = x sqrt(n), its terms written as
// Jacobi theta series that converge fast for small z (scipy's _kolmogn_PelzGood).
func pelzGoodSurvival(n, x float64) float64 {
	const pi2 = math.Pi * math.Pi
	const pi4, pi6 = pi2 * pi2, pi2 * pi2 * pi2
	z := math.Sqrt(n) * x
	z2 := z * z
	z4, z6 := z2*z2, z2*z2*z2
	qlog := -pi2 / 8 / z2
	if qlog < -708 {
		return 1
	}
	q := math.Exp(qlog)
	k1a, k1b := -z2, pi2/4
	k2a, k2b, k2c := 6*z6+2*z4, (2*z4-5*z2)*pi2/4, pi4*(1-2*z2)/16
	k3a, k3b := -30*z6-90*z4*z4, pi2*(135*z4-96*z6)/4
	k3c, k3d := pi4*(-60*z2+212*z4)/16, pi6*(5-30*z2)/64
	var k [4]float64
	maxk := int(math.Ceil(16 * z / math.Pi))
	for i := maxk; i > 0; i-- {
		m := float64(2*i - 1)
		m2 := m * m
		m4, m6 := m2*m2, m2*m2*m2
		qp := math.Pow(q, 8*float64(i))
		k[0] = k[0]*qp + 1
		k[1] = k[1]*qp + k1a + k1b*m2
		k[2] = k[2]*qp + k2a + k2b*m2 + k2c*m4
		k[3] = k[3]*qp + k3a + k3b*m2 + k3c*m4 + k3d*m6
	}
	sq2pi := math.Sqrt(2 * math.Pi)
	k[0] *= q * sq2pi / z
	k[1] *= q * sq2pi / (6 * z4)
	k[2] *= q * sq2pi / (72 * z6 * z)
	k[3] *= q * sq2pi / (6480 * z6 * z4)
	q = math.Exp(-pi2 / 2 / z2)
	var e2, e3 float64
	sqrt3z := math.Sqrt(3) * z
	for i := maxk; i > 0; i-- {
		kf := float64(i)
		qk := math.Pow(q, kf*kf)
		e2 += kf * kf * qk
		e3 += (sqrt3z + math.Pi*kf) * (sqrt3z - math.Pi*kf) * kf * kf * qk
	}
	k[2] += e2 * pi2 * sq2pi / (-36 * z2 * z)
	k[3] += e3 * pi2 * sq2pi / (216 * z6)
	cdf := k[0] + k[1]/math.Sqrt(n) + k[2]/n + k[3]/(n*math.Sqrt(n))
	return 1 - cdf
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// floorDiv and ceilDiv divide by b > 0, rounding towards -inf and +inf.
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func ceilDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}

// KSFromCounts returns the two-sample Kolmogorov-Smirnov statistic d and its two-sided
// asymptotic p-value for two samples summarised as counts over the same bins, as a monitor that
// keeps only a histogram of the training data has them (BinCounts). d is the largest distance
// between the two cumulative shares at the bin edges. It is the statistic of the samples
// themselves (KS2's) when every value is its own bin, and a lower bound of it otherwise, since
// the distribution functions may part further inside a bin; with fine equal-frequency bins it
// is close. The p-value is scipy.stats.ks_2samp's method="asymp", as KS2 computes it beyond
// 10000 values: kstwo.sf(d, en), the distribution of the one-sample statistic at the effective
// size en = n m / (n + m) rounded half to even, n and m being the totals of the counts, which
// must therefore be counts of values. Both results are NaN when a total is zero or a count is
// NaN. KSFromCounts panics with "stat: slice length mismatch" if len(expected) != len(actual),
// and with "stat: ks negative count" if a count is negative. It does not allocate.
func KSFromCounts(expected, actual []float64) (d, p float64) {
	if len(expected) != len(actual) {
		panic("stat: slice length mismatch")
	}
	var te, ta float64
	for i := range expected {
		if expected[i] < 0 || actual[i] < 0 {
			panic("stat: ks negative count")
		}
		te += expected[i]
		ta += actual[i]
	}
	if !(te > 0 && ta > 0) { // also NaN
		return math.NaN(), math.NaN()
	}
	// The shares below each inner edge; past the last bin both are 1.
	var ce, ca float64
	for i := 0; i < len(expected)-1; i++ {
		ce += expected[i]
		ca += actual[i]
		d = max(d, math.Abs(ce/te-ca/ta))
	}
	en := math.RoundToEven(te * ta / (te + ta))
	if en > math.MaxInt32 {
		en = math.MaxInt32 // kstwo.sf is 0 or 1 long before; keeps the conversion defined
	}
	return d, min(max(kstwoSurvival(int(en), d), 0), 1)
}
