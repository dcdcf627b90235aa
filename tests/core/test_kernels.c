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
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/graph/kernels/convert.h"
#include "core/graph/kernels/elementwise.h"
#include "core/graph/kernels/format.h"
#include "core/graph/kernels/dot_f32.h"
#include "core/graph/kernels/dot_half.h"
#include "core/graph/kernels/dot_q8.h"
#include "core/graph/kernels/dot_quant.h"
#include "core/graph/kernels/packed.h"
#include "core/graph/kernels/gemm_block.h"
#include "core/graph/kernels/gemm_packed.h"
#include "core/graph/kernels/unpack.h"
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
			TEST_SKIP("this CPU lacks the instructions of the %s build (AVX2+FMA+F16C, or AVX-512 with VNNI): run it on a CPU that has them", KERNELS_VARIANT); \
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

/* --- weights in every format, and their values by the formats' definitions */

/* An f16 scale near 2^e (e in -8 … 0), positive or negative. */
static uint16_t scale_bits(uint32_t *seed)
{
	*seed = *seed * 1664525u + 1013904223u;
	return (uint16_t)(((*seed >> 31) << 15) | ((7u + (*seed >> 8) % 9u) << 10) | ((*seed >> 12) & 0x3ff));
}

/* @rows rows of @K weights stored as @f: random quants, sane scales. */
static uint8_t *make_weights(enum sk_fmt f, int64_t rows, int64_t K, uint32_t seed, size_t *row_bytes)
{
	size_t rb = f == SK_F32 ? (size_t)K * 4 : f == SK_F16 || f == SK_BF16 ? (size_t)K * 2
										 : (size_t)(K / 32 * sk_block_bytes(f));
	uint8_t *w = malloc(rb * (size_t)rows);

	assert_non_null(w);
	fill_bytes(w, rb * (size_t)rows, seed);
	for (int64_t r = 0; r < rows; r++) {
		uint8_t *row = w + (size_t)r * rb;

		if (f == SK_F32) {
			for (int64_t k = 0; k < K; k++) {
				float v = (float)((int)(row[4 * k] % 200) - 100) / 64.0f;

				memcpy(row + 4 * k, &v, 4);
			}
		} else if (f == SK_F16 || f == SK_BF16) {
			for (int64_t k = 0; k < K; k++) {
				uint16_t h = scale_bits(&seed);

				if (f == SK_BF16) /* the same value's bf16: exponent rebased, fraction cut */
					h = (uint16_t)((h & 0x8000) | ((((h >> 10) & 0x1f) + 112) << 7) | ((h >> 3) & 0x7f));
				memcpy(row + 2 * k, &h, 2);
			}
		} else {
			for (int64_t b = 0; b < K / 32; b++) {
				uint16_t d = scale_bits(&seed), m = scale_bits(&seed);

				memcpy(row + b * sk_block_bytes(f), &d, 2);
				if (f == SK_Q4_1)
					memcpy(row + b * sk_block_bytes(f) + 2, &m, 2);
			}
		}
	}
	*row_bytes = rb;
	return w;
}

/* Row @p's values by the definition (sk_half and sk_bf16 are tested on
 * every value above). */
static void values_of(const uint8_t *p, int64_t K, enum sk_fmt f, double *out)
{
	for (int64_t k = 0; k < K; k++) {
		if (f == SK_F32) {
			float v;

			memcpy(&v, p + 4 * k, 4);
			out[k] = v;
		} else if (f == SK_F16 || f == SK_BF16) {
			uint16_t h;

			memcpy(&h, p + 2 * k, 2);
			out[k] = f == SK_F16 ? f16_by_definition(h) : (double)sk_bf16(h);
		} else {
			const uint8_t *blk = p + k / 32 * sk_block_bytes(f);
			const int j = (int)(k % 32);
			uint16_t hd, hm;
			double d, m;

			memcpy(&hd, blk, 2), memcpy(&hm, blk + 2, 2);
			d = f16_by_definition(hd), m = f16_by_definition(hm);
			if (f == SK_Q8_0)
				out[k] = (int8_t)blk[2 + j] * d;
			else if (f == SK_Q4_0)
				out[k] = (((j < 16 ? blk[2 + j] : blk[2 + j - 16] >> 4) & 15) - 8) * d;
			else
				out[k] = ((j < 16 ? blk[4 + j] : blk[4 + j - 16] >> 4) & 15) * d + m;
		}
	}
}

