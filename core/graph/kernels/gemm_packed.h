/* SPDX-License-Identifier: MIT */
/*
 * core/graph/kernels/gemm_packed.h — prefill on block-quantized weights
 * packed sixteen rows to a block (packed.h), AVX-512 VNNI: a tile of
 * SK_PMR rows of A × 32 columns (two groups of 16 rows of the weight)
 * kept in registers over all of K, with 8-bit integer multiply-adds.
 *
 * A's rows come as decode prepares them (sk_prep_packed: three 8-bit
 * digits a value, f32's precision), and then the tile's results are
 * decode's to the bit: a row's answer does not depend on how many rows a
 * run holds.  Or, where a program asks for it (STRATA_COMPILE_INT8_
 * ACTIVATIONS), rounded to 8 bits a block of 32 at a time as llama.cpp
 * does (sk_prep_q8: q = round(v / d), d = max|v| / 127): a third of the
 * integer work, at an error of up to d / 2 a value.  Per block, each
 * row's integer sums become f32 once, sums · (d_w · d_a); the format's
 * offset term (Q4_1: m_w · Σa; Q4_0: d_w · (−8 Σa)) adds up apart, and
 * Q8_0, stored unsigned, takes back 128 · Σx first.
 *
 * Registers: SK_PMR × 2 integer sums and as many f32 accumulators, the
 * two groups' weights as low and high nibbles, one broadcast: 30 of 32.
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
 * first @nr stored) = A's prepared rows against the packed groups at @P,
 * one after the other.  A row is @digits 8-bit digit arrays of @K, most
 * significant first (x rows digits · K apart): 3 as sk_prep_packed()
 * makes them, 1 as sk_prep_q8(); @da, @so, @corr rows K / 32 apart.
 * @rows (a constant) is how many rows the registers hold; rows past mr
 * re-read row mr − 1 and are not stored.
 *
 * With three digits the result is decode's (sk_pdot16) to the bit: the
 * digits' sums combine as there (Horner's rule: shift the sum 8 bits, add
 * the next digit's products; exact in 32 bits), and the same multiply-adds
 * in the same order give the scaled sums and, apart, the offset terms.
 * So a prompt's rows come out the same whether a run holds one of them or
 * many (a prefix reused from the cache, or not).
 */
