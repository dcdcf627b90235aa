/* SPDX-License-Identifier: MIT */
/*
 * core/graph/kernels/dot_digits.h — decode with block formats (Q8_0,
 * Q4_0, Q4_1) on AVX-512 VNNI, exact to f32 rounding.
 *
 * Each block of the row of a is scaled to 23-bit integers (22 bits and
 * sign; 21 bits for Q8_0, whose weights are wider) and written as three
 * signed 8-bit digits, so that a block's dot product with the quants is
 * three integer multiply-add instructions (64 products each, two blocks at
 * a time), chained by 8-bit shifts, and exact: the only rounding is a's,
 * to 2^-22 of its block's largest value, below f32's own on such sums.
 * Two blocks share a 512-bit register, their nibbles low then high: the
 * digits are laid out per pair in that order (b's low 16, b+1's low 16,
 * b's high 16, b+1's high 16; Q8_0 in plain order).  An odd last block
 * pairs with nothing: its partner's loads are masked off.  (Embedded as
 * text into generated kernels; include after convert.h and format.h.)
 */
#ifndef STRATA_KERNELS_DOT_DIGITS_H
#define STRATA_KERNELS_DOT_DIGITS_H

/* In a generated kernel these come pasted before this file; compiled as
 * itself (the library, the tests) it includes them. */
#ifndef STRATA_KERNELS_FORMAT_H
#include "core/graph/kernels/format.h"
#endif

#include <stdint.h>
#include <string.h>

#if SK_VNNI
/* a's prepared row: three digits per value, 32 spare values' worth. */
typedef int8_t sk_qa_t;
#define SK_QA_LEN(K) (((K) + 32) * 3)

/* The largest |value|: a lane sums four products of it with weights up to
 * 15 (nibbles) or 255 (Q8_0 made unsigned), and must fit 31 bits. */
SK_INLINE int sk_digits_vmax(enum sk_fmt f)
{
	return f == SK_Q8_0 ? (1 << 20) - 1 : (1 << 22) - 1;
}

/* Row @a of @K as digits into @xd (SK_QA_LEN(K) bytes) and, per block,
 * its scale and the offset term's factor into @ds[2b], @ds[2b + 1]:
 * Q4_1 m·Σa; Q4_0 d·(−8Σa); Q8_0, whose signed weights pass as unsigned
 * (w + 128), d·(−128·da·Σv). */
SK_INLINE void sk_prep_digits(const float *a, int64_t K, int8_t *xd, float *ds, enum sk_fmt f)
{
	const int vmax = sk_digits_vmax(f), half = f == SK_Q8_0 ? 16 : 32;
	const __m512i r128 = _mm512_set1_epi32(128), m255 = _mm512_set1_epi32(255);
	const __m512i hi = _mm512_set1_epi32(vmax), lo = _mm512_set1_epi32(-vmax);

	if (K / 32 & 1) /* the odd block's partner: zero digits */
		memset(xd + (K / 32 - 1) * 96, 0, 192);
	for (int64_t b = 0; b < K / 32; b++) {
		const __m512 v0 = _mm512_loadu_ps(a + b * 32), v1 = _mm512_loadu_ps(a + b * 32 + 16);
		const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
		const float s = _mm512_reduce_add_ps(_mm512_add_ps(v0, v1));
		const float da = amax / (float)vmax, inv = da > 0 ? 1.0f / da : 0.0f;
		int8_t *x = xd + (b & ~(int64_t)1) * 96 + (b & 1) * (f == SK_Q8_0 ? 32 : 16);
		__m512i sv[2];

		for (int h = 0; h < 2; h++) {
			__m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(h ? v1 : v0, _mm512_set1_ps(inv)));

			v = sv[h] = _mm512_min_epi32(_mm512_max_epi32(v, lo), hi);
			/* balanced base-256 digits, each in [-128, 127] */
			const __m512i d0 = _mm512_sub_epi32(_mm512_and_si512(_mm512_add_epi32(v, r128), m255), r128);
			const __m512i w = _mm512_srai_epi32(_mm512_sub_epi32(v, d0), 8);
			const __m512i d1 = _mm512_sub_epi32(_mm512_and_si512(_mm512_add_epi32(w, r128), m255), r128);
			const __m512i d2 = _mm512_srai_epi32(_mm512_sub_epi32(w, d1), 8);

			_mm_storeu_si128((__m128i *)(x + h * half), _mm512_cvtepi32_epi8(d2));
			_mm_storeu_si128((__m128i *)(x + h * half + 64), _mm512_cvtepi32_epi8(d1));
			_mm_storeu_si128((__m128i *)(x + h * half + 128), _mm512_cvtepi32_epi8(d0));
		}
		ds[2 * b] = da;
		ds[2 * b + 1] = f == SK_Q8_0 ? -128.0f * da * (float)_mm512_reduce_add_epi32(_mm512_add_epi32(sv[0], sv[1]))
			      : f == SK_Q4_1 ? s
					     : -8.0f * s;
	}
}

/* One pair of blocks of one row of b (@two: the second is there) against
 * the pair's digits: the integer sums scaled by @f into @acc, the offset
 * term into @e. */