static float *random_row(int64_t K, uint32_t seed)
{
	float *a = malloc((size_t)K * 4);

	assert_non_null(a);
	for (int64_t k = 0; k < K; k++) {
		seed = seed * 1664525u + 1013904223u;
		a[k] = (float)((int)(seed >> 20) % 2001 - 1000) / 500.0f;
	}
	return a;
}

/* |got − Σ a·w| within @rel of Σ|a·w|. */
static void expect_dot(const char *what, double got, const float *a, const double *w, int64_t K, double rel)
{
	double want = 0, mag = 0;

	for (int64_t k = 0; k < K; k++)
		want += (double)a[k] * w[k], mag += fabs((double)a[k] * w[k]);
	if (!(fabs(got - want) <= rel * mag + 1e-30))
		fail_msg("%s: %.9g, want %.9g (off by %.3g of Σ|a·w| = %.6g)", what, got, want, fabs(got - want) / mag, mag);
}

static const enum sk_fmt every_fmt[] = { SK_F32, SK_F16, SK_BF16, SK_Q8_0, SK_Q4_0, SK_Q4_1 };
static const char *const fmt_names[] = { "f32", "f16", "bf16", "Q8_0", "Q4_0", "Q4_1" };

/* sk_unpack, every format, against the definition. */
static void unpack_every_format(void **state)
{
	const int64_t K = 96;
	double want[96];
	float got[96];

	(void)state;
	NEED_CPU();
	for (unsigned i = 0; i < ST_ARRAY_SIZE(every_fmt); i++) {
		size_t rb;
		uint8_t *w = make_weights(every_fmt[i], 3, K, 7 + i, &rb);

		for (int64_t r = 0; r < 3; r++) {
			sk_unpack(w + r * rb, got, K, every_fmt[i]);
			values_of(w + r * rb, K, every_fmt[i], want);
			for (int64_t k = 0; k < K; k++)
				if (!(fabs(got[k] - want[k]) <= 2e-7 * fabs(want[k]) + 1e-12))
					fail_msg("sk_unpack %s row %lld element %lld: %.9g, want %.9g", fmt_names[i], (long long)r,
						 (long long)k, (double)got[k], want[k]);
		}
		free(w);
	}
}

/* The f32 dot products, K not a multiple of the vector length. */
static void f32_dots(void **state)
{
	const int64_t K = 101;
	float *a = random_row(4 * K, 3), d44[4][4], d4[4];
	size_t rb;
	uint8_t *w = make_weights(SK_F32, 4, K, 5, &rb);
	const float *wr[4];
	double wv[4][101];

	(void)state;
	NEED_CPU();
	for (int r = 0; r < 4; r++) {
		wr[r] = (const float *)(w + r * rb);
		values_of(w + r * rb, K, SK_F32, wv[r]);
	}
	sk_dot4x4(a, K, wr[0], wr[1], wr[2], wr[3], K, d44);
	sk_dot1x4(a, wr[0], wr[1], wr[2], wr[3], K, w, d4);
	for (int r = 0; r < 4; r++) {
		expect_dot("sk_dot", sk_dot(a, wr[r], K), a, wv[r], K, 1e-6);
		expect_dot("sk_dot1x4", d4[r], a, wv[r], K, 1e-6);
		for (int i = 0; i < 4; i++)
			expect_dot("sk_dot4x4", d44[i][r], a + i * K, wv[r], K, 1e-6);
	}
	free(a), free(w);
}

