/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_graph_interp.c — the reference interpreter against values
 * worked out by hand (or by direct loops for the attention case): every op,
 * broadcasting, f16, bf16 and GGUF block weights, rotary embeddings in
 * both layouts, the symbolic sequence length bound
 * at run time, and a run's refusals (missing or mis-sized tensors, a bad
 * sequence length, an id outside the table).
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "helpers.h"

#define TOL 1e-5f

static uint32_t in(unsigned ndim, const int64_t *shape)
{
	uint32_t id = 0;

	assert_int_equal(strata_graph_input(test_graph, "in", STRATA_DTYPE_F32, ndim, shape, &id), 0);
	return id;
}

static uint32_t w(unsigned ndim, const int64_t *shape, const void *data)
{
	uint32_t id = 0;

	assert_int_equal(strata_graph_weight(test_graph, "w", STRATA_DTYPE_F32, ndim, shape, data, &id), 0);
	return id;
}

/* Run with one input and read @n floats of node @out. */
static void run1(uint32_t seq, uint32_t input, const float *x, size_t xn, uint32_t out, float *y, size_t n)
{
	struct strata_graph_tensor i = {input, (void *)(uintptr_t)x, xn * sizeof(float)};
	struct strata_graph_tensor o = {out, y, n * sizeof(float)};

	if (strata_graph_eval_reference(test_graph, seq, &i, 1, &o, 1))
		fail_msg("run failed: %s", strata_graph_error(test_graph));
}

static void expect(const float *got, const float *want, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!(fabsf(got[i] - want[i]) <= TOL * (1 + fabsf(want[i]))))
			fail_msg("element %zu: got %.7g, want %.7g", i, (double)got[i], (double)want[i]);
}

static void elementwise_broadcast(void **state)
{
	const int64_t s23[] = {2, 3}, s3[] = {3}, s21[] = {2, 1};
	const float x[] = {1, 2, 3, 4, 5, 6}, row[] = {10, 20, 30}, col[] = {2, 4};
	uint32_t a = in(2, s23), r = w(1, s3, row), c = w(2, s21, col), o[5];
	float y[6];
	static const float add[] = {11, 22, 33, 14, 25, 36}, sub[] = {-1, 0, 1, 0, 1, 2};
	static const float mul[] = {10, 40, 90, 40, 100, 180}, dvd[] = {0.5f, 1, 1.5f, 1, 1.25f, 1.5f};
	static const float mx[] = {2, 2, 3, 4, 5, 6};

	(void)state;
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_ADD, a, r, &o[0]), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_SUB, a, c, &o[1]), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_MUL, r, a, &o[2]), 0); /* broadcast on the left */
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_DIV, a, c, &o[3]), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_MAX, a, c, &o[4]), 0);
	run1(1, a, x, 6, o[0], y, 6);
	expect(y, add, 6);
	run1(1, a, x, 6, o[1], y, 6);
	expect(y, sub, 6);
	run1(1, a, x, 6, o[2], y, 6);
	expect(y, mul, 6);
	run1(1, a, x, 6, o[3], y, 6);
	expect(y, dvd, 6);
	run1(1, a, x, 6, o[4], y, 6);
	expect(y, mx, 6);
}

