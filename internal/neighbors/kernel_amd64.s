//go:build !purego

#include "textflag.h"

// ROW finishes one query row of the tile: its two accumulators (16 dot products g) become
// na + (nb - 2g), are stored to out, and compared with the row's threshold; the 16 result bits
// are shifted into place and or-ed into MASK.
#define ROW(YL, YH, NAOFF, OUTOFF, SHIFT, MASK) \
	VADDPS       YL, YL, YL           \
	VADDPS       YH, YH, YH           \
	VSUBPS       YL, Y0, YL           \
	VSUBPS       YH, Y1, YH           \
	VBROADCASTSS NAOFF(R8), Y2        \
	VADDPS       Y2, YL, YL           \
	VADDPS       Y2, YH, YH           \
	VMOVUPS      YL, OUTOFF(R11)      \
	VMOVUPS      YH, (OUTOFF+32)(R11) \
	VBROADCASTSS NAOFF(R10), Y3       \
	VCMPPS       $0x12, Y3, YL, YL    \
	VCMPPS       $0x12, Y3, YH, YH    \
	VMOVMSKPS    YL, AX               \
	VMOVMSKPS    YH, BX               \
	SHLQ         $8, BX               \
	ORQ          BX, AX               \
	SHLQ         $SHIFT, AX           \
	ORQ          AX, MASK

// func kern6x16AVX2(a, b *float32, d int, na, nb, thr, out *float32) (m0, m1 uint64)
TEXT ·kern6x16AVX2(SB), NOSPLIT, $0-72
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   d+16(FP), CX
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	TESTQ  CX, CX
	JLE    finish

loop:
	VMOVUPS      (DI), Y0
	VMOVUPS      32(DI), Y1
	VBROADCASTSS (SI), Y2
	VBROADCASTSS 4(SI), Y3
	VFMADD231PS  Y0, Y2, Y4
	VFMADD231PS  Y1, Y2, Y5
	VFMADD231PS  Y0, Y3, Y6
	VFMADD231PS  Y1, Y3, Y7
	VBROADCASTSS 8(SI), Y2
	VBROADCASTSS 12(SI), Y3
	VFMADD231PS  Y0, Y2, Y8
	VFMADD231PS  Y1, Y2, Y9
	VFMADD231PS  Y0, Y3, Y10
	VFMADD231PS  Y1, Y3, Y11
	VBROADCASTSS 16(SI), Y2
	VBROADCASTSS 20(SI), Y3
	VFMADD231PS  Y0, Y2, Y12
	VFMADD231PS  Y1, Y2, Y13
	VFMADD231PS  Y0, Y3, Y14
	VFMADD231PS  Y1, Y3, Y15
	ADDQ         $24, SI
	ADDQ         $64, DI
	DECQ         CX
	JNZ          loop

finish:
	MOVQ    na+24(FP), R8
	MOVQ    nb+32(FP), R9
	MOVQ    thr+40(FP), R10
	MOVQ    out+48(FP), R11
	VMOVUPS (R9), Y0
	VMOVUPS 32(R9), Y1
	XORQ    DX, DX
	XORQ    R12, R12
	ROW(Y4, Y5, 0, 0, 0, DX)
	ROW(Y6, Y7, 4, 64, 16, DX)
	ROW(Y8, Y9, 8, 128, 32, DX)
	ROW(Y10, Y11, 12, 192, 48, DX)
	ROW(Y12, Y13, 16, 256, 0, R12)
	ROW(Y14, Y15, 20, 320, 16, R12)
	VZEROUPPER
	MOVQ    DX, m0+56(FP)
	MOVQ    R12, m1+64(FP)
	RET

// func dot32AVX2(a, b *float32, n int) float32
// n is a positive multiple of 8. Four 8-lane accumulators, summed at the end.
TEXT ·dot32AVX2(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop32:
	CMPQ        CX, $32
	JLT         loop8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         loop32

loop8:
	CMPQ        CX, $8
	JLT         sum
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         loop8

sum:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+24(FP)
	RET