SK_INLINE void sk_digits_pair(const uint8_t *blk, int two, __m512i x2, __m512i x1, __m512i x0, __m128 f, __m128 g,
			      __m512 *acc, __m128 *e, enum sk_fmt fmt)
{
	const int bs = sk_block_bytes(fmt), qs = sk_quant_start(fmt);
	__m512i sel, q;
	__m128 raw, dm;

	if (fmt == SK_Q8_0) {
		sel = _mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0);
		q = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(blk + 2))),
							_mm256_maskz_loadu_epi8(two ? 0xffffffffu : 0, blk + 36), 1),
				     _mm512_set1_epi8(-128));
	} else {
		const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(blk + qs))),
							     _mm_maskz_loadu_epi8(two ? 0xffff : 0, blk + bs + qs), 1);

		sel = _mm512_set_epi32(2, 2, 2, 2, 0, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0);
		q = _mm512_and_si512(_mm512_srlv_epi64(_mm512_broadcast_i64x4(both), _mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0)),
				     _mm512_set1_epi8(15));
	}
	__m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, x2);

	s = _mm512_dpbusd_epi32(_mm512_slli_epi32(s, 8), q, x1);
	s = _mm512_dpbusd_epi32(_mm512_slli_epi32(s, 8), q, x0);
	if (fmt == SK_Q4_1) {
		int32_t w0, w1 = 0;

		memcpy(&w0, blk, 4);
		if (two)
			memcpy(&w1, blk + 20, 4);
		raw = _mm_cvtph_ps(_mm_set_epi32(0, 0, w1, w0));
		dm = _mm_mul_ps(raw, f);
		(void)g;
		*e = _mm_add_ps(*e, dm);
	} else {
		uint16_t w0, w1 = 0;

		memcpy(&w0, blk, 2);
		if (two)
			memcpy(&w1, blk + bs, 2);
		raw = _mm_cvtph_ps(_mm_set_epi32(0, 0, w1, w0));
		dm = _mm_mul_ps(raw, f);
		*e = _mm_fmadd_ps(raw, g, *e);
	}
	*acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_permutexvar_ps(sel, _mm512_castps128_ps512(dm)), *acc);
}

/* The pair's factors from @ds: @f scales the integer sums, @g the offset.
 * Q4_1: f = {da, Σa} per block (both used, lanes 0-3); the others: f =
 * {da, 0}, g = {offset factor, 0}. */
SK_INLINE void sk_digits_factors(const float *ds, int two, __m128 *f, __m128 *g, enum sk_fmt fmt)
{
	const __m128 v = _mm_maskz_loadu_ps(two ? 15 : 3, ds);

	if (fmt == SK_Q4_1) {
		*f = v;
		*g = v;
	} else {
		*f = _mm_mask_blend_ps(5, _mm_setzero_ps(), v);
		*g = _mm_maskz_permute_ps(5, v, _MM_SHUFFLE(3, 3, 1, 1));
	}
}

/* The offset terms' sum: lanes 1 and 3 for Q4_1, 0 and 2 otherwise. */
SK_INLINE float sk_digits_offset(__m128 e, enum sk_fmt fmt)
{
	return fmt == SK_Q4_1 ? e[1] + e[3] : e[0] + e[2];
}

/* Row @p of b · the prepared row of a (@xd, @ds), over @K. */
SK_INLINE float sk_digits_dot(const uint8_t *p, const int8_t *xd, const float *ds, int64_t K, enum sk_fmt fmt)
{
	const int bs = sk_block_bytes(fmt);
	__m512 acc = _mm512_setzero_ps();
	__m128 e = _mm_setzero_ps(), f, g;

	for (int64_t b = 0; b < K / 32; b += 2) {
		const int two = b + 1 < K / 32;
		const int8_t *x = xd + b * 96;

		sk_digits_factors(ds + 2 * b, two, &f, &g, fmt);
		sk_digits_pair(p + b * bs, two, _mm512_loadu_si512(x), _mm512_loadu_si512(x + 64),
			       _mm512_loadu_si512(x + 128), f, g, &acc, &e, fmt);
	}
	return _mm512_reduce_add_ps(acc) + sk_digits_offset(e, fmt);
}

/* Four rows of b (@rb bytes apart) · the prepared row of a: out[4]. */
SK_INLINE void sk_digits_dot4(const uint8_t *p, int64_t rb, const int8_t *xd, const float *ds, int64_t K,
			      float out[4], enum sk_fmt fmt)
{
	const int bs = sk_block_bytes(fmt);
	__m512 acc[4] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps() };
	__m128 e[4] = { _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps() }, f, g;

	for (int64_t b = 0; b < K / 32; b += 2) {
		const int two = b + 1 < K / 32;
		const int8_t *x = xd + b * 96;
		const __m512i x2 = _mm512_loadu_si512(x), x1 = _mm512_loadu_si512(x + 64), x0 = _mm512_loadu_si512(x + 128);

		sk_digits_factors(ds + 2 * b, two, &f, &g, fmt);
		sk_sweep(p, 4 * b * bs, 8 * bs);
		for (int r = 0; r < 4; r++)
			sk_digits_pair(p + r * rb + b * bs, two, x2, x1, x0, f, g, &acc[r], &e[r], fmt);
	}
	for (int r = 0; r < 4; r++)
		out[r] = _mm512_reduce_add_ps(acc[r]) + sk_digits_offset(e[r], fmt);
}
#endif /* SK_VNNI */

#endif /* STRATA_KERNELS_DOT_DIGITS_H */
