/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_graph_build.c — the graph builder: result shapes of each
 * op, the symbolic sequence dimension, and every refusal: -EINVAL with a
 * message naming the op and the shapes, the graph left as it was; failed
 * allocations leave nothing behind.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static uint32_t input(const char *name, unsigned ndim, const int64_t *shape)
{
	uint32_t id = 0;

	assert_int_equal(strata_graph_input(test_graph, name, STRATA_DTYPE_F32, ndim, shape, &id), 0);
	return id;
}

static const float zeros[1 << 12];

static uint32_t weight(unsigned ndim, const int64_t *shape)
{
	uint32_t id = 0;

	assert_int_equal(strata_graph_weight(test_graph, "w", STRATA_DTYPE_F32, ndim, shape, zeros, &id), 0);
	return id;
}

static void expect_shape(uint32_t id, unsigned ndim, int64_t d0, int64_t d1, int64_t d2)
{
	int64_t s[STRATA_MAX_DIMS];
	unsigned n;

	assert_int_equal(strata_graph_shape(test_graph, id, &n, s), 0);
	assert_int_equal(n, ndim);
	assert_true(s[0] == d0);
	if (ndim > 1)
		assert_true(s[1] == d1);
	if (ndim > 2)
		assert_true(s[2] == d2);
}

/* The call failed with -EINVAL, said @fragment, and added no node. */
static void expect_refusal(int err, const char *fragment, uint32_t nodes_before)
{
	uint32_t probe;
	int64_t one = 1;

	assert_int_equal(err, -EINVAL);
	if (!strstr(strata_graph_error(test_graph), fragment))
		fail_msg("error \"%s\" lacks \"%s\"", strata_graph_error(test_graph), fragment);
	assert_int_equal(strata_graph_input(test_graph, "probe", STRATA_DTYPE_F32, 1, &one, &probe), 0);
	assert_int_equal(probe, nodes_before);
	assert_string_equal(strata_graph_error(test_graph), "");
}

static void result_shapes(void **state)
{
	const int64_t xs[] = {STRATA_DIM_SEQ, 288}, ws[] = {768, 288}, bs[] = {288}, tab[] = {100, 288};
	const int64_t ids_s[] = {STRATA_DIM_SEQ}, heads[] = {STRATA_DIM_SEQ, 6, 48};
	const unsigned perm[] = {1, 0, 2};
	uint32_t x, w, b, t, ids, h, r;

	(void)state;
	x = input("x", 2, xs);
	w = weight(2, ws);
	b = weight(1, bs);
	t = weight(2, tab);
	assert_int_equal(strata_graph_input(test_graph, "ids", STRATA_DTYPE_I32, 1, ids_s, &ids), 0);

	assert_int_equal(strata_graph_matmul(test_graph, x, w, STRATA_MATMUL_TRANS_B, &r), 0);
	expect_shape(r, 2, STRATA_DIM_SEQ, 768, 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_ADD, x, b, &r), 0);
	expect_shape(r, 2, STRATA_DIM_SEQ, 288, 0);
	assert_int_equal(strata_graph_reduce(test_graph, STRATA_OP_MEAN, x, -1, &r), 0);
	expect_shape(r, 2, STRATA_DIM_SEQ, 1, 0);
	assert_int_equal(strata_graph_rmsnorm(test_graph, x, b, 1e-5f, &r), 0);
	expect_shape(r, 2, STRATA_DIM_SEQ, 288, 0);
	assert_int_equal(strata_graph_embedding(test_graph, t, ids, &r), 0);
	expect_shape(r, 2, STRATA_DIM_SEQ, 288, 0);
	assert_int_equal(strata_graph_reshape(test_graph, x, 3, heads, &h), 0);
	expect_shape(h, 3, STRATA_DIM_SEQ, 6, 48);
	assert_int_equal(strata_graph_permute(test_graph, h, perm, &r), 0);
	expect_shape(r, 3, 6, STRATA_DIM_SEQ, 48);
	/* Attention scores: [6, seq, 48] x [6, seq, 48]^T = [6, seq, seq]. */
	assert_int_equal(strata_graph_matmul(test_graph, r, r, STRATA_MATMUL_TRANS_B, &r), 0);
	expect_shape(r, 3, 6, STRATA_DIM_SEQ, STRATA_DIM_SEQ);
	assert_int_equal(strata_graph_softmax(test_graph, r, &r), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_SILU, r, &r), 0);
	expect_shape(r, 3, 6, STRATA_DIM_SEQ, STRATA_DIM_SEQ);
	assert_int_equal(strata_graph_output(test_graph, r), 0);
}