static void unary_ops(void **state)
{
	const int64_t s[] = {3};
	const float x[] = {0.5f, 1.0f, 2.0f};
	static const enum strata_op ops[] = {STRATA_OP_EXP,     STRATA_OP_LOG,  STRATA_OP_SQRT,
	                                     STRATA_OP_RSQRT,   STRATA_OP_NEG,  STRATA_OP_TANH,
	                                     STRATA_OP_SIGMOID, STRATA_OP_SILU, STRATA_OP_GELU};
	/* exp, log, sqrt, 1/sqrt, -x, tanh, 1/(1+e^-x), x/(1+e^-x), and GELU's
	 * tanh form at 0.5, 1 and 2 (0.345714, 0.841192, 1.954598). */
	static const float want[][3] = {
	    {1.6487213f, 2.7182818f, 7.3890561f},
	    {-0.6931472f, 0.0f, 0.6931472f},
	    {0.7071068f, 1.0f, 1.4142136f},
	    {1.4142136f, 1.0f, 0.7071068f},
	    {-0.5f, -1.0f, -2.0f},
	    {0.4621172f, 0.7615942f, 0.9640276f},
	    {0.6224593f, 0.7310586f, 0.8807971f},
	    {0.3112297f, 0.7310586f, 1.7615942f},
	    {0.3457140f, 0.8411920f, 1.9545977f},
	};
	uint32_t a = in(1, s), o;
	float y[3];
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		assert_int_equal(strata_graph_unary(test_graph, ops[i], a, &o), 0);
		run1(1, a, x, 3, o, y, 3);
		expect(y, want[i], 3);
	}
	{
		/* 2 tanh(x / 2): squashed into (-2, 2), and so with the cap negative. */
		static const float capped[] = {0.4898339f, 0.9242343f, 1.5231884f};

		for (float cap = 2.0f; cap > -3.0f; cap -= 4.0f) {
			assert_int_equal(strata_graph_unary_value(test_graph, STRATA_OP_SOFTCAP, a, cap, &o), 0);
			run1(1, a, x, 3, o, y, 3);
			expect(y, capped, 3);
		}
	}
}

static void reductions_and_rows(void **state)
{
	const int64_t s23[] = {2, 3}, s2[] = {2};
	const float x[] = {1, 2, 3, 4, 5, 9}, nw[] = {1, 2};
	uint32_t a = in(2, s23), o;
	float y[6];
	static const float sum0[] = {5, 7, 12}, max1[] = {3, 9}, mean1[] = {2, 6};
	/* softmax of [1 2 3] and [4 5 9] */
	static const float sm[] = {0.0900306f, 0.2447285f, 0.6652410f, 0.0065733f, 0.0178680f, 0.9755588f};
	/* rmsnorm of [3 4] with weight [1 2]: rms = sqrt(12.5) */
	const int64_t s12[] = {1, 2};
	const float v[] = {3, 4};
	static const float rn[] = {0.8485281f, 2.2627417f};
	uint32_t b, nwt;

	(void)state;
	assert_int_equal(strata_graph_reduce(test_graph, STRATA_OP_SUM, a, 0, &o), 0);
	run1(1, a, x, 6, o, y, 3);
	expect(y, sum0, 3);
	assert_int_equal(strata_graph_reduce(test_graph, STRATA_OP_REDUCE_MAX, a, -1, &o), 0);
	run1(1, a, x, 6, o, y, 2);
	expect(y, max1, 2);
	assert_int_equal(strata_graph_reduce(test_graph, STRATA_OP_MEAN, a, 1, &o), 0);
	run1(1, a, x, 6, o, y, 2);
	expect(y, mean1, 2);
	assert_int_equal(strata_graph_softmax(test_graph, a, &o), 0);
	run1(1, a, x, 6, o, y, 6);
	expect(y, sm, 6);

	b = in(2, s12);
	nwt = w(1, s2, nw);
	assert_int_equal(strata_graph_rmsnorm(test_graph, b, nwt, 1e-12f, &o), 0);
	{
		struct strata_graph_tensor ins[] = {{a, (void *)(uintptr_t)x, sizeof(x)},
		                                    {b, (void *)(uintptr_t)v, sizeof(v)}};
		struct strata_graph_tensor out = {o, y, 2 * sizeof(float)};

		assert_int_equal(strata_graph_eval_reference(test_graph, 1, ins, 2, &out, 1), 0);
		expect(y, rn, 2);
	}
}

