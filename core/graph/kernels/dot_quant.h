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

/*
 * sk_prep_quant(a, K, x, ds, fmt): row @a of @K prepared into @x
 * (SK_QA_LEN(K) of sk_qa_t) and @ds (K / 16 floats);
 * sk_quant_dot(p, x, ds, K, fmt): row @p of b against it;
 * sk_quant_dot4(p, rb, x, ds, K, out, fmt): four rows @rb bytes apart.
 */
#if SK_VNNI
#define sk_prep_quant sk_prep_digits
#define sk_quant_dot sk_digits_dot
#define sk_quant_dot4 sk_digits_dot4
#elif SK_SIMD
#define sk_prep_quant sk_prep_nibbles
#define sk_quant_dot sk_nib_dot
#define sk_quant_dot4 sk_nib_dot4
#endif

#endif /* STRATA_KERNELS_DOT_QUANT_H */
