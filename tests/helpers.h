/* SPDX-License-Identifier: MIT */
/*
 * tests/helpers.h — what every cmocka test shares: honest skips, an
 * allocator that fails on demand and counts what is live, a log catcher and
 * fixture paths.
 */
#ifndef STRATA_TESTS_HELPERS_H
#define STRATA_TESTS_HELPERS_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <strata/strata.h>

/* Skip the current test, saying why (tools/run-tests.sh collects the
 * "skipped: " lines). */
#define TEST_SKIP(...)                                                                                      \
	do {                                                                                                \
		printf("skipped: " __VA_ARGS__);                                                            \
		printf("\n");                                                                               \
		fflush(stdout);                                                                             \
		skip();                                                                                     \
	} while (0)

/* Run a group with its file name as the group name. */
#define RUN_TESTS(tests) cmocka_run_group_tests_name(__FILE__, tests, NULL, NULL)

/* Failing allocator: the allocation numbered fail_at (1-based) fails, all
 * others succeed; live counts allocations not yet freed. */
struct fail_alloc {
	long fail_at; /* 0: never fail */
	long calls;
	long live;
	long failures;
};

/* Install (or with NULL, remove) the failing allocator. */
void fail_alloc_install(struct fail_alloc *fa);

/* Log catcher: the last message at or above WARN and a count of them. */
struct log_catch {
	int count;
	enum strata_log_level last_level;
	char last[1024];
};

void log_catch_install(struct log_catch *lc);
void log_catch_remove(void);

/* A runtime for this machine without probe figures, for group setup and
 * teardown: cmocka_run_group_tests_name(..., rt_setup, rt_teardown). */
extern struct strata_rt *test_rt;
int rt_setup(void **state);
int rt_teardown(void **state);

/* An empty graph on test_rt (max_seq 8), per test:
 * cmocka_unit_test_setup_teardown(test, graph_setup, graph_teardown). */
extern struct strata_graph *test_graph;
int graph_setup(void **state);
int graph_teardown(void **state);

/* Random graphs on test_graph over values [seq, GRAPH_RANDOM_W]:
 * element-wise ops (with broadcast rows), bounded unary ops, matmuls with
 * a weight as is and transposed, norms, softmax, reductions that come back
 * through a broadcast multiply, and repeats of earlier calls.  *x is the
 * input; two nodes are marked as outputs.  The weights are made from the
 * seed by graph_random_seed(). */
#define GRAPH_RANDOM_W 8
void graph_random_seed(uint64_t seed);
unsigned graph_random_next(unsigned n);
void graph_random(uint32_t *x, uint32_t *outs, unsigned *nouts);

/* Compiled graphs against the reference interpreter.  graph_compare()
 * compiles test_graph, runs it and the reference at @seq and compares each
 * output within @tol: absolute plus relative (tol + tol·|ref|), or, with
 * @relative_to_max, tol times the output's largest value; i32 outputs must
 * be equal.  The program comes back in *@out when @out is not NULL.
 * graph_compare_f32() is that with 1e-4, for f32 paths.  Random numbers
 * come from one fixed seed (graph_frand(), graph_pick()). */
void graph_compare(uint32_t seq, const struct strata_graph_tensor *in, unsigned nin, const uint32_t *outs,
		   unsigned nouts, double tol, bool relative_to_max, struct strata_program **out);
void graph_compare_f32(uint32_t seq, const struct strata_graph_tensor *in, unsigned nin, const uint32_t *outs,
		       unsigned nouts);
/* The target graph_compare() compiles for (core/graph/target.h); NULL:
 * strata_graph_compile()'s own choice, or the reference target with
 * STRATA_TEST_TARGET=reference in the environment. */
struct st_target;
extern const struct st_target *graph_compare_target;
/* Bytes of test_graph's node @node at @seq (4-byte elements). */
size_t graph_bytes_of(uint32_t node, uint32_t seq);
/* Mark @n nodes as outputs of test_graph. */
void graph_mark(const uint32_t *outs, unsigned n);
float graph_frand(float lo, float hi);
unsigned graph_pick(unsigned n);
/* @n floats in [@lo, @hi) (free() them). */
float *graph_random_floats(size_t n, float lo, float hi);

/* Absolute path of a fixture under tests/ (static buffer). */
const char *fixture(const char *rel);

/* A fresh temporary folder (static buffer); removed by rm_rf(). */
const char *make_tmpdir(void);
void rm_rf(const char *path);

#endif /* STRATA_TESTS_HELPERS_H */
