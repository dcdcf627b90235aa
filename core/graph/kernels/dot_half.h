/* SPDX-License-Identifier: MIT */
/*
 * core/graph/kernels/dot_half.h — decode with 16-bit weights (f16, bf16):
 * four rows of b converted in registers and dotted with the row of a,
 * with no unpacked copy to write and read back (which would cost more
 * than the weights' own bytes).  Vector paths only (SK_SIMD); the plain C
 * fallback widens rows with sk_unpack().  (Embedded as text into
 * generated kernels; include after convert.h and format.h.)
 */
#ifndef STRATA_KERNELS_DOT_HALF_H
#define STRATA_KERNELS_DOT_HALF_H

/* In a generated kernel these come pasted before this file; compiled as
 * itself (the library, the tests) it includes them. */
#ifndef STRATA_KERNELS_CONVERT_H
#include "core/graph/kernels/convert.h"
#endif
#ifndef STRATA_KERNELS_FORMAT_H
#include "core/graph/kernels/format.h"
#endif

#include <stdint.h>
#include <string.h>

#if SK_SIMD
#if defined(__AVX512F__)
typedef __m512 sk_hv;
#define SK_HL 16
#define sk_hfma _mm512_fmadd_ps
#define sk_hzero _mm512_setzero_ps
#define sk_hsum16 _mm512_reduce_add_ps
#define sk_hloada _mm512_loadu_ps
#else
typedef __m256 sk_hv;
#define SK_HL 8
#define sk_hfma _mm256_fmadd_ps
#define sk_hzero _mm256_setzero_ps
#define sk_hloada _mm256_loadu_ps
#define sk_hsum16 sk_sum8
#endif

/* SK_HL weights at @p as f32: f16 converted, bf16 shifted up. */
SK_INLINE sk_hv sk_hload(const uint8_t *p, enum sk_fmt f)
{
#if defined(__AVX512F__)
	const __m256i h = _mm256_loadu_si256((const __m256i *)p);

	return f == SK_F16 ? _mm512_cvtph_ps(h) : _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
#else
	const __m128i h = _mm_loadu_si128((const __m128i *)p);

	return f == SK_F16 ? _mm256_cvtph_ps(h) : _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
#endif
}

/* One 16-bit weight as f32. */
SK_INLINE float sk_half_weight(const uint8_t *p, enum sk_fmt f)
{
	uint16_t h;

	memcpy(&h, p, 2);
	return f == SK_F16 ? sk_half(h) : sk_bf16(h);
}

/* d[r] = row r of b (rows @rb bytes apart from @p) · a, over @K. */
SK_INLINE void sk_hdot4(const uint8_t *p, int64_t rb, const float *a, int64_t K, float d[4], enum sk_fmt f)
{
	sk_hv s0 = sk_hzero(), s1 = s0, s2 = s0, s3 = s0;
	int64_t k = 0;

	for (; k + SK_HL <= K; k += SK_HL) {
		const sk_hv av = sk_hloada(a + k);

		sk_sweep(p, 8 * k, 8 * SK_HL);
		s0 = sk_hfma(sk_hload(p + 2 * k, f), av, s0);
		s1 = sk_hfma(sk_hload(p + rb + 2 * k, f), av, s1);
		s2 = sk_hfma(sk_hload(p + 2 * rb + 2 * k, f), av, s2);
		s3 = sk_hfma(sk_hload(p + 3 * rb + 2 * k, f), av, s3);
	}
	d[0] = sk_hsum16(s0), d[1] = sk_hsum16(s1), d[2] = sk_hsum16(s2), d[3] = sk_hsum16(s3);
	for (; k < K; k++)
		for (int r = 0; r < 4; r++)
			d[r] += sk_half_weight(p + r * rb + 2 * k, f) * a[k];
}

SK_INLINE float sk_hdot(const uint8_t *p, const float *a, int64_t K, enum sk_fmt f)
{
	sk_hv s = sk_hzero();
	int64_t k = 0;
	float d;

	for (; k + SK_HL <= K; k += SK_HL)
		s = sk_hfma(sk_hload(p + 2 * k, f), sk_hloada(a + k), s);
	d = sk_hsum16(s);
	for (; k < K; k++)
		d += sk_half_weight(p + 2 * k, f) * a[k];
	return d;
}
#endif /* SK_SIMD */

#endif /* STRATA_KERNELS_DOT_HALF_H */
