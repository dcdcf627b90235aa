/* SPDX-License-Identifier: MIT */
/*
 * core/graph/kernels/dot_quant.h — decode on block formats against a row
 * of a prepared once per batch: the integer digits of dot_digits.h where
 * AVX-512 VNNI runs, else (4-bit blocks) the f32 nibbles of dot_nibble.h.
 * (Q8_0 without VNNI takes dot_q8.h's unprepared path.)  (Embedded as text
 * into generated kernels after the two it chooses between.)
 */
#ifndef STRATA_KERNELS_DOT_QUANT_H
#define STRATA_KERNELS_DOT_QUANT_H

/* In a generated kernel these come pasted before this file; compiled as
 * itself (the library, the tests) it includes them. */
#ifndef STRATA_KERNELS_DOT_DIGITS_H
#include "core/graph/kernels/dot_digits.h"
#endif
#ifndef STRATA_KERNELS_DOT_NIBBLE_H
#include "core/graph/kernels/dot_nibble.h"
#endif

#if SK_VNNI
/* Row @a of @K prepared into @x (SK_QA_LEN(K)) and @ds (K / 16). */
SK_INLINE void sk_prep_quant(const float *a, int64_t K, sk_qa_t *x, float *ds, enum sk_fmt f)
{
	sk_prep_digits(a, K, x, ds, f);
}

SK_INLINE float sk_quant_dot(const uint8_t *p, const sk_qa_t *x, const float *ds, int64_t K, enum sk_fmt f)
{
	return sk_digits_dot(p, x, ds, K, f);
}

SK_INLINE void sk_quant_dot4(const uint8_t *p, int64_t rb, const sk_qa_t *x, const float *ds, int64_t K, float out[4],
			     enum sk_fmt f)
{
	sk_digits_dot4(p, rb, x, ds, K, out, f);
}
#elif SK_SIMD
SK_INLINE void sk_prep_quant(const float *a, int64_t K, sk_qa_t *x, float *ds, enum sk_fmt f)
{
	sk_prep_nibbles(a, K, x, ds, f);
}

SK_INLINE float sk_quant_dot(const uint8_t *p, const sk_qa_t *x, const float *ds, int64_t K, enum sk_fmt f)
{
	return sk_nib_dot(p, x, ds, K, f);
}

SK_INLINE void sk_quant_dot4(const uint8_t *p, int64_t rb, const sk_qa_t *x, const float *ds, int64_t K, float out[4],
			     enum sk_fmt f)
{
	sk_nib_dot4(p, rb, x, ds, K, out, f);
}
#endif

#endif /* STRATA_KERNELS_DOT_QUANT_H */
