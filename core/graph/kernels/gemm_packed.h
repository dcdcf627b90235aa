/* SPDX-License-Identifier: MIT */
/*
 * core/graph/kernels/gemm_packed.h — prefill on block-quantized weights
 * packed sixteen rows to a block (packed.h), AVX-512 VNNI: a tile of
 * SK_PMR rows of A × 32 columns (two groups of 16 rows of the weight)
 * kept in registers over all of K, with 8-bit integer multiply-adds.
 *
 * As llama.cpp does for these formats, A's rows are rounded to 8 bits a
 * block of 32 at a time (sk_prep_q8: q = round(v / d), d = max|v| / 127):
 * one vpdpbusd then does 64 of the products, four times what an f32
 * multiply-add does, where decode's three digits (packed.h) would do a
 * third of that.  The rounding error, at most d / 2 a value, is small
 * beside the 4- or 8-bit weights' own.  Per block, each row's integer
 * sums become f32 once: sums · (d_w · d_a), plus the format's offset
 * term (Q4_1: m_w · Σa; Q4_0: d_w · (−8 Σa); Q8_0, stored unsigned,
 * takes back 128 · Σq_a from the integer sums first).
 *
 * Registers: SK_PMR × 2 integer sums and as many f32 accumulators, the
 * two groups' weights as low and high nibbles, one broadcast: 29 of 32.
 * (Embedded as text into generated kernels; include after packed.h.)
 */
#ifndef STRATA_KERNELS_GEMM_PACKED_H
#define STRATA_KERNELS_GEMM_PACKED_H

#ifndef STRATA_KERNELS_PACKED_H
#include "core/graph/kernels/packed.h"
#endif

#include <stdint.h>
#include <string.h>

#if SK_VNNI
#define SK_PMR 6

/* Row @a of @K as 8-bit values @q, and per block: the scale @da, the
 * offset term's factor @so (Q4_1 Σa, Q4_0 −8 Σa), and for Q8_0 @corr =
 * 128 · Σq (what the weights' unsigned storage adds).  @bs names the
 * weight's format by its block bytes, as in packed.h. */
SK_INLINE void sk_prep_q8(const float *a, int64_t K, int8_t *q, float *da, float *so, int32_t *corr, int bs)
{
	for (int64_t b = 0; b < K / 32; b++) {
		const __m512 v0 = _mm512_loadu_ps(a + b * 32), v1 = _mm512_loadu_ps(a + b * 32 + 16);
		const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
		const float s = _mm512_reduce_add_ps(_mm512_add_ps(v0, v1));
		const float d = amax / 127.0f, inv = d > 0 ? 127.0f / amax : 0.0f;
		const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, _mm512_set1_ps(inv)));
		const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, _mm512_set1_ps(inv)));

		_mm_storeu_si128((__m128i *)(q + b * 32), _mm512_cvtsepi32_epi8(q0));
		_mm_storeu_si128((__m128i *)(q + b * 32 + 16), _mm512_cvtsepi32_epi8(q1));
		da[b] = d;
		so[b] = bs == 20 ? s : bs == 18 ? -8.0f * s : 0;
		corr[b] = bs == 34 ? 128 * _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1)) : 0;
	}
}

/*
 * C rows [0, mr) × the @groups · 16 columns at @c (rows @ldc apart; the
 * first @nr stored) = A's prepared rows (@q rows @K apart, @da, @so,
 * @corr rows K / 32 apart) against the packed groups at @P, one after
 * the other.  @rows (a constant) is how many rows the registers hold;
 * rows past mr re-read row mr − 1 and are not stored.
 */
