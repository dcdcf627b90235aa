/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_graph_passes.c — common-subexpression and dead-code
 * elimination: what they merge and drop (and what they must not: inputs,
 * nodes that differ only in a parameter), and 300 random graphs with a
 * fixed seed whose outputs, run by the reference interpreter, are bit for
 * bit the same before and after both passes.
 */
#include <errno.h>
#include <string.h>

#include "helpers.h"
#include "core/graph/graph_int.h"

static void merges_what_is_equal(void **state)
{
	const int64_t s[] = {2, 4};
	const float wd[4] = {1, 2, 3, 4};
	const int64_t s4[] = {4};
	uint32_t x, y, w1, w2, a1, a2, e1, e2, m, r1, r2, map[16];
	struct strata_graph *h;

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "x", STRATA_DTYPE_F32, 2, s, &x), 0);
	assert_int_equal(strata_graph_input(test_graph, "y", STRATA_DTYPE_F32, 2, s, &y),
	                 0); /* same shape: stays apart */
	assert_int_equal(strata_graph_weight(test_graph, "w", STRATA_DTYPE_F32, 1, s4, wd, &w1), 0);
	assert_int_equal(strata_graph_weight(test_graph, "w again", STRATA_DTYPE_F32, 1, s4, wd, &w2),
	                 0); /* same data */
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_ADD, x, w1, &a1), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_ADD, x, w2, &a2), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_EXP, a1, &e1), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_EXP, a2, &e2), 0);
	assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_MUL, e1, e2, &m), 0);
	assert_int_equal(strata_graph_reduce(test_graph, STRATA_OP_SUM, m, 0, &r1), 0);
	assert_int_equal(strata_graph_reduce(test_graph, STRATA_OP_SUM, m, 1, &r2), 0); /* another axis: not the same */
	assert_int_equal(strata_graph_output(test_graph, r1), 0);
	assert_int_equal(strata_graph_output(test_graph, r2), 0);
	assert_int_equal(test_graph->n, 11);

	assert_int_equal(st_graph_cse(test_graph, &h, map), 0);
	assert_int_equal(h->n, 8); /* w2, a2 and e2 merged away */
	assert_int_equal(map[w2], map[w1]);
	assert_int_equal(map[a2], map[a1]);
	assert_int_equal(map[e2], map[e1]);
	assert_true(map[x] != map[y]);
	assert_true(map[r1] != map[r2]);
	assert_true(h->nodes[map[r1]].output && h->nodes[map[r2]].output);
	strata_graph_destroy(h);
}

static void drops_what_is_dead(void **state)
{
	const int64_t s[] = {3};
	uint32_t x, unused_in, dead1, dead2, live, map[8];
	struct strata_graph *h;

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "x", STRATA_DTYPE_F32, 1, s, &x), 0);
	assert_int_equal(strata_graph_input(test_graph, "unused", STRATA_DTYPE_F32, 1, s, &unused_in), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_TANH, x, &dead1), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_NEG, dead1, &dead2), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_SIGMOID, x, &live), 0);
	assert_int_equal(strata_graph_output(test_graph, live), 0);

	assert_int_equal(st_graph_dce(test_graph, &h, map), 0);
	assert_int_equal(h->n, 3); /* both inputs and the output */
	assert_int_equal(map[dead1], ST_GRAPH_GONE);
	assert_int_equal(map[dead2], ST_GRAPH_GONE);
	assert_true(map[unused_in] != ST_GRAPH_GONE);
	assert_int_equal(h->nodes[map[live]].src[0], map[x]);
	strata_graph_destroy(h);
}

/* --- random graphs ------------------------------------------------------ */

static uint64_t rng = 0x5eed;

static unsigned next(unsigned n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(rng >> 33) % n;
}

#define W 8
static float w88[W * W], w8[W];

/* A random graph over [seq, 8] values: element-wise ops (with broadcast
 * rows), bounded unary ops, matmuls, norms, softmax, reductions that come
 * back through a broadcast multiply, and repeats of earlier calls. */
