/* SPDX-License-Identifier: MIT */
/*
 * core/graph/kernels/unpack.h — a row of weights widened to f32, in the
 * format it is stored in: the prefill path and the embedding's gather.
 *
 * With AVX2 (and F16C for f16) eight elements at a time with intrinsics:
 * compilers do not vectorize half-precision conversion or the nibble
 * shuffles of the block formats on their own.  The plain C after each
 * #else is the reference layout (ggml's) and the fallback.  (Embedded as
 * text into generated kernels; include after convert.h and format.h.)
 */
#ifndef STRATA_KERNELS_UNPACK_H
#define STRATA_KERNELS_UNPACK_H

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

/* Row @p of @K elements stored as @f, widened into @w. */
SK_INLINE void sk_unpack(const uint8_t *p, float *w, int64_t K, enum sk_fmt f)
{
	int64_t k = 0;

	if (f == SK_F32) {
		memcpy(w, p, (size_t)K * 4);
	} else if (f == SK_F16) {
#if SK_SIMD
		for (; k + 8 <= K; k += 8)
			_mm256_storeu_ps(w + k, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 2 * k))));
#endif
		for (; k < K; k++)
			w[k] = sk_half_at(p + 2 * k);
	} else if (f == SK_BF16) { /* the f32 is the 16 bits shifted up */
#if SK_SIMD
		for (; k + 8 <= K; k += 8)
			_mm256_storeu_si256((__m256i *)(w + k),
					    _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p + 2 * k))),
							      16));
#endif
		for (; k < K; k++) {
			uint16_t h;

			memcpy(&h, p + 2 * k, 2);
			w[k] = sk_bf16(h);
		}
	} else if (f == SK_Q8_0) {
		for (int64_t b = 0; b < K / 32; b++, p += 34, w += 32) {
			const float d = sk_half_at(p);
#if SK_SIMD
			const __m256 dv = _mm256_set1_ps(d);

			for (int j = 0; j < 32; j += 8)
				_mm256_storeu_ps(w + j, _mm256_mul_ps(dv, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
										  _mm_loadl_epi64((const __m128i *)(p + 2 + j))))));
#else
			for (int j = 0; j < 32; j++)
				w[j] = (float)(int8_t)p[2 + j] * d;
#endif
		}
	} else { /* Q4_0, Q4_1 */
		const int bs = sk_block_bytes(f), qs = sk_quant_start(f);

		for (int64_t b = 0; b < K / 32; b++, p += bs, w += 32) {
			const float d = sk_half_at(p), m = f == SK_Q4_1 ? sk_half_at(p + 2) : -8.0f * d;
			const uint8_t *q = p + qs;
#if SK_SIMD
			const __m256 dv = _mm256_set1_ps(d), mv = _mm256_set1_ps(m);
			const __m128i bytes = _mm_loadu_si128((const __m128i *)q), low = _mm_set1_epi8(0x0f);
			const __m128i lo = _mm_and_si128(bytes, low), hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), low);

			_mm256_storeu_ps(w, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo)), dv, mv));
			_mm256_storeu_ps(w + 8, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8))),
								dv, mv));
			_mm256_storeu_ps(w + 16, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi)), dv, mv));
			_mm256_storeu_ps(w + 24, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8))),
								 dv, mv));
#else
			for (int j = 0; j < 16; j++) {
				w[j] = (float)(q[j] & 0x0f) * d + m;
				w[j + 16] = (float)(q[j] >> 4) * d + m;
			}
#endif
		}
	}
}

#endif /* STRATA_KERNELS_UNPACK_H */