SK_INLINE void sk_pgemm_tile(int rows, int groups, const uint8_t *P, int64_t K, const int8_t *q, const float *da,
			     const float *so, const int32_t *corr, int mr, float *c, int64_t ldc, int nr, int bs)
{
	const int64_t nb = K / 32, gb = (int64_t)SK_GROUP_ROWS * bs;
	const uint8_t *pg[2] = { P, P + nb * gb };
	const int qoff = sk_quant_offset(bs) * 16;
	const __m512i low = _mm512_set1_epi8(15);
	int64_t off[SK_PMR];
	__m512 acc[SK_PMR][2];

	for (int i = 0; i < rows; i++) {
		off[i] = (i < mr ? i : mr - 1) * K;
		acc[i][0] = acc[i][1] = _mm512_setzero_ps();
	}
	for (int64_t b = 0; b < nb; b++) {
		__m512i s[SK_PMR][2];

		for (int i = 0; i < rows; i++)
			s[i][0] = s[i][1] = _mm512_setzero_si512();
		if (bs == 34) {
			for (int j = 0; j < 8; j++) {
				__m512i w[2];

				for (int g = 0; g < groups; g++)
					w[g] = _mm512_loadu_si512(pg[g] + b * gb + qoff + 64 * j);
#pragma GCC unroll 6
				for (int i = 0; i < rows; i++) {
					const __m512i x = sk_bc4(q + off[i] + b * 32 + 4 * j);

					for (int g = 0; g < groups; g++)
						s[i][g] = _mm512_dpbusd_epi32(s[i][g], w[g], x);
				}
			}
		} else {
			for (int j = 0; j < 4; j++) {
				__m512i wl[2], wh[2];

				for (int g = 0; g < groups; g++) {
					const __m512i w = _mm512_loadu_si512(pg[g] + b * gb + qoff + 64 * j);

					wl[g] = _mm512_and_si512(w, low);
					wh[g] = _mm512_and_si512(_mm512_srli_epi16(w, 4), low);
				}
#pragma GCC unroll 6
				for (int i = 0; i < rows; i++) {
					const __m512i xl = sk_bc4(q + off[i] + b * 32 + 4 * j);
					const __m512i xh = sk_bc4(q + off[i] + b * 32 + 16 + 4 * j);

					for (int g = 0; g < groups; g++) {
						s[i][g] = _mm512_dpbusd_epi32(s[i][g], wl[g], xl);
						s[i][g] = _mm512_dpbusd_epi32(s[i][g], wh[g], xh);
					}
				}
			}
		}
		for (int g = 0; g < groups; g++) {
			const uint8_t *blk = pg[g] + b * gb;
			const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
			const __m512 m = bs == 20 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(blk + 32))) : d;

			for (int i = 0; i < rows; i++) {
				const int64_t r = off[i] / 32 + b; /* the row's block, K / 32 a row */
				__m512i x = s[i][g];

				if (bs == 34)
					x = _mm512_sub_epi32(x, _mm512_set1_epi32(corr[r]));
				acc[i][g] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(x), _mm512_mul_ps(d, _mm512_set1_ps(da[r])),
							    acc[i][g]);
				if (bs != 34)
					acc[i][g] = _mm512_fmadd_ps(m, _mm512_set1_ps(so[r]), acc[i][g]);
			}
		}
	}
	for (int i = 0; i < mr; i++) {
		float t[32];

		_mm512_storeu_ps(t, acc[i][0]);
		_mm512_storeu_ps(t + 16, acc[i][1]);
		memcpy(c + i * ldc, t, (size_t)nr * sizeof(float));
	}
}

/* sk_pgemm_tile() with the rows held and the groups as constants, so the
 * compiler unrolls each: 6, 4 or 2 rows; one group for a weight's last
 * 16 rows. */
SK_INLINE void sk_pgemm_tiles(int groups, const uint8_t *P, int64_t K, const int8_t *q, const float *da,
			      const float *so, const int32_t *corr, int mr, float *c, int64_t ldc, int nr, int bs)
{
	const int rows = mr > 4 ? SK_PMR : mr > 2 ? 4 : 2;

	if (groups == 2 && rows == SK_PMR)
		sk_pgemm_tile(SK_PMR, 2, P, K, q, da, so, corr, mr, c, ldc, nr, bs);
	else if (groups == 2 && rows == 4)
		sk_pgemm_tile(4, 2, P, K, q, da, so, corr, mr, c, ldc, nr, bs);
	else if (groups == 2)
		sk_pgemm_tile(2, 2, P, K, q, da, so, corr, mr, c, ldc, nr, bs);
	else if (rows == SK_PMR)
		sk_pgemm_tile(SK_PMR, 1, P, K, q, da, so, corr, mr, c, ldc, nr, bs);
	else if (rows == 4)
		sk_pgemm_tile(4, 1, P, K, q, da, so, corr, mr, c, ldc, nr, bs);
	else
		sk_pgemm_tile(2, 1, P, K, q, da, so, corr, mr, c, ldc, nr, bs);
}
#endif /* SK_VNNI */

#endif /* STRATA_KERNELS_GEMM_PACKED_H */
