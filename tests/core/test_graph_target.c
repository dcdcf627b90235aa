/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_graph_target.c — the target interface (core/graph/
 * target.h): a second target, the reference interpreter run per kernel,
 * drops in beside the CPU's without the op table or the passes knowing;
 * the kernel cache key names the target; a target that cannot run here
 * leaves the whole graph to the interpreter; one whose build fails fails
 * the compile with its reason.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/graph/compile_int.h"
#include "core/graph/target.h"
#include "helpers.h"

/* Random graphs and every op's kind of kernel, per kernel on the
 * reference target, against the interpreter on the whole graph. */
static void reference_target_runs_random_graphs(void **state)
{
	(void)state;
	graph_compare_target = &st_target_reference;
	graph_random_seed(16);
	for (unsigned trial = 0; trial < 25; trial++) {
		uint32_t x, outs[8];
		unsigned nouts;
		float *xd;
		struct strata_program *p;

		assert_int_equal(graph_setup(NULL), 0);
		graph_random(&x, outs, &nouts);
		xd = graph_random_floats(5 * GRAPH_RANDOM_W, -1, 1);
		struct strata_graph_tensor in = { x, xd, 5 * GRAPH_RANDOM_W * 4 };
		graph_compare(5, &in, 1, outs, nouts, 1e-6, false, &p);
		assert_ptr_equal(p->target, &st_target_reference);
		assert_true(p->f.nk > 0 && p->info.threads >= 1 && p->sched); /* the runtime's scheduler ran it */
		strata_program_destroy(p);
		free(xd);
		assert_int_equal(graph_teardown(NULL), 0);
	}
	graph_compare_target = NULL;
}

/* A cache layer (state, write_rows, rope, attention) on both targets, a
 * prompt then tokens: the same results, and the states kept between runs. */
static const char kv_layer[] = "max_seq 8\n"
			       "%x = input \"x\" f32 [seq, 8]\n"
			       "%pos = input \"pos\" i32 [seq]\n"
			       "%wq = weight \"wq\" f32 [8, 8]\n%wk = weight \"wk\" f32 [8, 8]\n"
			       "%kc = state \"k\" f32 [16, 2, 4]\n%vc = state \"v\" f32 [16, 2, 4]\n"
			       "%q = matmul %x %wq trans_b\n%k = matmul %x %wk trans_b\n"
			       "%qh = reshape %q [seq, 2, 4]\n%kh = reshape %k [seq, 2, 4]\n"
			       "%qr = rope %qh %pos theta=10000\n%kr = rope %kh %pos theta=10000\n"
			       "%kw = write_rows %kc %kr %pos\n%vw = write_rows %vc %kh %pos\n"
			       "%a = attention %qr %kw %vw %pos scale=0.5\n"
			       "%o = reshape %a [seq, 8]\n%y = softcap %o 2\n"
			       "output %y\n";

static void run_steps(const struct st_target *target, float *y)
{
	struct strata_graph *g;
	struct strata_program *p;
	char err[256];
	float x[8 * 8];
	int32_t pos[8];
	const uint32_t lens[] = { 3, 1, 1 };
	uint32_t first = 0;

	if (strata_graph_parse(test_rt, kv_layer, &g, err, sizeof(err)))
		fail_msg("parse: %s", err);
	assert_int_equal(st_graph_compile_on(g, NULL, target, &p), 0);
	for (unsigned i = 0; i < 8 * 8; i++)
		x[i] = sinf((float)i * 0.7f);
	for (unsigned s = 0; s < 3; s++) {
		struct strata_graph_tensor in[2] = { { 0, x + first * 8, lens[s] * 32 }, { 1, pos, lens[s] * 4 } };
		struct strata_graph_tensor out = { strata_graph_nodes(g) - 1, y + first * 8, lens[s] * 32 };

		for (uint32_t i = 0; i < lens[s]; i++)
			pos[i] = (int32_t)(first + i);
		if (strata_program_run(p, lens[s], in, 2, &out, 1))
			fail_msg("run on %s: %s", target->name, strata_program_error(p));
		first += lens[s];
	}
	/* A position past the cache is refused as the CPU's kernels refuse it. */
	{
		struct strata_graph_tensor in[2] = { { 0, x, 32 }, { 1, pos, 4 } }, out = { strata_graph_nodes(g) - 1, y, 32 };
		float keep[8];

		memcpy(keep, y, sizeof(keep));
		pos[0] = 99;
		assert_int_equal(strata_program_run(p, 1, in, 2, &out, 1), -EINVAL);
		assert_non_null(strstr(strata_program_error(p), "outside its cache"));
		memcpy(y, keep, sizeof(keep));
	}
	strata_program_destroy(p);
	strata_graph_destroy(g);
}