static void matmul_forms(void **state)
{
	const int64_t s23[] = {2, 3}, s32[] = {3, 2}, s223[] = {2, 2, 3}, s232[] = {2, 3, 2};
	const float a_v[] = {1, 2, 3, 4, 5, 6}, b_v[] = {7, 8, 9, 10, 11, 12}, bt_v[] = {7, 9, 11, 8, 10, 12};
	const float a2[] = {1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6};
	const float b2[] = {7, 8, 9, 10, 11, 12, 1, 0, 0, 1, 1, 1};
	static const float ab[] = {58, 64, 139, 154};
	static const float ab2[] = {58, 64, 139, 154, -4, -5, -10, -11};
	uint32_t a = in(2, s23), b = w(2, s32, b_v), bt = w(2, s23, bt_v), a3 = in(3, s223), b3 = w(3, s232, b2), o;
	float y[8];

	(void)state;
	assert_int_equal(strata_graph_matmul(test_graph, a, b, 0, &o), 0);
	run1(1, a, a_v, 6, o, y, 4);
	expect(y, ab, 4);
	assert_int_equal(strata_graph_matmul(test_graph, a, bt, STRATA_MATMUL_TRANS_B, &o), 0);
	run1(1, a, a_v, 6, o, y, 4);
	expect(y, ab, 4);
	/* Batched: the second batch is -a times [[1 0] [0 1] [1 1]]. */
	assert_int_equal(strata_graph_matmul(test_graph, a3, b3, 0, &o), 0);
	{
		struct strata_graph_tensor ins[] = {{a, (void *)(uintptr_t)a_v, sizeof(a_v)},
		                                    {a3, (void *)(uintptr_t)a2, sizeof(a2)}};
		struct strata_graph_tensor out = {o, y, 8 * sizeof(float)};

		assert_int_equal(strata_graph_eval_reference(test_graph, 1, ins, 2, &out, 1), 0);
		expect(y, ab2, 8);
	}
}

static void views_and_embedding(void **state)
{
	const int64_t s23[] = {2, 3}, s32[] = {3, 2}, s6[] = {6}, tab_s[] = {4, 2}, ids_s[] = {3};
	const float x[] = {1, 2, 3, 4, 5, 6}, table[] = {0, 1, 10, 11, 20, 21, 30, 31};
	static const float tr[] = {1, 4, 2, 5, 3, 6}, emb[] = {30, 31, 0, 1, 30, 31};
	const unsigned perm[] = {1, 0};
	int32_t ids[] = {3, 0, 3};
	uint32_t a = in(2, s23), t = w(2, tab_s, table), i, p, r, e;
	float y[6];

	(void)state;
	assert_int_equal(strata_graph_permute(test_graph, a, perm, &p), 0);
	assert_int_equal(strata_graph_reshape(test_graph, p, 2, s32, &r), 0);
	assert_int_equal(strata_graph_reshape(test_graph, p, 1, s6, &r), 0);
	run1(1, a, x, 6, r, y, 6);
	expect(y, tr, 6);
	assert_int_equal(strata_graph_input(test_graph, "ids", STRATA_DTYPE_I32, 1, ids_s, &i), 0);
	assert_int_equal(strata_graph_embedding(test_graph, t, i, &e), 0);
	{
		struct strata_graph_tensor ins[] = {{a, (void *)(uintptr_t)x, sizeof(x)}, {i, ids, sizeof(ids)}};
		struct strata_graph_tensor out = {e, y, 6 * sizeof(float)};

		assert_int_equal(strata_graph_eval_reference(test_graph, 1, ins, 2, &out, 1), 0);
		expect(y, emb, 6);
		ids[1] = 4; /* one past the table */
		assert_int_equal(strata_graph_eval_reference(test_graph, 1, ins, 2, &out, 1), -EINVAL);
		assert_non_null(
		    strstr(strata_graph_error(test_graph), "id 4 at position 1 is outside the table's 4 rows"));
	}
}

static void half_weights(void **state)
{
	const int64_t s[] = {3};
	const uint16_t f16[] = {0x3e00, 0xc000, 0x3400}, bf16[] = {0x3fc0, 0xc000, 0x3e80};
	const float zero[] = {0, 0, 0};
	static const float want[] = {1.5f, -2.0f, 0.25f};
	uint32_t a = in(1, s), h, b, o;
	float y[3];

	(void)state;
	assert_int_equal(strata_graph_weight(test_graph, "h", STRATA_DTYPE_F16, 1, s, f16, &h), 0);
	assert_int_equal(strata_graph_weight(test_graph, "b", STRATA_DTYPE_BF16, 1, s, bf16, &b), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_ADD, a, h, &o), 0);
	run1(1, a, zero, 3, o, y, 3);
	expect(y, want, 3);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_ADD, a, b, &o), 0);
	run1(1, a, zero, 3, o, y, 3);
	expect(y, want, 3);
}