static void refusals(void **state)
{
	const int64_t xs[] = {STRATA_DIM_SEQ, 288}, ws[] = {768, 32000}, v3[] = {3}, v4[] = {4};
	const int64_t two_seq[] = {STRATA_DIM_SEQ, STRATA_DIM_SEQ}, bad[] = {0}, r5[] = {5, STRATA_DIM_SEQ};
	const unsigned rep[] = {0, 0};
	uint32_t x, w, a3, a4, ids, r, n;
	int64_t seq = STRATA_DIM_SEQ;

	(void)state;
	x = input("x", 2, xs);
	w = weight(2, ws);
	a3 = input("a3", 1, v3);
	a4 = input("a4", 1, v4);
	assert_int_equal(strata_graph_input(test_graph, "ids", STRATA_DTYPE_I32, 1, v3, &ids), 0);
	n = ids + 1;
	expect_refusal(strata_graph_matmul(test_graph, x, w, 0, &r), "matmul: a is [seq, 288] and b is [768, 32000]",
	               n++);
	expect_refusal(strata_graph_matmul(test_graph, x, w, 0, &r), "inner dimensions 288 and 768 differ", n++);
	expect_refusal(strata_graph_matmul(test_graph, x, w, 0x10, &r), "unknown flags", n++);
	expect_refusal(strata_graph_matmul(test_graph, a3, a3, 0, &r), "at least 2 dimensions", n++);
	expect_refusal(strata_graph_binary(test_graph, STRATA_OP_ADD, a3, a4, &r), "add: a is [3] and b is [4]", n++);
	expect_refusal(strata_graph_binary(test_graph, STRATA_OP_EXP, a3, a4, &r), "not a binary", n++);
	expect_refusal(strata_graph_binary(test_graph, STRATA_OP_MUL, x, 999, &r), "b is node 999", n++);
	expect_refusal(strata_graph_unary(test_graph, STRATA_OP_ADD, a3, &r), "not a unary", n++);
	expect_refusal(strata_graph_unary(test_graph, STRATA_OP_SOFTCAP, a3, &r), "softcap takes a number", n++);
	expect_refusal(strata_graph_unary_value(test_graph, STRATA_OP_EXP, a3, 2.0f, &r), "exp (20) is not", n++);
	expect_refusal(strata_graph_unary_value(test_graph, STRATA_OP_SOFTCAP, a3, 0.0f, &r), "softcap: its number is 0",
	               n++);
	expect_refusal(strata_graph_unary_value(test_graph, STRATA_OP_SOFTCAP, a3, NAN, &r), "finite and not 0", n++);
	expect_refusal(strata_graph_unary_value(test_graph, STRATA_OP_SOFTCAP, 999, 30.0f, &r), "a is node 999", n++);
	expect_refusal(strata_graph_unary(test_graph, (enum strata_op)99, a3, &r), "unknown op (99)", n++);
	expect_refusal(strata_graph_reduce(test_graph, STRATA_OP_SUM, x, 2, &r),
	               "sum: axis 2 of a, which is [seq, 288]", n++);
	expect_refusal(strata_graph_reduce(test_graph, STRATA_OP_SOFTMAX, x, 0, &r), "not a reduction", n++);
	expect_refusal(strata_graph_rmsnorm(test_graph, x, a3, 1e-5f, &r), "rmsnorm: x is [seq, 288] and weight is [3]",
	               n++);
	expect_refusal(strata_graph_rmsnorm(test_graph, a3, a3, 0.0f, &r), "eps is 0", n++);
	expect_refusal(strata_graph_reshape(test_graph, x, 2, r5, &r),
	               "reshape: a is [seq, 288], which cannot be viewed as [5, seq]", n++);
	expect_refusal(strata_graph_reshape(test_graph, a3, 1, &seq, &r), "cannot be viewed as [seq]", n++);
	expect_refusal(strata_graph_permute(test_graph, x, rep, &r), "repeats", n++);
	expect_refusal(strata_graph_embedding(test_graph, w, a3, &r), "not i32", n++);
	expect_refusal(strata_graph_embedding(test_graph, a3, ids, &r), "table is [3]", n++);
	expect_refusal(strata_graph_input(test_graph, "x2", STRATA_DTYPE_F32, 2, two_seq, &r), "seq a second time",
	               n++);
	expect_refusal(strata_graph_input(test_graph, "x3", STRATA_DTYPE_F32, 1, bad, &r), "dimension 0 is 0", n++);
	expect_refusal(strata_graph_input(test_graph, "x4", STRATA_DTYPE_F32, 5, xs, &r), "1 to 4 dimensions", n++);
	expect_refusal(strata_graph_input(test_graph, "h", STRATA_DTYPE_F16, 1, v3, &r), "inputs are f32", n++);
	expect_refusal(strata_graph_weight(test_graph, "w2", STRATA_DTYPE_F32, 1, &seq, zeros, &r), "seq not allowed",
	               n++);
	expect_refusal(strata_graph_weight(test_graph, "w3", STRATA_DTYPE_F32, 1, v3, NULL, &r), "has no data", n++);
	expect_refusal(strata_graph_weight(test_graph, "w4", STRATA_DTYPE_I8, 1, v3, zeros, &r), "I8", n++);
	{
		const int64_t heads[] = {STRATA_DIM_SEQ, 2, 3}, even_s[] = {STRATA_DIM_SEQ, 2, 4};
		const int64_t s31[] = {3, 32}, s330[] = {3, 30};
		uint32_t odd, even, pos_f = a3;

		odd = input("odd", 3, heads);
		even = input("even", 3, even_s);
		n += 2;
		expect_refusal(strata_graph_rope(test_graph, x, ids, 1e4f, 0, &r),
		               "rope: x is [seq, 288]; it must be [seq, heads, head_dim]", n++);
		expect_refusal(strata_graph_rope(test_graph, odd, ids, 1e4f, 0, &r), "an even head_dim", n++);
		expect_refusal(strata_graph_rope(test_graph, even, pos_f, 1e4f, 0, &r), "pos must be i32", n++);
		{
			const int64_t seq1[] = {STRATA_DIM_SEQ};
			uint32_t pos;

			assert_int_equal(strata_graph_input(test_graph, "pos", STRATA_DTYPE_I32, 1, seq1, &pos), 0);
			n++;
			expect_refusal(strata_graph_rope(test_graph, even, pos, 1.0f, 0, &r), "theta is 1", n++);
			expect_refusal(strata_graph_rope(test_graph, even, pos, 1e4f, 7, &r), "unknown layout 7", n++);
			assert_int_equal(strata_graph_rope(test_graph, even, pos, 1e4f, STRATA_ROPE_ADJACENT, &r), 0);
			n++;
		}
		expect_refusal(strata_graph_layernorm(test_graph, x, a3, STRATA_GRAPH_NONE, 1e-5f, &r),
		               "layernorm: x is [seq, 288] and weight is [3]", n++);
		expect_refusal(strata_graph_layernorm(test_graph, a3, a3, a4, 1e-5f, &r), "bias is [4]", n++);
		expect_refusal(strata_graph_slice(test_graph, x, 0, 0, 1, &r), "axis 0 is the symbolic one", n++);
		expect_refusal(strata_graph_slice(test_graph, x, 1, 280, 9, &r), "9 entries from 280 do not fit", n++);
		expect_refusal(strata_graph_concat(test_graph, x, a3, 0, &r), "dimension counts differ", n++);
		expect_refusal(strata_graph_concat(test_graph, x, x, 0, &r), "axis 0 is the symbolic one", n++);
		expect_refusal(strata_graph_argmax(test_graph, ids, &r), "not floating point", n++);
		assert_int_equal(strata_graph_weight(test_graph, "q", STRATA_DTYPE_Q4_0, 2, s31, zeros, &r), 0);
		n++;
		expect_refusal(strata_graph_weight(test_graph, "q", STRATA_DTYPE_Q4_0, 2, s330, zeros, &r),
		               "whole blocks of 32", n++);
	}
	assert_int_equal(strata_graph_output(test_graph, 12345), -EINVAL);
	assert_int_equal(strata_graph_matmul(NULL, x, w, 0, &r), -EINVAL);
	assert_int_equal(strata_graph_matmul(test_graph, x, w, 0, NULL), -EINVAL);
}

