/* SPDX-License-Identifier: MIT */
/*
 * core/graph/kernels/gemm_f32.h — the register-blocked micro-kernel of
 * prefill's matmuls, C += A · Bᵀ with B a linear layer's weight as stored
 * ([N, K], K contiguous), and the packing it reads B through.
 *
 * The shape is GotoBLAS's (../shared/research/codegen.md): a tile of
 * SK_MR rows × SK_NR columns of C lives in vector registers for a whole
 * block of kc steps of K.  Each step loads SK_NR consecutive values of B
 * (two vectors) and broadcasts one value of each of A's SK_MR rows, so
 * every load feeds SK_MR (or two) fused multiply-adds and no horizontal
 * sums are left.  That needs B's columns next to each other: sk_pack_b()
 * copies a block of SK_NR rows of the weight, kc of their values, into a
 * micro-panel [kc][SK_NR] (zeros past the last row).  A tile's SK_MR
 * rows of kc values are copied next to each other (sk_pack_a) and stay in
 * L1 while the tile sweeps the column block's micro-panels, which stay in
 * L2.
 *
 *   AVX-512  SK_MR 12 × SK_NR 32: 24 accumulators of 32 registers
 *   AVX2     SK_MR  6 × SK_NR 16: 12 accumulators of 16
 *   SSE      SK_MR  6 × SK_NR  8 (the portable build)
 *
 * (Embedded as text into generated kernels; include after dot_f32.h,
 * whose vector type it uses.)
 */
#ifndef STRATA_KERNELS_GEMM_F32_H
#define STRATA_KERNELS_GEMM_F32_H

#ifndef STRATA_KERNELS_CONVERT_H
#include "core/graph/kernels/convert.h"
#endif
#ifndef STRATA_KERNELS_DOT_F32_H
#include "core/graph/kernels/dot_f32.h"
#endif

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if SK_VB == 64
#define SK_MR 12
#else
#define SK_MR 6
#endif
#define SK_NR (2 * SK_VL)

/*
 * Blocking from the caches the topology reports (a kernel defines
 * ST_L1D and ST_L2, the bytes of one core's):
 *   SK_KC   steps of K per pass: a tile's SK_MR rows of A fill half of L1;
 *   SK_NCB  columns per block, in items of 32: the packed block of B fills
 *           half of L2.  Each A tile loaded from L3 then serves that many
 *           micro-kernels (96 columns, not 384, cost M = 2048 a tenth).
 */
#define SK_CLAMP(x, lo, hi) ((x) < (lo) ? (lo) : (x) > (hi) ? (hi) : (x))
#define SK_KC (SK_CLAMP((ST_L1D) / (8 * SK_MR) / 32 * 32, 64, 512))
#define SK_NCB (SK_CLAMP((ST_L2) / 2 / (128 * SK_KC), 1, 64))

/* Bytes of a value stored as @f (f32, f16 or bf16). */
SK_INLINE int sk_value_bytes(enum sk_fmt f)
{
	return f == SK_F32 ? 4 : 2;
}

/* Value @k of a row stored as @f, widened.  (f32 through memcpy: the
 * bf16 kernel moves a bf16 weight's pairs as f32 words, and its rows may
 * lie only 2 bytes aligned.) */
SK_INLINE float sk_value(const void *row, int64_t k, enum sk_fmt f)
{
	if (f == SK_F32) {
		float v;

		memcpy(&v, (const char *)row + k * 4, 4);
		return v;
	}
	return f == SK_F16 ? sk_half(((const uint16_t *)row)[k]) : sk_bf16(((const uint16_t *)row)[k]);
}

