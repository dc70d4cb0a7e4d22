package iforest

import "math/bits"

// rng is xoshiro256** (Blackman & Vigna), seeded through splitmix64. It is small, fast and,
// unlike math/rand's sources, its output is fixed by this file, so saved seeds keep meaning the
// same trees across Go releases.
type rng struct{ s0, s1, s2, s3 uint64 }

// mix64 is splitmix64's finaliser.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// newRNG returns the generator of stream (tree) i under seed; it depends on nothing else, so a
// tree is the same whichever worker builds it.
func newRNG(seed, stream uint64) rng {
	z := mix64(seed^0x6A09E667F3BCC909) ^ mix64(stream+0x9E3779B97F4A7C15)
	next := func() uint64 {
		z += 0x9E3779B97F4A7C15
		return mix64(z)
	}
	return rng{next(), next(), next(), next()}
}

func (r *rng) next() uint64 {
	res := bits.RotateLeft64(r.s1*5, 7) * 9
	t := r.s1 << 17
	r.s2 ^= r.s0
	r.s3 ^= r.s1
	r.s1 ^= r.s2
	r.s0 ^= r.s3
	r.s2 ^= t
	r.s3 = bits.RotateLeft64(r.s3, 45)
	return res
}

// intn returns a uniform integer in [0, n), n > 0 (Lemire's multiply-shift with rejection).
func (r *rng) intn(n int) int {
	un := uint64(n)
	hi, lo := bits.Mul64(r.next(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(r.next(), un)
		}
	}
	return int(hi)
}

// float64 returns a uniform value in [0, 1), as scikit-learn's rand_double does.
func (r *rng) float64() float64 { return float64(r.next()>>11) * 0x1p-53 }