static void create_errors(void **state)
{
	/* A newer caller's options with a field this library does not know. */
	struct {
		struct strata_graph_opts o;
		uint64_t unknown;
	} newer = {{.sz = sizeof(newer)}, 1};
	struct strata_graph *h = (struct strata_graph *)0x1;

	(void)state;
	assert_int_equal(strata_graph_create(NULL, NULL, &h), -EINVAL);
	assert_int_equal(strata_graph_create(test_rt, &newer.o, &h), -EINVAL);
	assert_ptr_equal(h, (struct strata_graph *)0x1);
	strata_graph_destroy(NULL);
	assert_string_equal(strata_graph_error(NULL), "no graph");
}

/* Fail each allocation of the graph in turn while building 200 nodes:
 * every failure is -ENOMEM, and destroy leaves nothing allocated.  The
 * hooks go in before a runtime of this test's own (they cannot change
 * while one lives); failures are counted from after its creation. */
static void allocation_failures(void **state)
{
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF);
	const int64_t s[] = {4};
	struct fail_alloc fa = {0};
	struct strata_rt *rt;
	long at;

	(void)state;
	setenv("STRATA_TELEMETRY", "off", 1);
	fail_alloc_install(&fa);
	assert_int_equal(strata_rt_create(&ropts, &rt), 0);
	for (at = 1; at < 8; at++) {
		struct strata_graph *h = NULL;
		long live = fa.live;
		uint32_t id, i;
		int err;

		fa.fail_at = fa.calls + at;
		err = strata_graph_create(rt, NULL, &h);
		for (i = 0; !err && i < 200; i++)
			err = strata_graph_input(h, "x", STRATA_DTYPE_F32, 1, s, &id);
		if (err)
			assert_int_equal(err, -ENOMEM);
		strata_graph_destroy(h);
		fa.fail_at = 0;
		assert_int_equal(fa.live, live);
	}
	strata_rt_destroy(rt);
	fail_alloc_install(NULL);
	unsetenv("STRATA_TELEMETRY");
	assert_int_equal(fa.live, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(result_shapes, graph_setup, graph_teardown),
	    cmocka_unit_test_setup_teardown(refusals, graph_setup, graph_teardown),
	    cmocka_unit_test(create_errors),
	};
	const struct CMUnitTest alone[] = {
	    cmocka_unit_test(allocation_failures),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, rt_setup, rt_teardown) +
	       cmocka_run_group_tests_name("allocation", alone, NULL, NULL);
}