static void random_graph(uint32_t *x, uint32_t *outs, unsigned *nouts)
{
	static const enum strata_op bin[] = {STRATA_OP_ADD, STRATA_OP_SUB, STRATA_OP_MUL, STRATA_OP_MAX};
	static const enum strata_op un[] = {STRATA_OP_TANH, STRATA_OP_SIGMOID, STRATA_OP_SILU, STRATA_OP_NEG};
	const int64_t xs[] = {STRATA_DIM_SEQ, W}, s88[] = {W, W}, s8[] = {W};
	uint32_t vals[64], n = 0, wm, wv, r;
	unsigned i, steps = 8 + next(24);

	assert_int_equal(strata_graph_input(test_graph, "x", STRATA_DTYPE_F32, 2, xs, x), 0);
	assert_int_equal(strata_graph_weight(test_graph, "w88", STRATA_DTYPE_F32, 2, s88, w88, &wm), 0);
	assert_int_equal(strata_graph_weight(test_graph, "w8", STRATA_DTYPE_F32, 1, s8, w8, &wv), 0);
	vals[n++] = *x;
	for (i = 0; i < steps; i++) {
		uint32_t a = vals[next(n)], b = vals[next(n)];

		switch (next(7)) {
		case 0:
			assert_int_equal(strata_graph_binary(test_graph, bin[next(4)], a, next(3) ? b : wv, &r), 0);
			break;
		case 1:
			assert_int_equal(strata_graph_unary(test_graph, un[next(4)], a, &r), 0);
			break;
		case 2:
			assert_int_equal(
			    strata_graph_matmul(test_graph, a, wm, next(2) ? STRATA_MATMUL_TRANS_B : 0, &r), 0);
			break;
		case 3:
			assert_int_equal(strata_graph_rmsnorm(test_graph, a, wv, 1e-5f, &r), 0);
			break;
		case 4:
			assert_int_equal(strata_graph_softmax(test_graph, a, &r), 0);
			break;
		case 5: {
			uint32_t s;

			assert_int_equal(strata_graph_reduce(test_graph, STRATA_OP_MEAN, a, -1, &s), 0);
			assert_int_equal(strata_graph_binary(test_graph, STRATA_OP_MUL, b, s, &r), 0);
			break;
		}
		default: /* the same call twice: something for CSE */
			assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_TANH, a, &r), 0);
			assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_TANH, a, &r), 0);
			break;
		}
		vals[n++] = r;
	}
	*nouts = 0;
	outs[(*nouts)++] = vals[n - 1];
	outs[(*nouts)++] = vals[1 + next(n - 1)];
	for (i = 0; i < *nouts; i++)
		assert_int_equal(strata_graph_output(test_graph, outs[i]), 0);
}

static void run(struct strata_graph *h, uint32_t x, const float *xd, uint32_t seq, uint32_t node, float *out)
{
	struct strata_graph_tensor in = {x, (void *)(uintptr_t)xd, seq * W * sizeof(float)};
	struct strata_graph_tensor o = {node, out, seq * W * sizeof(float)};

	if (strata_graph_eval_reference(h, seq, &in, 1, &o, 1))
		fail_msg("run: %s", strata_graph_error(h));
}

static void random_graphs_keep_their_values(void **state)
{
	float xd[5 * W], before[5 * W], after[5 * W];
	unsigned trial, i, merged = 0, dropped = 0;

	(void)state;
	for (i = 0; i < W * W; i++)
		w88[i] = (float)next(2000) / 1000.0f - 1.0f;
	for (i = 0; i < W; i++)
		w8[i] = (float)next(2000) / 1000.0f;
	for (i = 0; i < 5 * W; i++)
		xd[i] = (float)next(2000) / 1000.0f - 1.0f;
	for (trial = 0; trial < 300; trial++) {
		uint32_t x, outs[2], map1[128], map2[128];
		struct strata_graph *c, *d;
		unsigned nouts, k;
		uint32_t seq = 1 + next(5);

		assert_int_equal(strata_graph_create(test_rt, NULL, &test_graph), 0);
		random_graph(&x, outs, &nouts);
		assert_true(test_graph->n <= 128);
		assert_int_equal(st_graph_cse(test_graph, &c, map1), 0);
		assert_int_equal(st_graph_dce(c, &d, map2), 0);
		merged += test_graph->n - c->n;
		dropped += c->n - d->n;
		for (k = 0; k < nouts; k++) {
			unsigned nd;
			int64_t shape[STRATA_GRAPH_MAX_DIMS];
			uint32_t now = map2[map1[outs[k]]];

			assert_int_equal(strata_graph_shape(test_graph, outs[k], &nd, shape), 0);
			if (shape[nd - 1] != W)
				continue; /* a [seq, 1] result: the runner reads [seq, 8] */
			assert_true(now != ST_GRAPH_GONE);
			run(test_graph, x, xd, seq, outs[k], before);
			run(d, map2[map1[x]], xd, seq, now, after);
			if (memcmp(before, after, seq * W * sizeof(float)))
				fail_msg("trial %u: output %u changed after the passes", trial, outs[k]);
		}
		strata_graph_destroy(c);
		strata_graph_destroy(d);
		strata_graph_destroy(test_graph);
		test_graph = NULL;
	}
	print_message("300 random graphs: %u nodes merged, %u dropped, every output unchanged\n", merged, dropped);
	assert_true(merged > 0 && dropped > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(merges_what_is_equal, graph_setup, graph_teardown),
	    cmocka_unit_test_setup_teardown(drops_what_is_dead, graph_setup, graph_teardown),
	    cmocka_unit_test(random_graphs_keep_their_values),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, rt_setup, rt_teardown);
}
