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
#include <stdlib.h>
#include <string.h>

#include "core/graph/kernels/convert.h"
#include "core/graph/kernels/elementwise.h"
#include "core/graph/kernels/packed.h"
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

/* Seeded bytes: any pattern is a valid block (scales included). */
static void fill_bytes(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1664525u + 1013904223u;
		p[i] = (uint8_t)(seed >> 24);
	}
}

/* The packed layout by its definition: in group g, block b, row r's
 * scale at 2r, Q4_1's minimum at 32 + 2r, quant word j at
 * qoff·16 + 64j + 4r (Q8_0's bytes made unsigned). */
static const uint8_t *packed_at(const uint8_t *P, int64_t nb, int bs, int64_t n, int64_t b)
{
	return P + ((n / 16) * nb + b) * 16 * bs;
}

/* Each format: a weight of 64 rows packed tile by tile (in place, as a lent
 * weight is, and into a copy) reads back block for block as stored, and
 * sits where the layout says. */
static void packed_layout_round_trip(void **state)
{
	static const int formats[] = { 34, 18, 20 }; /* Q8_0, Q4_0, Q4_1 */
	const int64_t rows = 64, K = 96, nb = K / 32;

	(void)state;
	NEED_CPU();
	for (unsigned f = 0; f < ST_ARRAY_SIZE(formats); f++) {
		const int bs = formats[f], qoff = sk_quant_offset(bs);
		size_t bytes = (size_t)(rows * nb * bs);
		uint8_t *stored = malloc(bytes), *copy = malloc(bytes), *in_place = malloc(bytes), blk[34];
		uint32_t tiles[2] = { SK_TILE_STORED, SK_TILE_STORED };

		assert_non_null(stored), assert_non_null(copy), assert_non_null(in_place);
		fill_bytes(stored, bytes, (uint32_t)bs);
		memcpy(in_place, stored, bytes);
		for (int64_t t = 0; t < rows / SK_TILE_ROWS; t++) {
			assert_false(sk_tile_packed(tiles, t * SK_TILE_ROWS));
			assert_int_equal(sk_ensure_packed(stored, copy, tiles, t, t * SK_TILE_ROWS, (t + 1) * SK_TILE_ROWS,
							  K, bs),
					 0);
			assert_true(sk_tile_packed(tiles, t * SK_TILE_ROWS) && tiles[t] == SK_TILE_PACKED);
			/* Met again: packed already, nothing rewritten. */
			assert_int_equal(sk_ensure_packed(stored, copy, tiles, t, 0, 0, K, bs), 0);
			assert_int_equal(sk_pack_tile(in_place, in_place, t * SK_TILE_ROWS, (t + 1) * SK_TILE_ROWS, K, bs), 0);
		}
		assert_memory_equal(copy, in_place, bytes);
		for (int64_t n = 0; n < rows; n++)
			for (int64_t b = 0; b < nb; b++) {
				const uint8_t *s = stored + (n * nb + b) * bs, *g = packed_at(copy, nb, bs, n, b);
				const int r = (int)(n % 16);

				sk_packed_block(copy, n, b, K, bs, blk);
				assert_memory_equal(blk, s, (size_t)bs);
				assert_memory_equal(g + 2 * r, s, 2);
				if (bs == 20)
					assert_memory_equal(g + 32 + 2 * r, s + 2, 2);
				for (int j = 0; j < 32 / (bs == 34 ? 1 : 2); j++)
					assert_int_equal(g[qoff * 16 + 64 * (j / 4) + 4 * r + j % 4],
							 (uint8_t)(s[qoff + j] ^ (bs == 34 ? 0x80 : 0)));
			}
		free(stored), free(copy), free(in_place);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(unary_helpers, variant_setup),
		cmocka_unit_test_setup(binary_helpers, variant_setup),
		cmocka_unit_test_setup(half_and_bf16_every_value, variant_setup),
		cmocka_unit_test_setup(packed_layout_round_trip, variant_setup),
	};

	return cmocka_run_group_tests_name(__FILE__ " (" KERNELS_VARIANT ")", tests, NULL, NULL);
}
