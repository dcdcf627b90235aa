/* SPDX-License-Identifier: MIT */
/*
 * core/graph/kernels/dot_f32.h — dot-product micro-kernels on f32 rows,
 * written on GCC/Clang vector types (64-byte vectors where AVX-512 is
 * there, else 32: the compiler picks the instructions of the CPU it builds
 * for).  sk_dot4x4 keeps sixteen vector accumulators: four rows of a
 * against four rows of b, each load used four times (prefill);
 * sk_dot1x4 takes one row of a against four of b (decode).  (Embedded as
 * text into generated kernels; include after format.h.)
 */
#ifndef STRATA_KERNELS_DOT_F32_H
#define STRATA_KERNELS_DOT_F32_H

/* In a generated kernel these come pasted before this file; compiled as
 * itself (the library, the tests) it includes them. */
#ifndef STRATA_KERNELS_FORMAT_H
#include "core/graph/kernels/format.h"
#endif

#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__)
#define SK_VB 64
#elif defined(__AVX__)
#define SK_VB 32
#else
#define SK_VB 16 /* SSE: the library and the portable tests */
#endif
typedef float sk_vf __attribute__((vector_size(SK_VB), aligned(4)));
#define SK_VL (SK_VB / 4)
typedef float sk_v4 __attribute__((vector_size(16)));

static inline sk_vf sk_load(const float *p)
{
	return *(const sk_vf *)p;
}

/* Halve the vector until four lanes are left: log steps, not SK_VL adds. */
static inline float sk_hsum(sk_vf v)
{
	sk_v4 q;
#if SK_VB == 64
	typedef float sk_v8 __attribute__((vector_size(32)));
	sk_v8 lo8, hi8, s8;
	sk_v4 lo, hi;

	memcpy(&lo8, &v, 32), memcpy(&hi8, (char *)&v + 32, 32);
	s8 = lo8 + hi8;
	memcpy(&lo, &s8, 16), memcpy(&hi, (char *)&s8 + 16, 16);
	q = lo + hi;
#elif SK_VB == 32
	sk_v4 lo, hi;

	memcpy(&lo, &v, 16), memcpy(&hi, (char *)&v + 16, 16);
	q = lo + hi;
#else
	q = v;
#endif
	return (q[0] + q[1]) + (q[2] + q[3]);
}

/* d[i][j] = row i of a (rows @lda apart) · w_j, over @K. */
static inline void sk_dot4x4(const float *a, int64_t lda, const float *w0, const float *w1, const float *w2,
			 const float *w3, int64_t K, float d[4][4])
{
	sk_vf s[4][4];
	int64_t k = 0;

	memset(s, 0, sizeof(s));
	for (; k + SK_VL <= K; k += SK_VL) {
		const sk_vf b0 = sk_load(w0 + k), b1 = sk_load(w1 + k), b2 = sk_load(w2 + k), b3 = sk_load(w3 + k);

		for (int i = 0; i < 4; i++) {
			const sk_vf av = sk_load(a + i * lda + k);

			s[i][0] += av * b0;
			s[i][1] += av * b1;
			s[i][2] += av * b2;
			s[i][3] += av * b3;
		}
	}
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			d[i][j] = sk_hsum(s[i][j]);
	for (; k < K; k++)
		for (int i = 0; i < 4; i++) {
			d[i][0] += a[i * lda + k] * w0[k];
			d[i][1] += a[i * lda + k] * w1[k];
			d[i][2] += a[i * lda + k] * w2[k];
			d[i][3] += a[i * lda + k] * w3[k];
		}
}

/* d[j] = a · w_j over @K; @pf (not NULL): the four rows' bytes to sweep
 * into the cache ahead (sk_sweep). */
static inline void sk_dot1x4(const float *a, const float *w0, const float *w1, const float *w2, const float *w3,
			 int64_t K, const void *pf, float d[4])
{
	sk_vf s0, s1, s2, s3;
	int64_t k = 0;

	memset(&s0, 0, sizeof(s0)), s1 = s2 = s3 = s0;
	for (; k + SK_VL <= K; k += SK_VL) {
		const sk_vf av = sk_load(a + k);

		if (pf)
			sk_sweep(pf, 16 * k, 16 * SK_VL);
		s0 += av * sk_load(w0 + k);
		s1 += av * sk_load(w1 + k);
		s2 += av * sk_load(w2 + k);
		s3 += av * sk_load(w3 + k);
	}
	d[0] = sk_hsum(s0), d[1] = sk_hsum(s1), d[2] = sk_hsum(s2), d[3] = sk_hsum(s3);
	for (; k < K; k++) {
		d[0] += a[k] * w0[k];
		d[1] += a[k] * w1[k];
		d[2] += a[k] * w2[k];
		d[3] += a[k] * w3[k];
	}
}

static inline float sk_dot(const float *a, const float *w, int64_t K)
{
	sk_vf s;
	int64_t k = 0;
	float d;

	memset(&s, 0, sizeof(s));
	for (; k + SK_VL <= K; k += SK_VL)
		s += sk_load(a + k) * sk_load(w + k);
	d = sk_hsum(s);
	for (; k < K; k++)
		d += a[k] * w[k];
	return d;
}

#endif /* STRATA_KERNELS_DOT_F32_H */
