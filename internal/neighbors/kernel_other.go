//go:build !amd64 || purego

package neighbors

// haveAVX2 is false off amd64 (or with the purego tag): kern6x16 is the pure-Go kernel.
const haveAVX2 = false

// kern6x16 runs the tile kernel, kern6x16Go on this architecture.
func kern6x16(a, b []float32, d int, na, nb []float32, thr *[wideMR]float32, out *[wideMR * wideNR]float32) (m0, m1 uint64) {
	return kern6x16Go(a, b, d, na, nb, thr, out)
}

// dot32 returns the float32 dot product of a and b, dot32Go on this architecture.
func dot32(a, b []float32) float32 { return dot32Go(a, b) }
