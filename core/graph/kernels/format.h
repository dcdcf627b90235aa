/* SPDX-License-Identifier: MIT */
/*
 * core/graph/kernels/format.h — what every weight helper shares: the
 * storage formats, the SIMD level the compiler targets, the sum of eight
 * lanes, and the prefetch of decode's dot products.
 *
 * Helpers take the format as an argument: generated kernels pass a
 * constant, and SK_INLINE makes the compiler fold every branch on it, so
 * each kernel gets the code of its one format, while the unit tests call
 * every format from one file.  (Embedded as text into generated kernels,
 * as elementwise.h; include after convert.h.)
 */
#ifndef STRATA_KERNELS_FORMAT_H
#define STRATA_KERNELS_FORMAT_H

#include <stdint.h>
#include <string.h>

#define SK_INLINE static inline __attribute__((always_inline))

/* How a weight's rows are stored (GGUF blocks of 32: ggml's layouts). */
enum sk_fmt {
	SK_F32,
	SK_F16,
	SK_BF16,
	SK_Q8_0, /* f16 d, 32 × i8 q:                      x = q·d */
	SK_Q4_0, /* f16 d, 16 bytes, j low nibble, j+16 high: x = (q − 8)·d */
	SK_Q4_1, /* f16 d, f16 m, 16 bytes as Q4_0:          x = q·d + m */
};

/* Bytes of a block of 32 (quantized formats). */
SK_INLINE int sk_block_bytes(enum sk_fmt f)
{
	return f == SK_Q8_0 ? 34 : f == SK_Q4_1 ? 20 : 18;
}

/* Where a block's quants start (after d, and Q4_1's m). */
SK_INLINE int sk_quant_start(enum sk_fmt f)
{
	return f == SK_Q4_1 ? 4 : 2;
}

/* AVX2 with F16C: the vector paths.  Else plain C. */
#if defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
#include <immintrin.h>
#define SK_SIMD 1
/* The sum of eight lanes, the one every AVX2 dot product ends with. */
static inline float sk_sum8(__m256 v)
{
	__m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	q = _mm_add_ps(q, _mm_movehl_ps(q, q));
	return _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
}
#else
#define SK_SIMD 0
#endif

/* AVX-512 with VNNI: decode's integer dot products on 8-bit digits. */
#if SK_SIMD && defined(__AVX512F__) && defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define SK_VNNI 1
#else
#define SK_VNNI 0
#endif

/*
 * Decode streams its weights from memory once, in groups of four rows
 * that lie next to each other, and the hardware prefetcher alone does not
 * keep enough of them in flight (a Q4_1 GEMV ran at 0.55 of its in-cache
 * speed).  sk_sweep() prefetches the group's bytes [from, from + len)
 * SK_AHEAD bytes early: a dot product over four rows that has done a
 * fraction f of them has done f of the group's bytes, so calling it with
 * from = 4 × (the offset within a row) sweeps the weight linearly.
 * 16 KiB ahead, into L2 only (prefetcht2): L1's few miss buffers held an
 * f32 GEMV from memory to 10–12 GB/s on one core with 8 KiB into L1, and
 * this gives 19–22 (the triad: 20–26); f16's and Q4_1's do not lose.
 */
#define SK_AHEAD 16384
static inline void sk_sweep(const void *p, int64_t from, int64_t len)
{
	const char *s = (const char *)p + from + SK_AHEAD;

	for (uintptr_t l = (uintptr_t)s & ~(uintptr_t)63; l < (uintptr_t)(s + len); l += 64)
		__builtin_prefetch((const void *)l, 0, 1);
}

#endif /* STRATA_KERNELS_FORMAT_H */