/* Decode's dot products on stored rows: f16/bf16 in registers, Q8_0 in
 * f32, and the prepared-row paths of every block format (digits on VNNI,
 * nibbles without), K with an odd number of blocks. */
static void stored_dots(void **state)
{
	(void)state;
	NEED_CPU();
#if !SK_SIMD
	TEST_SKIP("the %s build compiles no vector decode paths (they need AVX2, F16C and FMA): test_kernels_avx2 and test_kernels_avx512 test them", KERNELS_VARIANT);
#else
	const int64_t K = 96;
	float *a = random_row(K, 11);
	double wv[4][96];

	for (unsigned i = 1; i < ST_ARRAY_SIZE(every_fmt); i++) {
		const enum sk_fmt f = every_fmt[i];
		size_t rb;
		uint8_t *w = make_weights(f, 4, K, 13 + i, &rb);
		float d4[4];
		char what[64];

		for (int r = 0; r < 4; r++)
			values_of(w + r * rb, K, f, wv[r]);
		if (f == SK_F16 || f == SK_BF16) {
			sk_hdot4(w, (int64_t)rb, a, K, d4, f);
			for (int r = 0; r < 4; r++) {
				snprintf(what, sizeof(what), "sk_hdot %s", fmt_names[i]);
				expect_dot(what, sk_hdot(w + r * rb, a, K, f), a, wv[r], K, 1e-6);
				expect_dot(what, d4[r], a, wv[r], K, 1e-6);
			}
		}
		if (f == SK_Q8_0) {
			sk_qdot4(w, (int64_t)rb, a, K, d4);
			for (int r = 0; r < 4; r++) {
				expect_dot("sk_qdot Q8_0", sk_qdot(w + r * rb, a, K), a, wv[r], K, 1e-6);
				expect_dot("sk_qdot4 Q8_0", d4[r], a, wv[r], K, 1e-6);
			}
		}
		if (f >= SK_Q8_0 && (SK_VNNI || f != SK_Q8_0)) {
			sk_qa_t x[SK_QA_LEN(96)] __attribute__((aligned(64)));
			float ds[96 / 16];

			sk_prep_quant(a, K, x, ds, f);
			sk_quant_dot4(w, (int64_t)rb, x, ds, K, d4, f);
			for (int r = 0; r < 4; r++) {
				snprintf(what, sizeof(what), "sk_quant_dot %s (%s)", fmt_names[i], SK_VNNI ? "digits" : "nibbles");
				expect_dot(what, sk_quant_dot(w + r * rb, x, ds, K, f), a, wv[r], K, 2e-6);
				expect_dot(what, d4[r], a, wv[r], K, 2e-6);
			}
		}
		free(w);
	}
	free(a);
#endif
}

/* Sixteen packed rows against a prepared row (AVX-512 VNNI). */
static void packed_dot16(void **state)
{
	(void)state;
	NEED_CPU();
#if !SK_VNNI
	TEST_SKIP("the %s build has no AVX-512 VNNI, which the packed decode needs: test_kernels_avx512 tests it on a CPU with VNNI", KERNELS_VARIANT);
#else
	static const enum sk_fmt fmts[] = { SK_Q8_0, SK_Q4_0, SK_Q4_1 };
	const int64_t K = 96, rows = 32;
	float *a = random_row(K, 17);
	int8_t x[3 * 96] __attribute__((aligned(64)));
	float da[3], so[3], out[16];
	int32_t corr[3];
	double wv[96];

	for (unsigned i = 0; i < ST_ARRAY_SIZE(fmts); i++) {
		const int bs = sk_block_bytes(fmts[i]);
		size_t rb;
		uint8_t *w = make_weights(fmts[i], rows, K, 19 + i, &rb), *P = malloc(rb * (size_t)rows);
		char what[64];

		assert_non_null(P);
		assert_int_equal(sk_pack_tile(w, P, 0, rows, K, bs), 0);
		sk_prep_packed(a, K, x, da, so, corr, bs);
		for (int64_t g = 0; g < rows / 16; g++) {
			sk_pdot16(P + g * (K / 32) * 16 * bs, x, da, so, corr, K, out, bs, 3);
			for (int r = 0; r < 16; r++) {
				values_of(w + (size_t)(g * 16 + r) * rb, K, fmts[i], wv);
				snprintf(what, sizeof(what), "sk_pdot16 %s row %lld", fmt_names[3 + i], (long long)(g * 16 + r));
				expect_dot(what, out[r], a, wv, K, 2e-6);
			}
		}
		free(w), free(P);
	}
	free(a);
#endif
}