SK_INLINE void sk_pgemm_tile(int rows, int groups, int digits, const uint8_t *P, int64_t K, const int8_t *x,
			     const float *da, const float *so, const int32_t *corr, int mr, float *c, int64_t ldc, int nr,
			     int bs)
{
	const int64_t nb = K / 32, gb = (int64_t)SK_GROUP_ROWS * bs;
	const uint8_t *pg[2] = { P, P + nb * gb };
	const int qoff = sk_quant_offset(bs) * 16;
	const __m512i low = _mm512_set1_epi8(15);
	int64_t row[SK_PMR];
	__m512 acc[SK_PMR][2];

	for (int i = 0; i < rows; i++) {
		row[i] = i < mr ? i : mr - 1;
		acc[i][0] = acc[i][1] = _mm512_setzero_ps();
	}
	for (int64_t b = 0; b < nb; b++) {
		__m512i s[SK_PMR][2];

		for (int i = 0; i < rows; i++)
			s[i][0] = s[i][1] = _mm512_setzero_si512();
		for (int dg = 0; dg < digits; dg++) {
			const int8_t *xd = x + dg * K + b * 32;

			for (int i = 0; dg && i < rows; i++)
				for (int g = 0; g < groups; g++)
					s[i][g] = _mm512_slli_epi32(s[i][g], 8);
			if (bs == 34) {
				for (int j = 0; j < 8; j++) {
					__m512i w[2];

					for (int g = 0; g < groups; g++)
						w[g] = _mm512_loadu_si512(pg[g] + b * gb + qoff + 64 * j);
#pragma GCC unroll 6
					for (int i = 0; i < rows; i++) {
						const __m512i v = sk_bc4(xd + row[i] * digits * K + 4 * j);

						for (int g = 0; g < groups; g++)
							s[i][g] = _mm512_dpbusd_epi32(s[i][g], w[g], v);
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
						const __m512i vl = sk_bc4(xd + row[i] * digits * K + 4 * j);
						const __m512i vh = sk_bc4(xd + row[i] * digits * K + 16 + 4 * j);

						for (int g = 0; g < groups; g++) {
							s[i][g] = _mm512_dpbusd_epi32(s[i][g], wl[g], vl);
							s[i][g] = _mm512_dpbusd_epi32(s[i][g], wh[g], vh);
						}
					}
				}
			}
		}
		for (int g = 0; g < groups; g++) {
			const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(pg[g] + b * gb)));

			for (int i = 0; i < rows; i++) {
				const int64_t r = row[i] * nb + b;
				__m512i v = s[i][g];

				if (bs == 34)
					v = _mm512_sub_epi32(v, _mm512_set1_epi32(corr[r]));
				acc[i][g] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(v), _mm512_mul_ps(d, _mm512_set1_ps(da[r])),
							    acc[i][g]);
			}
		}
	}
	/* The offset terms (Q4_1 m_w · Σa, Q4_0 d_w · (−8 Σa)), block by
	 * block as decode adds them, then once to the sums. */
	if (bs != 34) {
		__m512 e[SK_PMR][2];

		for (int i = 0; i < rows; i++)
			e[i][0] = e[i][1] = _mm512_setzero_ps();
		for (int64_t b = 0; b < nb; b++)
			for (int g = 0; g < groups; g++) {
				const uint8_t *blk = pg[g] + b * gb + (bs == 20 ? 32 : 0);
				const __m512 m = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));

				for (int i = 0; i < rows; i++)
					e[i][g] = _mm512_fmadd_ps(m, _mm512_set1_ps(so[row[i] * nb + b]), e[i][g]);
			}
		for (int i = 0; i < rows; i++)
			for (int g = 0; g < groups; g++)
				acc[i][g] = _mm512_add_ps(acc[i][g], e[i][g]);
	}
	for (int i = 0; i < mr; i++) {
		float t[32];

		_mm512_storeu_ps(t, acc[i][0]);
		_mm512_storeu_ps(t + 16, acc[i][1]);
		memcpy(c + i * ldc, t, (size_t)nr * sizeof(float));
	}
}

/* sk_pgemm_tile() with the rows held, the groups and the digits as
 * constants, so the compiler unrolls each: 6, 4 or 2 rows; one group for
 * a weight's last 16 rows. */
#define SK_PGEMM_ROWS(G, D)                                                                                  \
	do {                                                                                                 \
		if (rows == SK_PMR)                                                                          \
			sk_pgemm_tile(SK_PMR, G, D, P, K, x, da, so, corr, mr, c, ldc, nr, bs);              \
		else if (rows == 4)                                                                          \
			sk_pgemm_tile(4, G, D, P, K, x, da, so, corr, mr, c, ldc, nr, bs);                   \
		else                                                                                         \
			sk_pgemm_tile(2, G, D, P, K, x, da, so, corr, mr, c, ldc, nr, bs);                   \
	} while (0)

SK_INLINE void sk_pgemm_tiles(int groups, int digits, const uint8_t *P, int64_t K, const int8_t *x, const float *da,
			      const float *so, const int32_t *corr, int mr, float *c, int64_t ldc, int nr, int bs)
{
	const int rows = mr > 4 ? SK_PMR : mr > 2 ? 4 : 2;

	if (digits == 1 && groups == 2)
		SK_PGEMM_ROWS(2, 1);
	else if (digits == 1)
		SK_PGEMM_ROWS(1, 1);
	else if (groups == 2)
		SK_PGEMM_ROWS(2, 3);
	else
		SK_PGEMM_ROWS(1, 3);
}
#undef SK_PGEMM_ROWS
#endif /* SK_VNNI */

#endif /* STRATA_KERNELS_GEMM_PACKED_H */
