//go:build !purego

package neighbors

import "golang.org/x/sys/cpu"

// haveAVX2 reports whether kern6x16 runs the AVX2/FMA kernel of kernel_amd64.s.
var haveAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kern6x16AVX2 is kern6x16Go in AVX2/FMA assembly: twelve 8-lane accumulators hold the 6 x 16
// dot products, each accumulated over the columns in order with one rounding per fused
// multiply-add, which is what the error bound of wideBounds assumes.
//
//go:noescape
func kern6x16AVX2(a, b *float32, d int, na, nb, thr, out *float32) (m0, m1 uint64)

// kern6x16 runs the tile kernel: the assembly where the CPU has AVX2 and FMA (and useAsm is
// set), kern6x16Go otherwise.
func kern6x16(a, b []float32, d int, na, nb []float32, thr *[wideMR]float32, out *[wideMR * wideNR]float32) (m0, m1 uint64) {
	if haveAVX2 && useAsm {
		a = a[:d*wideMR]
		b = b[:d*wideNR]
		return kern6x16AVX2(&a[0], &b[0], d, &na[:wideMR][0], &nb[:wideNR][0], &thr[0], &out[0])
	}
	return kern6x16Go(a, b, d, na, nb, thr, out)
}

// dot32AVX2 is dot32Go in AVX2/FMA assembly (four 8-lane accumulators); n must be a positive
// multiple of 8.
//
//go:noescape
func dot32AVX2(a, b *float32, n int) float32

// dot32 returns the float32 dot product of a and b, whose common length is a positive
// multiple of 8.
func dot32(a, b []float32) float32 {
	if haveAVX2 && useAsm {
		b = b[:len(a)]
		return dot32AVX2(&a[0], &b[0], len(a))
	}
	return dot32Go(a, b)
}