static void normalisation_and_rope(void **state)
{
	const int64_t s14[] = {1, 4}, s4[] = {4}, xs[] = {2, 1, 4}, ps[] = {2};
	const float x[] = {1, 2, 3, 4}, ones[] = {1, 1, 1, 1}, twos[] = {2, 2, 2, 2}, halfs[] = {.5f, .5f, .5f, .5f};
	const float rx[] = {1, 2, 3, 4, 1, 2, 3, 4};
	int32_t pos[] = {0, 1};
	/* (x - 2.5) / sqrt(1.25) */
	static const float ln_b[] = {-0.841641f, 0.052786f, 0.947214f, 1.841641f};
	static const float ln_2[] = {-2.683282f, -0.894427f, 0.894427f, 2.683282f};
	/* Row 0 at position 0 stays; row 1 turns by 1 and by 0.01 radians. */
	static const float half[] = {1, 2, 3, 4, -1.984111f, 1.959901f, 2.462378f, 4.019800f};
	static const float adj[] = {1, 2, 3, 4, -1.142640f, 1.922076f, 2.959851f, 4.029800f};
	uint32_t a = in(2, s14), w1 = w(1, s4, ones), w2 = w(1, s4, twos), b = w(1, s4, halfs), o, q, p;
	float y[8];

	(void)state;
	assert_int_equal(strata_graph_layernorm(test_graph, a, w1, b, 1e-12f, &o), 0);
	run1(1, a, x, 4, o, y, 4);
	expect(y, ln_b, 4);
	assert_int_equal(strata_graph_layernorm(test_graph, a, w2, STRATA_GRAPH_NONE, 1e-12f, &o), 0);
	run1(1, a, x, 4, o, y, 4);
	expect(y, ln_2, 4);

	q = in(3, xs);
	assert_int_equal(strata_graph_input(test_graph, "pos", STRATA_DTYPE_I32, 1, ps, &p), 0);
	for (unsigned layout = 0; layout < 2; layout++) {
		struct strata_graph_tensor ins[] = {{q, (void *)(uintptr_t)rx, sizeof(rx)}, {p, pos, sizeof(pos)}};
		struct strata_graph_tensor out;

		assert_int_equal(strata_graph_rope(test_graph, q, p, 10000.0f, layout, &o), 0);
		out = (struct strata_graph_tensor){o, y, sizeof(y)};
		assert_int_equal(strata_graph_eval_reference(test_graph, 1, ins, 2, &out, 1), 0);
		expect(y, layout == STRATA_ROPE_HALF ? half : adj, 8);
	}
}

static void slice_concat_argmax(void **state)
{
	const int64_t s23[] = {2, 3}, s21[] = {2, 1};
	const float x[] = {1, 9, 3, 7, 2, 7}, col[] = {10, 20};
	static const float cols12[] = {9, 3, 2, 7}, row1[] = {7, 2, 7}, cat[] = {1, 9, 3, 10, 7, 2, 7, 20};
	uint32_t a = in(2, s23), c = w(2, s21, col), o;
	float y[8];
	int32_t idx[2];

	(void)state;
	assert_int_equal(strata_graph_slice(test_graph, a, 1, 1, 2, &o), 0);
	run1(1, a, x, 6, o, y, 4);
	expect(y, cols12, 4);
	assert_int_equal(strata_graph_slice(test_graph, a, 0, 1, 1, &o), 0);
	run1(1, a, x, 6, o, y, 3);
	expect(y, row1, 3);
	assert_int_equal(strata_graph_concat(test_graph, a, c, -1, &o), 0);
	run1(1, a, x, 6, o, y, 8);
	expect(y, cat, 8);
	assert_int_equal(strata_graph_argmax(test_graph, a, &o), 0);
	run1(1, a, x, 6, o, (float *)idx, 2);
	assert_int_equal(idx[0], 1);
	assert_int_equal(idx[1], 0); /* 7 twice: the first */
}

/* GGUF blocks built by hand, then read back through an add and through a
 * matmul that must equal one with the same values in f32. */
