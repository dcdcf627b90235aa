/* SPDX-License-Identifier: MIT */
/*
 * core/graph/kernels/dot_q8.h — Q8_0 decode in f32, where the integer
 * digits of dot_digits.h cannot run (no AVX-512 VNNI): sk_qdot() dots one
 * row of a with one row of b without unpacking it to memory (per block
 * d·Σ q·a); sk_qdot4() takes four rows of b at once.  Vector paths only
 * (SK_SIMD).  (Embedded as text into generated kernels; include after
 * convert.h and format.h.)
 */
#ifndef STRATA_KERNELS_DOT_Q8_H
#define STRATA_KERNELS_DOT_Q8_H

/* In a generated kernel these come pasted before this file; compiled as
 * itself (the library, the tests) it includes them. */
#ifndef STRATA_KERNELS_CONVERT_H
#include "core/graph/kernels/convert.h"
#endif
#ifndef STRATA_KERNELS_FORMAT_H
#include "core/graph/kernels/format.h"
#endif

#include <stdint.h>

#if SK_SIMD && defined(__AVX512F__)
/* AVX-512: a block is two 16-lane vectors; blocks in pairs with separate
 * accumulators, so the FMA chains do not bound the loop. */
static inline __m512 sk_q8block(const uint8_t *p, const float *a, __m512 acc)
{
	const __m512 q0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 2))));
	const __m512 q1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 18))));
	const __m512 dot = _mm512_fmadd_ps(q1, _mm512_loadu_ps(a + 16), _mm512_mul_ps(q0, _mm512_loadu_ps(a)));

	return _mm512_fmadd_ps(dot, _mm512_set1_ps(sk_half_at(p)), acc);
}

static inline float sk_qdot(const uint8_t *p, const float *a, int64_t K)
{
	__m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
	int64_t b = 0;

	for (; b + 2 <= K / 32; b += 2) {
		acc0 = sk_q8block(p + b * 34, a + b * 32, acc0);
		acc1 = sk_q8block(p + (b + 1) * 34, a + (b + 1) * 32, acc1);
	}
	if (b < K / 32)
		acc0 = sk_q8block(p + b * 34, a + b * 32, acc0);
	return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

/* Four rows of b (@rb bytes apart) at once: four streams from memory in
 * flight. */
static inline void sk_qdot4(const uint8_t *p, int64_t rb, const float *a, int64_t K, float d[4])
{
	__m512 acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;

	for (int64_t b = 0; b < K / 32; b++) {
		sk_sweep(p, 4 * b * 34, 4 * 34);
		acc0 = sk_q8block(p + b * 34, a + b * 32, acc0);
		acc1 = sk_q8block(p + rb + b * 34, a + b * 32, acc1);
		acc2 = sk_q8block(p + 2 * rb + b * 34, a + b * 32, acc2);
		acc3 = sk_q8block(p + 3 * rb + b * 34, a + b * 32, acc3);
	}
	d[0] = _mm512_reduce_add_ps(acc0), d[1] = _mm512_reduce_add_ps(acc1);
	d[2] = _mm512_reduce_add_ps(acc2), d[3] = _mm512_reduce_add_ps(acc3);
}
#elif SK_SIMD
/* AVX2: four 8-lane vectors a block. */
static inline float sk_qdot(const uint8_t *p, const float *a, int64_t K)
{
	__m256 acc = _mm256_setzero_ps();

	for (int64_t b = 0; b < K / 32; b++, p += 34, a += 32) {
		__m256 dot = _mm256_setzero_ps();

		for (int k = 0; k < 4; k++)
			dot = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(p + 2 + 8 * k)))),
					      _mm256_loadu_ps(a + 8 * k), dot);
		acc = _mm256_fmadd_ps(dot, _mm256_set1_ps(sk_half_at(p)), acc);
	}
	return sk_sum8(acc);
}

static inline void sk_qdot4(const uint8_t *p, int64_t rb, const float *a, int64_t K, float d[4])
{
	for (int q = 0; q < 4; q++)
		d[q] = sk_qdot(p + q * rb, a, K);
}
#endif

#endif /* STRATA_KERNELS_DOT_Q8_H */
