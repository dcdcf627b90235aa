/* SPDX-License-Identifier: MIT */
/*
 * core/graph/kernels/dot_nibble.h — decode with 4-bit blocks (Q4_0, Q4_1)
 * in f32 throughout, where the integer digits of dot_digits.h cannot run
 * (no AVX-512 VNNI); the result matches an f32 reference to rounding, so
 * greedy decoding picks the same tokens.
 *
 * Port 5 (shuffles, zero-extensions, broadcasts from registers) bounds such
 * loops on Intel cores, so nibbles are widened without it: a broadcast
 * *load* puts 8 bytes of the block in every 64-bit lane (4 bytes in every
 * 32-bit lane with AVX2), a variable shift and a mask leave one nibble per
 * 32-bit lane, and a conversion makes floats.  The nibbles come out in an
 * interleaved order, so the row of a is permuted once into that order
 * (sk_prep_nibbles), with its block sums alongside for the offset term:
 * per block ds[] = {1, Σa} for Q4_1 (times m), {1, −8·Σa} for Q4_0 (times
 * d).  (Embedded as text into generated kernels; include after convert.h
 * and format.h.)
 */
#ifndef STRATA_KERNELS_DOT_NIBBLE_H
#define STRATA_KERNELS_DOT_NIBBLE_H

/* In a generated kernel these come pasted before this file; compiled as
 * itself (the library, the tests) it includes them. */
#ifndef STRATA_KERNELS_FORMAT_H
#include "core/graph/kernels/format.h"
#endif

#include <stdint.h>
#include <string.h>

#if SK_SIMD && !SK_VNNI
typedef float sk_qa_t;
#define SK_QA_LEN(K) (K)
#ifdef __AVX512F__
/* Lane order of a 64-bit broadcast shifted by 0,0,4,4,…,28,28 (bytes 0-7
 * of the block, then 8-15): element numbers within the block. */
static const int8_t sk_nib_perm[32] = { 0, 4, 16, 20, 1, 5, 17, 21, 2, 6, 18, 22, 3, 7, 19, 23,
					8, 12, 24, 28, 9, 13, 25, 29, 10, 14, 26, 30, 11, 15, 27, 31 };
typedef __m512 sk_nv;
#define SK_NLANES 16
#define sk_nload _mm512_loadu_ps
#define sk_nmul _mm512_mul_ps
#define sk_nfma _mm512_fmadd_ps
#define sk_nbcast _mm512_broadcastss_ps
#define sk_nsum _mm512_reduce_add_ps
#define sk_nzero _mm512_setzero_ps
#else
/* Lane order of a 32-bit broadcast shifted by 0, 4, …, 28 (bytes 4g…4g+3). */
static const int8_t sk_nib_perm[32] = { 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
					8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31 };
typedef __m256 sk_nv;
#define SK_NLANES 8
#define sk_nload _mm256_loadu_ps
#define sk_nmul _mm256_mul_ps
#define sk_nfma _mm256_fmadd_ps
#define sk_nbcast _mm256_broadcastss_ps
#define sk_nzero _mm256_setzero_ps
#define sk_nsum sk_sum8
#endif

/* SK_NLANES nibbles of the block at @p, one per lane in sk_nib_perm's
 * order, as f32: a broadcast load, a variable shift and a mask. */
static inline sk_nv sk_nib(const uint8_t *p)
{
#ifdef __AVX512F__
	int64_t v;

	memcpy(&v, p, 8);
	return _mm512_cvtepi32_ps(_mm512_and_si512(
		_mm512_srlv_epi32(_mm512_set1_epi64(v), _mm512_set_epi32(28, 28, 24, 24, 20, 20, 16, 16, 12, 12, 8, 8, 4, 4, 0, 0)),
		_mm512_set1_epi32(15)));
#else
	int32_t v;

	memcpy(&v, p, 4);
	return _mm256_cvtepi32_ps(
		_mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(v), _mm256_set_epi32(28, 24, 20, 16, 12, 8, 4, 0)),
				 _mm256_set1_epi32(15)));
#endif
}

/* The row of a in nibble order into @ap, and per block {1, offset
 * factor} into @ds. */
