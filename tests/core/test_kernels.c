/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_kernels.c — the kernel helpers of core/graph/kernels/,
 * compiled as themselves, each against a plain scalar loop in double.
 *
 * The same file builds three ways (mk/tests.mk): with the library's own
 * flags (the portable paths, f16 through its bits), as test_kernels_avx2
 * (-march=native -mno-avx512f) and as test_kernels_avx512 (-march=native),
 * the flags generated kernels are built with.  A variant the CPU cannot
 * run says "skipped".
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/graph/kernels/convert.h"
#include "core/graph/kernels/elementwise.h"
#include "base/base.h"
#include "helpers.h"

#ifndef KERNELS_VARIANT
#define KERNELS_VARIANT "portable"
#endif

/* Whether this CPU runs what the compiler was allowed to use. */
static bool runnable(void)
{
#if defined(KERNELS_WANT_AVX512) && !defined(__AVX512F__)
	return false; /* -march=native found no AVX-512 */
#elif defined(__AVX512F__)
	return __builtin_cpu_supports("avx512f");
#elif defined(__AVX2__)
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
	return true;
#endif
}

static int variant_setup(void **state)
{
	(void)state;
	return 0;
}

#define NEED_CPU()                                                                                         \
	do {                                                                                               \
		if (!runnable())                                                                           \
			TEST_SKIP("this CPU cannot run the %s build of the kernel helpers", KERNELS_VARIANT); \
	} while (0)

/* |got - want| within @abs + @rel·|want| for x over [-lo, hi] in small
 * steps, plus the edges. */
static void sweep(const char *name, float (*f)(float), double (*ref)(double), float lo, float hi, double abs_tol,
		  double rel_tol)
{
	double worst = 0;
	float worst_x = 0;

	for (float x = lo; x <= hi; x += (hi - lo) / 20000.0f) {
		double want = ref((double)x), got = (double)f(x), err = fabs(got - want);
		double allowed = abs_tol + rel_tol * fabs(want);

		if (!(err <= allowed) && err / allowed > worst)
			worst = err / allowed, worst_x = x;
	}
	if (worst > 0)
		fail_msg("%s(%g): off by %.3g of what is allowed", name, (double)worst_x, worst);
}

static double ref_exp(double x) { return exp(x); }
static double ref_tanh(double x) { return tanh(x); }
static double ref_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static double ref_silu(double x) { return x / (1.0 + exp(-x)); }
static double ref_gelu(double x) { return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }
static double ref_log(double x) { return log(x); }
static double ref_sqrt(double x) { return sqrt(x); }
static double ref_rsqrt(double x) { return 1.0 / sqrt(x); }
static double ref_neg(double x) { return -x; }
static float cap30(float x) { return sk_softcap(x, 30.0f); }
static double ref_cap30(double x) { return 30.0 * tanh(x / 30.0); }
static float capneg(float x) { return sk_softcap(x, -5.0f); }
static double ref_capneg(double x) { return -5.0 * tanh(x / -5.0); }

static void unary_helpers(void **state)
{
	(void)state;
	NEED_CPU();
	sweep("sk_exp", sk_exp, ref_exp, -87.0f, 88.0f, 1e-37, 4e-7);
	sweep("sk_tanh", sk_tanh, ref_tanh, -20.0f, 20.0f, 2e-7, 2e-7);
	sweep("sk_sigmoid", sk_sigmoid, ref_sigmoid, -40.0f, 40.0f, 2e-7, 4e-7);
	sweep("sk_silu", sk_silu, ref_silu, -40.0f, 40.0f, 2e-7, 4e-7);
	sweep("sk_gelu", sk_gelu, ref_gelu, -10.0f, 10.0f, 2e-7, 4e-7);
	sweep("sk_log", sk_log, ref_log, 1e-3f, 1e4f, 0, 2e-7);
	sweep("sk_sqrt", sk_sqrt, ref_sqrt, 0, 1e4f, 0, 1e-7);
	sweep("sk_rsqrt", sk_rsqrt, ref_rsqrt, 1e-3f, 1e4f, 0, 2e-7);
	sweep("sk_neg", sk_neg, ref_neg, -1e4f, 1e4f, 0, 0);
	sweep("sk_softcap 30", cap30, ref_cap30, -300.0f, 300.0f, 6e-6, 4e-7);
	sweep("sk_softcap -5", capneg, ref_capneg, -50.0f, 50.0f, 1e-6, 4e-7);
	/* Past the clamp exp saturates instead of overflowing to inf. */
	assert_true(isfinite(sk_exp(1000.0f)) && sk_exp(-1000.0f) >= 0.0f);
	assert_true(sk_tanh(1e30f) == 1.0f && sk_tanh(-1e30f) == -1.0f);
	assert_true(fabsf(sk_softcap(1e30f, 30.0f) - 30.0f) < 1e-5f);
}

static void binary_helpers(void **state)
{
	static const float v[] = { -3.5f, -1.0f, -0.0f, 0.0f, 0.25f, 1.0f, 7.0f, 1e30f };
	unsigned i, j;

	(void)state;
	NEED_CPU();
	for (i = 0; i < ST_ARRAY_SIZE(v); i++)
		for (j = 0; j < ST_ARRAY_SIZE(v); j++) {
			float a = v[i], b = v[j];

			assert_true(sk_add(a, b) == a + b && sk_sub(a, b) == a - b && sk_mul(a, b) == a * b);
			if (b != 0)
				assert_true(sk_div(a, b) == a / b);
			assert_true(sk_max(a, b) == (a > b ? a : b));
		}
}

/* f16 by its definition: sign, 5 exponent bits biased by 15, 10 of fraction. */
static double f16_by_definition(uint16_t h)
{
	int sign = h >> 15, ex = (h >> 10) & 0x1f, m = h & 0x3ff;
	double v;

	if (ex == 0x1f)
		return m ? NAN : (sign ? -INFINITY : INFINITY);
	v = ex ? ldexp(1.0 + m / 1024.0, ex - 15) : ldexp(m / 1024.0, -14);
	return sign ? -v : v;
}

static void half_and_bf16_every_value(void **state)
{
	uint8_t buf[3];
	uint32_t h;

	(void)state;
	NEED_CPU();
	for (h = 0; h < 65536; h++) {
		double want = f16_by_definition((uint16_t)h);
		float got = sk_half((uint16_t)h), b = sk_bf16((uint16_t)h);
		uint32_t bits;

		if (isnan(want))
			assert_true(isnan(got));
		else if ((double)got != want || !signbit(got) != !signbit(want))
			fail_msg("f16 0x%04x: %g, want %g", h, (double)got, want);
		memcpy(&bits, &b, 4);
		assert_int_equal(bits, h << 16);
		/* At an odd address too: GGUF blocks are packed. */
		buf[1] = (uint8_t)h, buf[2] = (uint8_t)(h >> 8);
		got = sk_half_at(buf + 1);
		assert_true(isnan(want) ? isnan(got) : (double)got == want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(unary_helpers, variant_setup),
		cmocka_unit_test_setup(binary_helpers, variant_setup),
		cmocka_unit_test_setup(half_and_bf16_every_value, variant_setup),
	};

	return cmocka_run_group_tests_name(__FILE__ " (" KERNELS_VARIANT ")", tests, NULL, NULL);
}