/*
 * Prefill on packed weights (AVX-512 VNNI): each format, one and two
 * groups, every row count up to a tile and past it.  With decode's three
 * digits, the very bits sk_pdot16 gives each row; with 8-bit rows, the
 * kernel's definition computed in double: A's rows as sk_prep_q8 rounded
 * them (checked first: within half a step of the value, the step
 * max|v| / 127), the weight's integer quants and scales as stored, and
 * the offset term on A's own sums; and decode's 8-bit path gives the
 * same bits.
 */
static void packed_gemm(void **state)
{
	(void)state;
	NEED_CPU();
#if !SK_VNNI
	TEST_SKIP("the %s build has no AVX-512 VNNI, which prefill on packed weights needs: test_kernels_avx512 tests it on a CPU with VNNI", KERNELS_VARIANT);
#else
	static const enum sk_fmt fmts[] = { SK_Q8_0, SK_Q4_0, SK_Q4_1 };
	const int64_t K = 96, nb = K / 32, rows = 32, M = 9;
	float *a = random_row(M * K, 23), c[9 * 40], one[16];
	int8_t q[9 * 96], x3[9 * 3 * 96] __attribute__((aligned(64)));
	float da[9 * 3], so[9 * 3], da3[9 * 3], so3[9 * 3];
	int32_t corr[9 * 3], corr3[9 * 3];

	for (unsigned i = 0; i < ST_ARRAY_SIZE(fmts); i++) {
		const enum sk_fmt f = fmts[i];
		const int bs = sk_block_bytes(f);
		size_t rb;
		uint8_t *w = make_weights(f, rows, K, 29 + i, &rb), *P = malloc(rb * (size_t)rows);

		assert_non_null(P);
		assert_int_equal(sk_pack_tile(w, P, 0, rows, K, bs), 0);
		for (int64_t m = 0; m < M; m++) {
			sk_prep_q8(a + m * K, K, q + m * K, da + m * nb, so + m * nb, corr + m * nb, bs);
			sk_prep_packed(a + m * K, K, x3 + m * 3 * K, da3 + m * nb, so3 + m * nb, corr3 + m * nb, bs);
		}
		for (int64_t k = 0; k < M * K; k++)
			if (fabs(q[k] * (double)da[k / 32] - a[k]) > da[k / 32] * 0.5001)
				fail_msg("sk_prep_q8: value %lld %.9g became %d × %.9g", (long long)k, (double)a[k], q[k],
					 (double)da[k / 32]);
		for (int groups = 1; groups <= 2; groups++)
			for (int mr = 1; mr <= 8; mr++) {
				const int64_t m0 = M - mr, rows_done = mr > 6 ? 6 : mr;

				/* three digits: decode's bits */
				memset(c, 0, sizeof(c));
				sk_pgemm_tiles(groups, 3, P, K, x3 + m0 * 3 * K, da3 + m0 * nb, so3 + m0 * nb, corr3 + m0 * nb,
					       (int)rows_done, c, 40, 16 * groups, bs);
				for (int r = 0; r < rows_done; r++)
					for (int g = 0; g < groups; g++) {
						const int64_t row = m0 + r;

						sk_pdot16(P + g * nb * 16 * bs, x3 + row * 3 * K, da3 + row * nb, so3 + row * nb,
							  corr3 + row * nb, K, one, bs, 3);
						if (memcmp(one, c + r * 40 + 16 * g, sizeof(one)))
							fail_msg("sk_pgemm_tiles %s, three digits, groups %d rows %d: row %d "
								 "group %d differs from sk_pdot16 (%.9g, %.9g)",
								 fmt_names[3 + i], groups, mr, r, g, (double)c[r * 40 + 16 * g],
								 (double)one[0]);
					}
				/* 8-bit rows: the definition; the last column not stored */
				memset(c, 0, sizeof(c));
				sk_pgemm_tiles(groups, 1, P, K, q + m0 * K, da + m0 * nb, so + m0 * nb, corr + m0 * nb,
					       (int)rows_done, c, 40, 16 * groups - 1, bs);
				for (int r = 0; r < rows_done; r++)
					for (int n = 0; n < 16 * groups; n++) {
						const int64_t row = m0 + r;
						double want = 0, scale = 0;

						for (int64_t b = 0; b < nb; b++) {
							const uint8_t *blk = w + (size_t)n * rb + b * bs;
							uint16_t hd, hm;
							double isum = 0;

							memcpy(&hd, blk, 2), memcpy(&hm, blk + 2, 2);
							for (int j = 0; j < 32; j++) {
								const int qa = q[row * K + b * 32 + j];
								const int qw = f == SK_Q8_0 ? (int8_t)blk[2 + j]
									       : (j < 16 ? blk[sk_quant_start(f) + j]
											 : blk[sk_quant_start(f) + j - 16] >> 4) & 15;

								isum += qw * qa;
								scale += fabs((double)qw * qa);
							}
							want += f16_by_definition(hd) * da[row * nb + b] * isum;
							if (f == SK_Q4_1)
								want += f16_by_definition(hm) * so[row * nb + b];
							else if (f == SK_Q4_0)
								want += f16_by_definition(hd) * so[row * nb + b];
						}
						if (n % 16 == 0) { /* decode's 8-bit path: the same bits */
							sk_pdot16(P + n / 16 * nb * 16 * bs, q + row * K, da + row * nb,
								  so + row * nb, corr + row * nb, K, one, bs, 1);
							if (n + 16 < 16 * groups && memcmp(one, c + r * 40 + n, sizeof(one)))
								fail_msg("sk_pdot16 %s, 8 bits: row %d group %d differs from "
									 "sk_pgemm_tiles", fmt_names[3 + i], r, n / 16);
						}
						if (n == 16 * groups - 1) {
							if (c[r * 40 + n] != 0)
								fail_msg("sk_pgemm_tiles wrote column %d past nr", n);
						} else if (fabs(c[r * 40 + n] - want) > 1e-5 * (fabs(want) + scale * 1e-3)) {
							fail_msg("sk_pgemm_tiles %s, 8 bits, groups %d rows %d: C[%d][%d] %.9g, "
								 "want %.9g", fmt_names[3 + i], groups, mr, r, n,
								 (double)c[r * 40 + n], want);
						}
					}
			}
		free(w), free(P);
	}
	free(a);
#endif
}