static void block_weights(void **state)
{
	const int64_t s132[] = {1, 32}, s232[] = {2, 32};
	uint8_t q8[34], q40[18], q41[20], q41x2[40];
	float zero[32] = {0}, want[32], y[32], dense[64], ones[32];
	uint32_t a = in(2, s132), o, wq, wd, m1, m2;
	unsigned j;

	(void)state;
	q8[0] = 0x00, q8[1] = 0x38;                                 /* d = 0.5 as f16, little-endian */
	q40[0] = 0x00, q40[1] = 0x34;                               /* d = 0.25 */
	q41[0] = 0x00, q41[1] = 0x38, q41[2] = 0x00, q41[3] = 0xbc; /* d = 0.5, m = -1 */
	for (j = 0; j < 32; j++)
		q8[2 + j] = (uint8_t)(int8_t)((int)j - 16);
	for (j = 0; j < 16; j++)
		q40[2 + j] = q41[4 + j] = (uint8_t)(j | ((15 - j) << 4));

	assert_int_equal(strata_graph_weight(test_graph, "q8", STRATA_DTYPE_Q8_0, 2, s132, q8, &wq), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_ADD, a, wq, &o), 0);
	for (j = 0; j < 32; j++)
		want[j] = ((float)j - 16) * 0.5f;
	run1(1, a, zero, 32, o, y, 32);
	expect(y, want, 32);

	assert_int_equal(strata_graph_weight(test_graph, "q40", STRATA_DTYPE_Q4_0, 2, s132, q40, &wq), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_ADD, a, wq, &o), 0);
	for (j = 0; j < 16; j++) {
		want[j] = ((float)j - 8) * 0.25f;
		want[j + 16] = ((float)(15 - j) - 8) * 0.25f;
	}
	run1(1, a, zero, 32, o, y, 32);
	expect(y, want, 32);

	assert_int_equal(strata_graph_weight(test_graph, "q41", STRATA_DTYPE_Q4_1, 2, s132, q41, &wq), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_ADD, a, wq, &o), 0);
	for (j = 0; j < 16; j++) {
		want[j] = (float)j * 0.5f - 1;
		want[j + 16] = (float)(15 - j) * 0.5f - 1;
	}
	run1(1, a, zero, 32, o, y, 32);
	expect(y, want, 32);

	/* Two Q4_1 rows as a linear layer's weight, against the same in f32. */
	memcpy(q41x2, q41, 20);
	memcpy(q41x2 + 20, q41, 20);
	q41x2[23] = 0x3c; /* the second row's m = +1 */
	for (j = 0; j < 32; j++) {
		dense[j] = want[j];
		dense[32 + j] = want[j] + 2;
		ones[j] = (float)j / 8;
	}
	assert_int_equal(strata_graph_weight(test_graph, "q41x2", STRATA_DTYPE_Q4_1, 2, s232, q41x2, &wq), 0);
	assert_int_equal(strata_graph_weight(test_graph, "dense", STRATA_DTYPE_F32, 2, s232, dense, &wd), 0);
	assert_int_equal(strata_graph_matmul(test_graph, a, wq, STRATA_MATMUL_TRANS_B, &m1), 0);
	assert_int_equal(strata_graph_matmul(test_graph, a, wd, STRATA_MATMUL_TRANS_B, &m2), 0);
	run1(1, a, ones, 32, m2, want, 2);
	run1(1, a, ones, 32, m1, y, 2);
	expect(y, want, 2);
}

/* Causal-free attention over a symbolic sequence, against direct loops:
 * softmax(q k^T / sqrt(d)) v for seq 1 and 5 with one graph. */