static void both_targets_keep_states_alike(void **state)
{
	float cpu[5 * 8], ref[5 * 8];

	(void)state;
	run_steps(&st_target_cpu, cpu);
	run_steps(&st_target_reference, ref);
	for (unsigned i = 0; i < 5 * 8; i++)
		if (!(fabsf(cpu[i] - ref[i]) <= 1e-5f + 1e-5f * fabsf(ref[i])))
			fail_msg("element %u: cpu %.9g, reference %.9g", i, (double)cpu[i], (double)ref[i]);
}

/* Identical kernels on two targets never share a cache entry. */
static void cache_key_names_the_target(void **state)
{
	const int64_t s[] = { STRATA_DIM_SEQ, 16 };
	struct strata_program *cpu, *ref;
	uint32_t x, y;

	(void)state;
	assert_int_equal(strata_graph_input(test_graph, "x", STRATA_DTYPE_F32, 2, s, &x), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_SILU, x, &y), 0);
	assert_int_equal(strata_graph_output(test_graph, y), 0);
	assert_int_equal(st_graph_compile_on(test_graph, NULL, &st_target_cpu, &cpu), 0);
	assert_int_equal(st_graph_compile_on(test_graph, NULL, &st_target_reference, &ref), 0);
	assert_int_equal(cpu->f.nk, 1);
	assert_int_equal(ref->f.nk, 1);
	assert_true(cpu->target_id != 0 && ref->target_id != 0 && cpu->target_id != ref->target_id);
	assert_true(cpu->f.k[0].hash != ref->f.k[0].hash);
	assert_int_equal(cpu->info.backend, STRATA_BACKEND_C);
	strata_program_destroy(cpu);
	strata_program_destroy(ref);
}

/* Targets of the test's own: one that is not there, one whose build fails. */
static int absent_open(struct strata_program *p, const struct strata_compile_opts *opts, char *why, size_t len)
{
	(void)p, (void)opts;
	snprintf(why, len, "the test target is not on this machine");
	return -ENOENT;
}

static int failing_build(struct strata_program *p, const struct strata_compile_opts *opts)
{
	(void)opts;
	return st_program_fail(p, -ENOEXEC, "the test target's build fails on purpose");
}

static int closes;

static void counting_close(struct strata_program *p)
{
	closes++;
	st_target_reference.close(p);
}

static void targets_that_cannot_run(void **state)
{
	struct st_target absent = st_target_reference, broken = st_target_reference;
	const int64_t s[] = { 4 };
	float xd[4] = { 1, 2, 3, 4 };
	float yd[4];
	struct strata_program *p;
	uint32_t x, y;

	(void)state;
	absent.open = absent_open;
	absent.close = counting_close;
	broken.build = failing_build;
	broken.close = counting_close;
	assert_int_equal(strata_graph_input(test_graph, "x", STRATA_DTYPE_F32, 1, s, &x), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_NEG, x, &y), 0);
	assert_int_equal(strata_graph_output(test_graph, y), 0);

	/* Not here: the interpreter runs the whole graph, and says why. */
	assert_int_equal(st_graph_compile_on(test_graph, NULL, &absent, &p), 0);
	assert_null(p->target);
	assert_int_equal(p->info.backend, STRATA_BACKEND_INTERPRETER);
	assert_string_equal(p->info.reason, "the test target is not on this machine");
	{
		struct strata_graph_tensor in = { x, xd, 16 }, out = { y, yd, 16 };

		assert_int_equal(strata_program_run(p, 1, &in, 1, &out, 1), 0);
		assert_true(yd[3] == -4.0f);
	}
	strata_program_destroy(p);
	assert_int_equal(closes, 1);

	/* A build that fails fails the compile, with the target's reason. */
	p = NULL;
	assert_int_equal(st_graph_compile_on(test_graph, NULL, &broken, &p), -ENOEXEC);
	assert_null(p);
	assert_non_null(strstr(strata_graph_error(test_graph), "fails on purpose"));
	assert_int_equal(closes, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reference_target_runs_random_graphs),
		cmocka_unit_test_setup_teardown(both_targets_keep_states_alike, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(cache_key_names_the_target, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(targets_that_cannot_run, graph_setup, graph_teardown),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, rt_setup, rt_teardown);
}
