/* SPDX-License-Identifier: MIT */
/*
 * core/graph/kernels/gemm_bf16.h — prefill on bf16 weights with
 * AVX512_BF16's dot products, where a program asks for it
 * (STRATA_COMPILE_BF16_ACTIVATIONS): A's rows rounded to bf16, as
 * PyTorch and llama.cpp round them for a bf16 weight.
 *
 * vdpbf16ps multiplies 16 pairs of bf16 values and adds each pair's two
 * products into one f32 lane: twice the multiply-adds of an f32 FMA for
 * the same cycles, and the weight is read as stored, with no widening.
 * The tile is gemm_f32.h's (SK_MR rows × SK_NR columns in 24
 * accumulators), stepping K two values at a time:
 *
 *   B's micro-panel  [kc / 2][SK_NR] 32-bit words, word (p, j) holding
 *                    values 2p and 2p + 1 of the weight's row j, which lie
 *                    next to each other as stored, so packing is
 *                    sk_pack_b()'s transpose on words, not values;
 *   A's tiles        bf16, groups of 16 pairs of SK_MR rows
 *                    (sk_prep_bf16): one 32-bit pair broadcast per row
 *                    and step.
 *
 * A bf16 product is exact in f32, so the error over the f32 kernel is
 * A's rounding, half a unit in bf16's last place (2⁻⁸ relative), and
 * vdpbf16ps's own ways: each product added rounded, to nearest whatever
 * MXCSR says, denormal inputs and results flushed to zero.
 * (Embedded as text into generated kernels; include after gemm_f32.h.)
 */
#ifndef STRATA_KERNELS_GEMM_BF16_H
#define STRATA_KERNELS_GEMM_BF16_H

#ifndef STRATA_KERNELS_GEMM_F32_H
#include "core/graph/kernels/gemm_f32.h"
#endif

#include <stdint.h>
#include <string.h>

#if SK_SIMD && SK_VB == 64 && defined(__AVX512BF16__)
#define SK_BF16DOT 1
#else
#define SK_BF16DOT 0
#endif

/* Blocking as gemm_f32.h's, for values of 2 bytes: a tile's rows of A
 * fill half of L1 in twice the steps, the packed block of B half of L2. */
#define SK_BKC (SK_CLAMP((ST_L1D) / (4 * SK_MR) / 32 * 32, 64, 1024))
#define SK_BNCB (SK_CLAMP((ST_L2) / 2 / (64 * SK_BKC), 1, 64))

/* Words of A's tiled bf16 copy (sk_prep_bf16): M rows rounded up to
 * whole tiles, K / 2 pairs each rounded up to groups of 16. */
SK_INLINE int64_t sk_bf16_words(int64_t M, int64_t K)
{
	return (M + SK_MR - 1) / SK_MR * SK_MR * ((K + 31) / 32 * 16);
}

#if SK_BF16DOT
/*
 * A's rows [0, M) of @K values (K even, rows K apart) rounded to bf16, to
 * nearest even as vcvtne2ps2bf16 does, into @x tiled for sk_bgemm_tile():
 * a tile of SK_MR rows is [groups of 16 pairs][SK_MR rows][16 words], so a
 * step's broadcasts read from one pointer at fixed offsets (12 row
 * pointers left the loop too few registers), and each row's 32 values
 * become one vector stored whole.  Pairs past K / 2 and rows past M are
 * zero.
 */
SK_INLINE void sk_prep_bf16(const float *a, int64_t M, int64_t K, uint32_t *x)
{
	const int64_t groups = (K + 31) / 32;

	for (int64_t m = 0; m < (M + SK_MR - 1) / SK_MR * SK_MR; m++) {
		uint32_t *xr = x + m / SK_MR * SK_MR * groups * 16 + m % SK_MR * 16;

		for (int64_t g = 0; g < groups; g++) {
			const int64_t k = g * 32, n = K - k < 32 ? K - k : 32;
			const __mmask16 lo = (__mmask16)((1u << (n < 16 ? n : 16)) - 1);
			const __mmask16 hi = (__mmask16)((1u << (n > 16 ? n - 16 : 0)) - 1);

			if (m >= M) {
				_mm512_storeu_si512((void *)(xr + g * SK_MR * 16), _mm512_setzero_si512());
				continue;
			}
			_mm512_storeu_si512((void *)(xr + g * SK_MR * 16),
					    (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, a + m * K + k + 16),
									 _mm512_maskz_loadu_ps(lo, a + m * K + k)));
		}
	}
}

/*
 * As sk_gemm_tile(), on bf16: a tile of A as sk_prep_bf16() lays it out,
 * from group @xa on (kc values of each row, kc even), against the paired
 * micro-panel @bp.
 */
SK_INLINE void sk_bgemm_tile(int rows, const uint32_t *xa, int mr, const uint32_t *bp, int64_t kc, float *c,
			     int64_t ldc, int nr, int add)
{
	__m512 acc[SK_MR][2];

	for (int i = 0; i < rows; i++)
		acc[i][0] = acc[i][1] = _mm512_setzero_ps();
	for (int64_t g = 0; g < kc / 2; g += 16) {
		const uint32_t *q = xa + g * SK_MR;
		const int n = kc / 2 - g < 16 ? (int)(kc / 2 - g) : 16;

		for (int p = 0; p < n; p++) {
			const __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)(bp + (g + p) * SK_NR));
			const __m512bh b1 = (__m512bh)_mm512_loadu_si512((const void *)(bp + (g + p) * SK_NR + 16));

#pragma GCC unroll 12
			for (int i = 0; i < rows; i++) {
				const __m512bh x = (__m512bh)_mm512_set1_epi32((int)q[i * 16 + p]);

				acc[i][0] = _mm512_dpbf16_ps(acc[i][0], x, b0);
				acc[i][1] = _mm512_dpbf16_ps(acc[i][1], x, b1);
			}
		}
	}
	for (int i = 0; i < mr; i++) {
		float t[SK_NR];

		_mm512_storeu_ps(t, acc[i][0]);
		_mm512_storeu_ps(t + 16, acc[i][1]);
		sk_tile_row_out(t, c + i * ldc, nr, add);
	}
}

#endif /* SK_BF16DOT */

#endif /* STRATA_KERNELS_GEMM_BF16_H */