SK_INLINE void sk_prep_nibbles(const float *a, int64_t K, float *ap, float *ds, enum sk_fmt f)
{
	for (int64_t b = 0; b < K / 32; b++) {
		float s = 0;

		for (int j = 0; j < 32; j++) {
			ap[b * 32 + j] = a[b * 32 + sk_nib_perm[j]];
			s += a[b * 32 + j];
		}
		ds[2 * b] = 1.0f, ds[2 * b + 1] = f == SK_Q4_1 ? s : -8.0f * s;
	}
}

/* Σ nibble · a over one block (its 16 bytes at @nib). */
static inline sk_nv sk_nib_block(const uint8_t *nib, const float *ap)
{
	sk_nv acc = sk_nmul(sk_nib(nib), sk_nload(ap));

	for (int k = 1; k < 32 / SK_NLANES; k++)
		acc = sk_nfma(sk_nib(nib + k * SK_NLANES / 2), sk_nload(ap + k * SK_NLANES), acc);
	return acc;
}

/* {d, offset term} of one block from its f16 scale(s). */
SK_INLINE __m128 sk_nib_scale(const uint8_t *p, const float *ds, enum sk_fmt f)
{
	if (f == SK_Q4_1) {
		int32_t dm;
		double v;

		memcpy(&dm, p, 4), memcpy(&v, ds, 8);
		return _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(dm)), _mm_castpd_ps(_mm_set_sd(v)));
	} else {
		uint16_t d;

		memcpy(&d, p, 2);
		return _mm_cvtph_ps(_mm_cvtsi32_si128(d));
	}
}

/* The offset term added up: Q4_1's lanes are {d, m·Σa}; Q4_0's d times
 * the block's −8·Σa. */
SK_INLINE __m128 sk_nib_offset(__m128 e, __m128 dm, const float *ds, enum sk_fmt f)
{
	return f == SK_Q4_1 ? _mm_add_ps(e, dm) : _mm_add_ss(e, _mm_mul_ss(dm, _mm_load_ss(ds + 1)));
}

SK_INLINE float sk_nib_dot(const uint8_t *p, const float *ap, const float *ds, int64_t K, enum sk_fmt f)
{
	const int bs = sk_block_bytes(f), qs = sk_quant_start(f);
	sk_nv acc = sk_nzero();
	__m128 e = _mm_setzero_ps();

	for (int64_t b = 0; b < K / 32; b++, p += bs) {
		const __m128 dm = sk_nib_scale(p, ds + 2 * b, f);

		acc = sk_nfma(sk_nib_block(p + qs, ap + b * 32), sk_nbcast(dm), acc);
		e = sk_nib_offset(e, dm, ds + 2 * b, f);
	}
	return sk_nsum(acc) + e[f == SK_Q4_1 ? 1 : 0];
}

/* Four rows of b (@rb bytes apart) against one of a: a's block loaded
 * once (from L1), four streams of b in flight. */
SK_INLINE void sk_nib_dot4(const uint8_t *p, int64_t rb, const float *ap, const float *ds, int64_t K, float out[4],
			   enum sk_fmt f)
{
	const int bs = sk_block_bytes(f), qs = sk_quant_start(f);
	sk_nv acc[4] = { sk_nzero(), sk_nzero(), sk_nzero(), sk_nzero() };
	__m128 e[4] = { _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps() };

	for (int64_t b = 0; b < K / 32; b++) {
		sk_sweep(p, 4 * b * bs, 4 * bs);
		for (int r = 0; r < 4; r++) {
			const uint8_t *blk = p + r * rb + b * bs;
			const __m128 dm = sk_nib_scale(blk, ds + 2 * b, f);

			acc[r] = sk_nfma(sk_nib_block(blk + qs, ap + b * 32), sk_nbcast(dm), acc[r]);
			e[r] = sk_nib_offset(e[r], dm, ds + 2 * b, f);
		}
	}
	for (int r = 0; r < 4; r++)
		out[r] = sk_nsum(acc[r]) + e[r][f == SK_Q4_1 ? 1 : 0];
}
#endif /* SK_SIMD && !SK_VNNI */

#endif /* STRATA_KERNELS_DOT_NIBBLE_H */