/* What sk_gemm_block()'s @done saw: each row once, after its last pass. */
struct rows_seen {
	int64_t M, N, n0, n1, r0;
	const float *C;
	const double *want;
	int calls[64];
};

static struct rows_seen *seen;

static void record_row(void *const *t, int64_t seq, int64_t r, int64_t n0, int64_t n, float *c)
{
	const int64_t m = r - seen->r0;

	(void)t, (void)seq;
	assert_true(m >= 0 && m < seen->M);
	assert_int_equal(n0, seen->n0);
	assert_int_equal(n, seen->n1 - seen->n0);
	assert_ptr_equal(c, seen->C + m * seen->N + n0);
	/* The row is final: its last column matches the product already. */
	assert_true(fabs(c[n - 1] - seen->want[m * seen->N + n0 + n - 1]) <= 1e-3);
	seen->calls[m]++;
}

/*
 * The prefill micro-kernel against sums in double, B stored as f32, f16
 * and bf16: every row count up to two tiles and beyond (the 4/8/12-row paths and their padding), column
 * blocks that end inside a micro-panel, K not a multiple of 8 (the
 * transposes' scalar edges), several passes over K, and K a multiple of
 * 512 (rows far apart).  Columns outside [n0, n1) stay untouched.
 */
/* @v stored as @f (f16 by rounding the mantissa to 10 bits, bf16 by
 * cutting it to 7; @v normal and in range, or 0). */