#if SK_SIMD
/* Eight values of a row stored as @f from @p, widened. */
SK_INLINE __m256 sk_load8(const void *p, enum sk_fmt f)
{
	if (f == SK_F32)
		return _mm256_loadu_ps((const float *)p);
	const __m128i h = _mm_loadu_si128((const __m128i *)p);

	return f == SK_F16 ? _mm256_cvtph_ps(h) : _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* The 8 × 8 block of values at @s (stored as @f, rows @lds values apart),
 * widened and transposed into @d (rows @ldd apart): 24 shuffles for 64
 * values. */
SK_INLINE void sk_transpose8(const void *s, int64_t lds, enum sk_fmt f, float *d, int64_t ldd)
{
	__m256 r[8], t[8];

	for (int i = 0; i < 8; i++)
		r[i] = sk_load8((const char *)s + i * lds * sk_value_bytes(f), f);
	for (int i = 0; i < 8; i += 2) {
		t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
		t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
	}
	for (int i = 0; i < 8; i += 4) {
		r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
		r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
		r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
		r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
	}
	for (int i = 0; i < 4; i++) {
		_mm256_storeu_ps(d + i * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
		_mm256_storeu_ps(d + (i + 4) * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
	}
}
#endif

/*
 * Pack @nr (≤ SK_NR) rows of B stored as @f (f32, f16 or bf16), each
 * @ldb values apart, values [0, kc) of each, into @bp as [kc][SK_NR] in
 * f32; columns nr … SK_NR − 1 are zero.  With AVX2, whole 8 × 8 blocks
 * are widened and transposed in registers (a scalar copy cost a third of
 * the multiply at M = 32; f16 and bf16 need no widened copy of the rows).
 */
SK_INLINE void sk_pack_b(const void *b, int64_t ldb, enum sk_fmt f, int nr, int64_t kc, float *bp)
{
	const int vb = sk_value_bytes(f);
	int j = 0;
	int64_t k0 = 0;

#if SK_SIMD
	k0 = kc & ~(int64_t)7;
	for (; j + 8 <= nr; j += 8)
		for (int64_t k = 0; k < k0; k += 8)
			sk_transpose8((const char *)b + (j * ldb + k) * vb, ldb, f, bp + k * SK_NR + j, SK_NR);
	for (int jj = 0; jj < j; jj++)
		for (int64_t k = k0; k < kc; k++)
			bp[k * SK_NR + jj] = sk_value((const char *)b + jj * ldb * vb, k, f);
	k0 = 0;
#endif
	for (; j < nr; j++)
		for (int64_t k = k0; k < kc; k++)
			bp[k * SK_NR + j] = sk_value((const char *)b + j * ldb * vb, k, f);
	for (; j < SK_NR; j++)
		for (int64_t k = 0; k < kc; k++)
			bp[k * SK_NR + j] = 0;
}

/* A tile's row of SK_NR results @t into C's row @ci: its first @nr
 * columns get them, or with @add gain them (a pass after the first). */
SK_INLINE void sk_tile_row_out(const float *t, float *ci, int nr, int add)
{
	if (nr == SK_NR && !add) {
		memcpy(ci, t, SK_NR * sizeof(float));
		return;
	}
	for (int j = 0; j < nr; j++)
		ci[j] = add ? ci[j] + t[j] : t[j];
}

/* Values of a row that A's packed tile keeps together (sk_pack_a). */
#define SK_AG 16

/*
 * A's rows [0, mr) (@lda values apart), values [0, kc) of each, into @at
 * as [⌈kc / SK_AG⌉ groups][SK_MR rows][SK_AG values]: a step's broadcasts
 * then read from one pointer at fixed offsets (twelve row pointers left
 * the loop too few registers, and rows far apart share L1's sets), and
 * the tile is one stream.  Rows past mr and values past kc are zero.
 */
SK_INLINE void sk_pack_a(const float *a, int64_t lda, int mr, int64_t kc, float *at)
{
	int64_t g = 0;

	if (mr == SK_MR) /* whole groups of whole tiles: fixed-size copies */
		for (; g + SK_AG <= kc; g += SK_AG)
			for (int i = 0; i < SK_MR; i++)
				memcpy(at + g * SK_MR + i * SK_AG, a + i * lda + g, SK_AG * sizeof(float));
	for (; g < kc; g += SK_AG) {
		const int64_t n = kc - g < SK_AG ? kc - g : SK_AG;

		for (int i = 0; i < SK_MR; i++) {
			float *d = at + g * SK_MR + i * SK_AG;

			for (int64_t k = 0; k < SK_AG; k++)
				d[k] = i < mr && k < n ? a[i * lda + g + k] : 0.0f;
		}
	}
}

/* Floats of A's rows [0, M) of @K values packed whole (sk_prep_f32):
 * whole tiles, each row's values rounded up to groups of SK_AG. */
SK_INLINE int64_t sk_f32_tiled_floats(int64_t M, int64_t K)
{
	return (M + SK_MR - 1) / SK_MR * SK_MR * ((K + SK_AG - 1) / SK_AG * SK_AG);
}

/* A's rows [0, M) (K values, rows K apart) packed once for all passes
 * into @x: each tile as sk_pack_a() lays out a pass, over all of K, the
 * tiles one after another.  A pass then reads its tiles as one stream
 * (M = 2048 read in place, each pass's tile of 12 rows from L3, ran a
 * twentieth slower). */
SK_INLINE void sk_prep_f32(const float *a, int64_t M, int64_t K, float *x)
{
	for (int64_t m = 0; m < M; m += SK_MR)
		sk_pack_a(a + m * K, K, M - m < SK_MR ? (int)(M - m) : SK_MR, K, x + sk_f32_tiled_floats(m, K));
}

/*
 * C rows [0, mr) × columns [0, nr) (rows @ldc apart) get, or with @add
 * gain, the products of A's tile as sk_pack_a() lays it out (kc values a
 * row) with the micro-panel @bp.  @rows (a constant: SK_MR, or fewer for
 * M's last rows) is how many rows the registers hold.
 */
SK_INLINE void sk_gemm_tile(int rows, const float *at, int mr, const float *bp, int64_t kc, float *c, int64_t ldc,
			    int nr, int add)
{
	sk_vf acc[SK_MR][2];

	for (int i = 0; i < rows; i++) {
		memset(&acc[i][0], 0, sizeof(acc[i][0]));
		acc[i][1] = acc[i][0];
	}
	for (int64_t g = 0; g < kc; g += SK_AG) {
		const float *q = at + g * SK_MR;
		const int n = kc - g < SK_AG ? (int)(kc - g) : SK_AG;

		for (int p = 0; p < n; p++) {
			const sk_vf b0 = sk_load(bp + (g + p) * SK_NR), b1 = sk_load(bp + (g + p) * SK_NR + SK_VL);

#pragma GCC unroll 12
			for (int i = 0; i < rows; i++) {
				const float x = q[i * SK_AG + p];

				acc[i][0] += x * b0;
				acc[i][1] += x * b1;
			}
		}
	}
	for (int i = 0; i < mr; i++) {
		float t[SK_NR];

		memcpy(t, &acc[i][0], sizeof(acc[i][0]));
		memcpy(t + SK_VL, &acc[i][1], sizeof(acc[i][1]));
		sk_tile_row_out(t, c + i * ldc, nr, add);
	}
}

#endif /* STRATA_KERNELS_GEMM_F32_H */