static void attention_over_seq(void **state)
{
	enum { D = 4 };
	const int64_t qs[] = {STRATA_DIM_SEQ, D}, one[] = {1};
	const float scale_v[] = {0.5f}; /* 1 / sqrt(4) */
	uint32_t q, k, v, s, sc, p, o, scale;
	float qd[5 * D], kd[5 * D], vd[5 * D], y[5 * D], want[5 * D];
	unsigned seq, i, j, c;

	(void)state;
	q = in(2, qs);
	k = in(2, qs);
	v = in(2, qs);
	scale = w(1, one, scale_v);
	assert_int_equal(strata_graph_matmul(test_graph, q, k, STRATA_MATMUL_TRANS_B, &s), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_MUL, s, scale, &sc), 0);
	assert_int_equal(strata_graph_softmax(test_graph, sc, &p), 0);
	assert_int_equal(strata_graph_matmul(test_graph, p, v, 0, &o), 0);
	for (i = 0; i < 5 * D; i++) {
		qd[i] = sinf((float)i);
		kd[i] = cosf((float)i * 0.7f);
		vd[i] = (float)i * 0.1f - 1.0f;
	}
	for (seq = 1; seq <= 5; seq += 4) {
		struct strata_graph_tensor ins[] = {{q, qd, seq * D * sizeof(float)},
		                                    {k, kd, seq * D * sizeof(float)},
		                                    {v, vd, seq * D * sizeof(float)}};
		struct strata_graph_tensor out = {o, y, seq * D * sizeof(float)};

		for (i = 0; i < seq; i++) {
			double w_[5], m = -INFINITY, tot = 0;

			for (j = 0; j < seq; j++) {
				w_[j] = 0;
				for (c = 0; c < D; c++)
					w_[j] += (double)qd[i * D + c] * kd[j * D + c];
				w_[j] *= 0.5;
				m = w_[j] > m ? w_[j] : m;
			}
			for (j = 0; j < seq; j++)
				tot += (w_[j] = exp(w_[j] - m));
			for (c = 0; c < D; c++) {
				double acc = 0;

				for (j = 0; j < seq; j++)
					acc += w_[j] / tot * vd[j * D + c];
				want[i * D + c] = (float)acc;
			}
		}
		assert_int_equal(strata_graph_eval_reference(test_graph, seq, ins, 3, &out, 1), 0);
		expect(y, want, seq * D);
	}
}

static void run_refusals(void **state)
{
	const int64_t qs[] = {STRATA_DIM_SEQ, 2};
	float x[18] = {0}, y[18];
	uint32_t a = in(2, qs), o;
	struct strata_graph_tensor i = {a, x, 2 * 2 * sizeof(float)}, out;

	(void)state;
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_NEG, a, &o), 0);
	out = (struct strata_graph_tensor){o, y, 2 * 2 * sizeof(float)};
	assert_int_equal(strata_graph_eval_reference(test_graph, 2, &i, 1, &out, 1), 0);
	assert_int_equal(strata_graph_eval_reference(test_graph, 0, &i, 1, &out, 1), -EINVAL);
	assert_non_null(strstr(strata_graph_error(test_graph), "seq is 0; this graph takes 1 to 8"));
	assert_int_equal(strata_graph_eval_reference(test_graph, 9, &i, 1, &out, 1), -EINVAL);
	assert_int_equal(strata_graph_eval_reference(test_graph, 3, &i, 1, &out, 1), -EINVAL); /* sized for seq 2 */
	assert_non_null(strstr(strata_graph_error(test_graph), "has 16 bytes; it needs 24"));
	assert_int_equal(strata_graph_eval_reference(test_graph, 2, NULL, 0, &out, 1), -EINVAL);
	assert_non_null(strstr(strata_graph_error(test_graph), "was not given"));
	out.node = 77;
	assert_int_equal(strata_graph_eval_reference(test_graph, 2, &i, 1, &out, 1), -EINVAL);
	assert_int_equal(strata_graph_eval_reference(NULL, 2, &i, 1, &out, 1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(elementwise_broadcast, graph_setup, graph_teardown),
	    cmocka_unit_test_setup_teardown(unary_ops, graph_setup, graph_teardown),
	    cmocka_unit_test_setup_teardown(reductions_and_rows, graph_setup, graph_teardown),
	    cmocka_unit_test_setup_teardown(matmul_forms, graph_setup, graph_teardown),
	    cmocka_unit_test_setup_teardown(views_and_embedding, graph_setup, graph_teardown),
	    cmocka_unit_test_setup_teardown(half_weights, graph_setup, graph_teardown),
	    cmocka_unit_test_setup_teardown(normalisation_and_rope, graph_setup, graph_teardown),
	    cmocka_unit_test_setup_teardown(slice_concat_argmax, graph_setup, graph_teardown),
	    cmocka_unit_test_setup_teardown(block_weights, graph_setup, graph_teardown),
	    cmocka_unit_test_setup_teardown(attention_over_seq, graph_setup, graph_teardown),
	    cmocka_unit_test_setup_teardown(run_refusals, graph_setup, graph_teardown),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, rt_setup, rt_teardown);
}