static void store_as(float v, enum sk_fmt f, void *to)
{
	uint32_t b;
	uint16_t h;

	memcpy(&b, &v, 4);
	if (f == SK_F32) {
		memcpy(to, &v, 4);
		return;
	}
	if (f == SK_BF16)
		h = (uint16_t)(b >> 16);
	else if ((b & 0x7fffffff) == 0)
		h = (uint16_t)(b >> 16);
	else
		h = (uint16_t)(((b >> 16) & 0x8000) | ((((b >> 23) & 0xff) - 112) << 10) | ((b >> 13) & 0x3ff));
	memcpy(to, &h, 2);
}

/* sk_gemm_block() over the cases above, A found as @form says: as is,
 * packed whole (sk_prep_f32), or rounded to bf16 (sk_prep_bf16) against
 * bf16 weights, the sums in double then taken on the rounded values, K
 * even. */
static const char *const form_names[] = { "", " (a packed whole)", " (a in bf16)" };

static void run_gemm_blocks(enum sk_a_form form)
{
	const bool bf16 = form == SK_A_BF16;

	static const int64_t Ms[] = { 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 17, 25, 37 };
	static const int64_t Ks[] = { 1, 2, 7, 8, 33, 100, 517, 1024 };
	static const int64_t cols[][3] = { { 70, 0, 70 }, { 70, 32, 64 }, { 96, 32, 77 }, { 31, 0, 31 }, { 8, 0, 1 } };
	static const int64_t kcmaxes[] = { 64, 224 };
	static const enum sk_fmt fmts[] = { SK_F32, SK_F16, SK_BF16 };

	for (unsigned fi = bf16 ? 2 : 0; fi < 3; fi++)
		for (unsigned ki = 0; ki < sizeof(Ks) / sizeof(Ks[0]); ki++)
			for (unsigned mi = 0; mi < sizeof(Ms) / sizeof(Ms[0]); mi += ki < 5 ? 1 : 4)
				for (unsigned ci = 0; ci < sizeof(cols) / sizeof(cols[0]); ci++) {
					const int64_t M = Ms[mi], K = Ks[ki], N = cols[ci][0], n0 = cols[ci][1], n1 = cols[ci][2];
					const int64_t kcmax = kcmaxes[(mi + ci) % 2];
					const enum sk_fmt f = fmts[fi];

					if (bf16 && K % 2)
						continue;
					float *A = random_row(M * K, 11 + ki), *B = random_row(N * K, 13 + mi), *C = random_row(M * N, 3);
					char *Bs = malloc((size_t)(N * K) * 4);
					float *keep = malloc((size_t)(M * N) * 4);
					float *bp = aligned_alloc(64, (size_t)((n1 - n0 + SK_NR - 1) / SK_NR * SK_NR * kcmax) * 4);
					float *at = aligned_alloc(64, (size_t)(SK_MR * ((kcmax + SK_AG - 1) / SK_AG * SK_AG)) * 4);
					float *x = malloc((size_t)sk_f32_tiled_floats(M, K) * 4); /* ≥ sk_bf16_words() */
					double *want = calloc((size_t)(M * N), sizeof(double));
					struct rows_seen rs = { .M = M, .N = N, .n0 = n0, .n1 = n1, .r0 = 100, .C = C, .want = want };

					assert_non_null(keep), assert_non_null(bp), assert_non_null(at), assert_non_null(want);
					memcpy(keep, C, (size_t)(M * N) * 4);
					assert_non_null(Bs);
					for (int64_t i = 0; i < N * K; i++) { /* B as stored, and its values widened */
						store_as(B[i], f, Bs + i * sk_value_bytes(f));
						B[i] = sk_value(Bs, i, f);
					}
					if (form == SK_A_TILED)
						sk_prep_f32(A, M, K, x);
#if SK_BF16DOT
					if (bf16)
						sk_prep_bf16(A, M, K, (uint32_t *)x);
					for (int64_t m = 0; bf16 && m < M; m++) { /* a's rows as the kernel sees them */
						for (int64_t k = 0; k < K; k++) { /* to nearest: within half a unit (2⁻⁸) */
							const uint32_t w = ((const uint32_t *)x)[(m / SK_MR * ((K + 31) / 32) + k / 32) * SK_MR * 16 + m % SK_MR * 16 + k % 32 / 2];
							const float r = sk_bf16((uint16_t)(w >> (k % 2 * 16)));

							assert_true(fabsf(r - A[m * K + k]) <= ldexpf(fabsf(A[m * K + k]), -8));
							A[m * K + k] = r;
						}
					}
#endif
					for (int64_t m = 0; m < M; m++)
						for (int64_t n = 0; n < N; n++)
							for (int64_t k = 0; k < K; k++)
								want[m * N + n] += (double)A[m * K + k] * B[n * K + k];
					seen = &rs;
					sk_gemm_block(form == SK_A_ROWS ? (const void *)A : (const void *)x, form, Bs + n0 * K * sk_value_bytes(f), f, C,
						      M, K, N, n0, n1, kcmax, bp, at, record_row, NULL, 0, rs.r0);
					for (int64_t m = 0; m < M; m++) {
						assert_int_equal(rs.calls[m], 1);
						for (int64_t n = 0; n < N; n++) {
							double got = C[m * N + n], w = n >= n0 && n < n1 ? want[m * N + n] : keep[m * N + n];

							if (fabs(got - w) > 1e-5 * (double)K + 1e-6 * fabs(w))
								fail_msg("sk_gemm_block%s %s M %lld K %lld N %lld [%lld, %lld) kc %lld: C[%lld][%lld] "
									 "%.9g, want %.9g", form_names[form], fmt_names[f], (long long)M, (long long)K, (long long)N,
									 (long long)n0, (long long)n1, (long long)kcmax, (long long)m,
									 (long long)n, got, w);
						}
					}
					free(A), free(B), free(Bs), free(C), free(keep), free(bp), free(at), free(x), free(want);
				}
}

