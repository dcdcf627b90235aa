/* SPDX-License-Identifier: MIT */
/*
 * core/graph/kernels/convert.h — f16 and bf16 to f32, for generated
 * kernels (embedded as text, as elementwise.h) and the interpreter.
 *
 * f16 goes through the F16C instruction where the compiler targets it
 * (generated kernels build with -march=native); else through its bits,
 * subnormals, infinities and NaN included.  (_Float16 would be a libgcc
 * call without AVX512-FP16.)
 */
#ifndef STRATA_KERNELS_CONVERT_H
#define STRATA_KERNELS_CONVERT_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __F16C__
#include <immintrin.h>
static inline float sk_half(uint16_t h) { return _cvtsh_ss(h); }
#else
static inline float sk_half(uint16_t h)
{
	uint32_t s = (uint32_t)(h >> 15) << 31, ex = (h >> 10) & 0x1f, m = h & 0x3ff, b;
	float f;

	if (ex == 0x1f) {
		b = s | 0x7f800000u | (m << 13); /* inf, nan */
	} else if (ex == 0) {
		f = ldexpf((float)m, -24); /* zero or subnormal: m * 2^-24 */
		return s ? -f : f;
	} else {
		b = s | ((ex + 112) << 23) | (m << 13);
	}
	memcpy(&f, &b, 4);
	return f;
}
#endif

static inline float sk_bf16(uint16_t h)
{
	uint32_t b = (uint32_t)h << 16;
	float f;

	memcpy(&f, &b, 4);
	return f;
}

/* An f16 at any address (GGUF blocks are packed: no alignment). */
static inline float sk_half_at(const uint8_t *p)
{
	uint16_t h;

	memcpy(&h, p, 2);
	return sk_half(h);
}

#endif /* STRATA_KERNELS_CONVERT_H */
