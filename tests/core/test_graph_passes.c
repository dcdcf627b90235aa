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

static void run(struct strata_graph *h, uint32_t x, const float *xd, uint32_t seq, uint32_t node, float *out)
{
	struct strata_graph_tensor in = {x, (void *)(uintptr_t)xd, seq * GRAPH_RANDOM_W * sizeof(float)};
	struct strata_graph_tensor o = {node, out, seq * GRAPH_RANDOM_W * sizeof(float)};

	if (strata_graph_eval_reference(h, seq, &in, 1, &o, 1))
		fail_msg("run: %s", strata_graph_error(h));
}

static void random_graphs_keep_their_values(void **state)
{
	float xd[5 * GRAPH_RANDOM_W], before[5 * GRAPH_RANDOM_W], after[5 * GRAPH_RANDOM_W];
	unsigned trial, i, merged = 0, dropped = 0;

	(void)state;
	graph_random_seed(0x5eed);
	for (i = 0; i < 5 * GRAPH_RANDOM_W; i++)
		xd[i] = (float)graph_random_next(2000) / 1000.0f - 1.0f;
	for (trial = 0; trial < 300; trial++) {
		uint32_t x, outs[2], map1[128], map2[128];
		struct strata_graph *c, *d;
		unsigned nouts, k;
		uint32_t seq = 1 + graph_random_next(5);

		assert_int_equal(strata_graph_create(test_rt, NULL, &test_graph), 0);
		graph_random(&x, outs, &nouts);
		assert_true(test_graph->n <= 128);
		assert_int_equal(st_graph_cse(test_graph, &c, map1), 0);
		assert_int_equal(st_graph_dce(c, &d, map2), 0);
		merged += test_graph->n - c->n;
		dropped += c->n - d->n;
		for (k = 0; k < nouts; k++) {
			unsigned nd;
			int64_t shape[STRATA_MAX_DIMS];
			uint32_t now = map2[map1[outs[k]]];

			assert_int_equal(strata_graph_shape(test_graph, outs[k], &nd, shape), 0);
			if (shape[nd - 1] != GRAPH_RANDOM_W)
				continue; /* a [seq, 1] result: the runner reads [seq, 8] */
			assert_true(now != ST_GRAPH_GONE);
			run(test_graph, x, xd, seq, outs[k], before);
			run(d, map2[map1[x]], xd, seq, now, after);
			if (memcmp(before, after, seq * GRAPH_RANDOM_W * sizeof(float)))
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