static void gemm_block(void **state)
{
	(void)state;
	NEED_CPU();
	run_gemm_blocks(SK_A_ROWS);
	run_gemm_blocks(SK_A_TILED);
}

/* The AVX512_BF16 tiles (kernels/gemm_bf16.h), where the CPU has them. */
static void bf16_gemm_block(void **state)
{
	(void)state;
	NEED_CPU();
#if SK_BF16DOT
	run_gemm_blocks(SK_A_BF16);
#else
	TEST_SKIP("the %s build has no AVX512_BF16: test_kernels_avx512 tests it on a CPU that has it "
		  "(AMD Zen 4, Intel Cooper Lake or Sapphire Rapids and later)",
		  KERNELS_VARIANT);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(unary_helpers, variant_setup),
		cmocka_unit_test_setup(binary_helpers, variant_setup),
		cmocka_unit_test_setup(half_and_bf16_every_value, variant_setup),
		cmocka_unit_test_setup(packed_layout_round_trip, variant_setup),
		cmocka_unit_test_setup(unpack_every_format, variant_setup),
		cmocka_unit_test_setup(f32_dots, variant_setup),
		cmocka_unit_test_setup(stored_dots, variant_setup),
		cmocka_unit_test_setup(packed_dot16, variant_setup),
		cmocka_unit_test_setup(gemm_block, variant_setup),
		cmocka_unit_test_setup(bf16_gemm_block, variant_setup),
		cmocka_unit_test_setup(packed_gemm, variant_setup),
	};

	return cmocka_run_group_tests_name(__FILE__ " (" KERNELS_VARIANT ")", tests, NULL, NULL);
}
