/* SPDX-License-Identifier: MIT */
/*
 * core/graph/kernels/elementwise.h — the element-wise helpers generated
 * kernels call, one per element-wise op of ops.def (its kern column).
 *
 * This file is C compiled into the library's unit tests and embedded as
 * text at the head of every generated kernel (emit.c), so it includes
 * only system headers and defines only static inline functions with the
 * sk_ prefix.  exp and tanh are written out (Cephes' polynomial, range
 * reduced by rounding with the 1.5·2^23 trick) so that loops calling them
 * vectorize, which libm's cannot without -ffast-math.  Relative error
 * within 2e-7 over the range that does not overflow.
 */
#ifndef STRATA_KERNELS_ELEMENTWISE_H
#define STRATA_KERNELS_ELEMENTWISE_H

#include <math.h>
#include <stdint.h>

static inline float sk_add(float a, float b) { return a + b; }
static inline float sk_sub(float a, float b) { return a - b; }
static inline float sk_mul(float a, float b) { return a * b; }
static inline float sk_div(float a, float b) { return a / b; }
static inline float sk_max(float a, float b) { return a > b ? a : b; }

static inline float sk_exp(float x)
{
	x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
	const float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
	const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
	float p = 1.9875691500e-4f;

	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * r * r + r + 1.0f;
	union {
		int32_t i;
		float f;
	} u = { .i = ((int32_t)n + 127) << 23 };
	return p * u.f;
}

static inline float sk_log(float x) { return logf(x); }
static inline float sk_sqrt(float x) { return sqrtf(x); }
static inline float sk_rsqrt(float x) { return 1.0f / sqrtf(x); }
static inline float sk_neg(float x) { return -x; }

static inline float sk_tanh(float x)
{
	const float a = x < 0 ? -x : x, t = sk_exp(-2.0f * a), y = (1.0f - t) / (1.0f + t);

	return x < 0 ? -y : y;
}

static inline float sk_sigmoid(float x) { return 1.0f / (1.0f + sk_exp(-x)); }
static inline float sk_silu(float x) { return x / (1.0f + sk_exp(-x)); }

/* GELU, the tanh approximation (sqrt(2 / pi) = 0.7978845608). */
static inline float sk_gelu(float x)
{
	return 0.5f * x * (1.0f + sk_tanh(0.7978845608f * (x + 0.044715f * x * x * x)));
}

/* Soft-capping (Gemma 2's logits and attention scores): @x squashed into
 * (-|cap|, |cap|), nearly unchanged well inside it. */
static inline float sk_softcap(float x, float cap) { return cap * sk_tanh(x / cap); }

#endif /* STRATA_KERNELS_ELEMENTWISE_H */
