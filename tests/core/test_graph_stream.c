/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_graph_stream.c — weights streamed from a model file by a
 * real load while the program already runs: a kernel that needs a weight
 * still on its way waits for it (a completion hook holds one tensor back),
 * kernels that do not, run; the results equal a run over the same bytes
 * held in memory.  And what is refused: no load bound, a streamed weight
 * that would need widening.  And without a CPU to spare for the loader,
 * a run waits for its weights first.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "io/load_int.h"
#include "io/model_files.h"

#define K 32
#define N1 24
#define N2 16

static char dir[256], path[300];
static float norm[K], w1[N1 * K];
static uint16_t w2[N2 * N1];
static uint64_t w2_offset; /* where w2's bytes start in the file */
static struct strata_pool *pool;

static uint16_t to_half(float f)
{
	uint32_t b, e;

	memcpy(&b, &f, 4);
	e = (b >> 23) & 0xff;
	return (uint16_t)(((b >> 16) & 0x8000) | ((e - 112) << 10) | ((b >> 13) & 0x3ff));
}

/* norm F32 [32], w1 F32 [24, 32], w2 F16 [16, 24], in that order. */
static void write_model(void)
{
	char json[512];
	struct bytes b = { 0 };
	size_t n, padded;
	unsigned i;

	for (i = 0; i < K; i++)
		norm[i] = 1.0f + 0.01f * (float)i;
	for (i = 0; i < N1 * K; i++)
		w1[i] = sinf((float)i * 0.37f) * 0.4f;
	for (i = 0; i < N2 * N1; i++)
		w2[i] = to_half(0.5f + 0.25f * cosf((float)i));
	n = (size_t)snprintf(json, sizeof(json),
			     "{\"norm\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[0,%zu]},"
			     "\"w1\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]},"
			     "\"w2\":{\"dtype\":\"F16\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}}",
			     K, sizeof(norm), N1, K, sizeof(norm), sizeof(norm) + sizeof(w1), N2, N1,
			     sizeof(norm) + sizeof(w1), sizeof(norm) + sizeof(w1) + sizeof(w2));
	padded = (n + 7) / 8 * 8;
	put_u64(&b, padded);
	put(&b, json, n);
	put_fill(&b, ' ', padded - n);
	w2_offset = b.len + sizeof(norm) + sizeof(w1);
	put(&b, norm, sizeof(norm));
	put(&b, w1, sizeof(w1));
	put(&b, w2, sizeof(w2));
	write_file(path, b.p, b.len);
	free(b.p);
}

/* Reads that end past w2's start complete 200 ms late. */
static int hold_back_w2(uint32_t file, uint64_t off, uint32_t len, bool direct, int res)
{
	(void)file, (void)direct;
	if (off + len > w2_offset)
		usleep(200000);
	return res;
}

static int setup(void **state)
{
	STRATA_POOL_OPTS(popts, .flags = STRATA_POOL_NO_SMALL);

	(void)state;
	scratch_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/m.safetensors", dir);
	write_model();
	return rt_setup(state) || strata_pool_create(test_rt, &popts, &pool);
}

static int teardown(void **state)
{
	strata_pool_destroy(pool);
	return rt_teardown(state);
}

struct net {
	uint32_t x, y, side;
};

/* rmsnorm -> x·w1ᵀ -> silu -> ·w2ᵀ, and tanh(x), which needs no weight.
 * Weights streamed from @m, or (m NULL) held in memory. */
static void build(struct strata_model *m, struct net *n)
{
	const int64_t xs[] = { STRATA_DIM_SEQ, K }, ks[] = { K }, w1s[] = { N1, K }, w2s[] = { N2, N1 };
	uint32_t wn, a, b, c, t;
	size_t i1, i2, i3;

	assert_int_equal(strata_graph_input(test_graph, "x", STRATA_DTYPE_F32, 2, xs, &n->x), 0);
	if (m) {
		assert_int_equal(strata_model_find(m, "norm", &i1), 0);
		assert_int_equal(strata_model_find(m, "w1", &i2), 0);
		assert_int_equal(strata_model_find(m, "w2", &i3), 0);
		assert_int_equal(strata_graph_weight_streamed(test_graph, m, i1, &wn), 0);
		assert_int_equal(strata_graph_weight_streamed(test_graph, m, i2, &a), 0);
		assert_int_equal(strata_graph_weight_streamed(test_graph, m, i3, &b), 0);
	} else {
		assert_int_equal(strata_graph_weight(test_graph, "norm", STRATA_DTYPE_F32, 1, ks, norm, &wn), 0);
		assert_int_equal(strata_graph_weight(test_graph, "w1", STRATA_DTYPE_F32, 2, w1s, w1, &a), 0);
		assert_int_equal(strata_graph_weight(test_graph, "w2", STRATA_DTYPE_F16, 2, w2s, w2, &b), 0);
	}
	assert_int_equal(strata_graph_rmsnorm(test_graph, n->x, wn, 1e-5f, &c), 0);
	assert_int_equal(strata_graph_matmul(test_graph, c, a, STRATA_MATMUL_TRANS_B, &t), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_SILU, t, &t), 0);
	assert_int_equal(strata_graph_matmul(test_graph, t, b, STRATA_MATMUL_TRANS_B, &n->y), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_TANH, n->x, &n->side), 0);
	assert_int_equal(strata_graph_output(test_graph, n->y), 0);
	assert_int_equal(strata_graph_output(test_graph, n->side), 0);
}

/* The held-in-memory graph's y for the same input. */
static void reference_y(const float *xd, uint32_t seq, float *y)
{
	struct strata_graph *keep = test_graph;
	struct net n;

	assert_int_equal(graph_setup(NULL), 0);
	build(NULL, &n);
	struct strata_graph_tensor in = { n.x, (void *)(uintptr_t)xd, seq * K * 4 }, o = { n.y, y, seq * N2 * 4 };
	assert_int_equal(strata_graph_eval_reference(test_graph, seq, &in, 1, &o, 1), 0);
	graph_teardown(NULL);
	test_graph = keep;
}

static struct strata_model *open_model(void)
{
	const char *paths[] = { path };
	struct strata_model *m;

	assert_int_equal(strata_model_open(paths, 1, NULL, &m), 0);
	return m;
}

static void runs_while_weights_stream_in(void **state)
{
	STRATA_LOAD_OPTS(lopts, .pool = pool, .engine = STRATA_IO_PREAD, .direct = STRATA_DIRECT_OFF);
	struct strata_model *m = open_model();
	struct strata_program_info info = { .sz = sizeof(info) };
	struct strata_program *p;
	struct strata_load *l;
	struct net n;
	float xd[3 * K], y[3 * N2], want[3 * N2], side[3 * K];
	unsigned i;

	(void)state;
	for (i = 0; i < 3 * K; i++)
		xd[i] = cosf((float)i * 0.21f);
	build(m, &n);
	/* Overlapped whatever the cores (this machine may have too few). */
	STRATA_COMPILE_OPTS(copts, .flags = STRATA_COMPILE_STREAM_OVERLAP);
	if (strata_graph_compile(test_graph, &copts, &p))
		fail_msg("compile: %s", strata_graph_error(test_graph));
	st_io_complete_hook = hold_back_w2;
	assert_int_equal(strata_load_start(m, &lopts, &l), 0);
	assert_int_equal(strata_graph_bind_load(test_graph, l), 0);
	struct strata_graph_tensor in = { n.x, xd, sizeof(xd) }, o[2] = { { n.y, y, sizeof(y) }, { n.side, side, sizeof(side) } };
	if (strata_program_run(p, 3, &in, 1, o, 2))
		fail_msg("run: %s", strata_program_error(p));
	st_io_complete_hook = NULL;
	assert_int_equal(strata_program_info(p, &info), 0);
	print_message("the run waited for %llu streamed weights\n", (unsigned long long)info.stream_waits);
	assert_true(info.stream_waits >= 1); /* w2 was 200 ms late */
	reference_y(xd, 3, want);
	for (i = 0; i < 3 * N2; i++)
		if (!(fabsf(y[i] - want[i]) <= 1e-4f + 1e-4f * fabsf(want[i])))
			fail_msg("y[%u] = %g, from memory %g", i, (double)y[i], (double)want[i]);
	for (i = 0; i < 3 * K; i++)
		assert_true(fabsf(side[i] - tanhf(xd[i])) < 1e-5f);
	/* A second run finds everything loaded: no waiting. */
	assert_int_equal(strata_program_run(p, 3, &in, 1, o, 2), 0);
	assert_int_equal(strata_program_info(p, &info), 0);
	assert_true(info.stream_waits >= 1);
	/* The reference interpreter reads streamed weights from the load too. */
	struct strata_graph_tensor ro = { n.y, y, sizeof(y) };
	assert_int_equal(strata_graph_eval_reference(test_graph, 3, &in, 1, &ro, 1), 0);
	for (i = 0; i < 3 * N2; i++)
		assert_true(fabsf(y[i] - want[i]) <= 1e-5f + 1e-5f * fabsf(want[i]));
	strata_program_destroy(p);
	strata_load_destroy(l);
	strata_model_close(m);
}

/* A streamed run in a fresh graph: the model opened and built, compiled
 * with @copts, its load started under @hook (reads completing through
 * it) and bound; then one run of @seq rows of @xd.  Return: the run's. */
struct streamed {
	struct strata_model *m;
	struct strata_program *p;
	struct strata_load *l;
	struct net n;
};

static int run_streamed(struct streamed *r, const struct strata_compile_opts *copts,
			int (*hook)(uint32_t, uint64_t, uint32_t, bool, int), const float *xd, uint32_t seq, float *y,
			float *side)
{
	STRATA_LOAD_OPTS(lopts, .pool = pool, .engine = STRATA_IO_PREAD, .direct = STRATA_DIRECT_OFF);
	int err;

	graph_teardown(NULL);
	assert_int_equal(graph_setup(NULL), 0);
	r->m = open_model();
	build(r->m, &r->n);
	assert_int_equal(strata_graph_compile(test_graph, copts, &r->p), 0);
	st_io_complete_hook = hook;
	assert_int_equal(strata_load_start(r->m, &lopts, &r->l), 0);
	assert_int_equal(strata_graph_bind_load(test_graph, r->l), 0);
	struct strata_graph_tensor in = { r->n.x, (void *)(uintptr_t)xd, seq * K * 4 },
				   o[2] = { { r->n.y, y, seq * N2 * 4 }, { r->n.side, side, seq * K * 4 } };
	err = strata_program_run(r->p, seq, &in, 1, o, 2);
	st_io_complete_hook = NULL;
	return err;
}

static void end_streamed(struct streamed *r)
{
	strata_program_destroy(r->p);
	strata_load_destroy(r->l);
	strata_model_close(r->m);
}

/*
 * Without a CPU to spare for the loader (as many threads as the process
 * may use), a run waits for its weights before computing and counts it;
 * with one to spare, it overlaps.  Both give the held-in-memory result.
 */
static void loads_first_without_a_spare_cpu(void **state)
{
	cpu_set_t set;
	unsigned cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? (unsigned)CPU_COUNT(&set) : 1;
	float xd[2 * K], y[2 * N2], want[2 * N2], side[2 * K];

	(void)state;
	for (unsigned i = 0; i < 2 * K; i++)
		xd[i] = sinf((float)i * 0.37f);
	reference_y(xd, 2, want);
	for (unsigned spare = 0; spare < 2; spare++) {
		STRATA_COMPILE_OPTS(copts, .threads = spare ? cpus - 1 : cpus);
		struct strata_program_info info = { .sz = sizeof(info) };
		struct streamed r;

		if (spare && cpus < 2) {
			print_message("the overlapped half not run: one CPU has none to spare (run this on two or more)\n");
			break;
		}
		if (run_streamed(&r, &copts, hold_back_w2, xd, 2, y, side))
			fail_msg("run: %s", strata_program_error(r.p));
		assert_int_equal(strata_program_info(r.p, &info), 0);
		print_message("%u threads on %u CPUs: loaded first %llu, waits %llu\n", info.threads, cpus,
			      (unsigned long long)info.stream_loaded_first, (unsigned long long)info.stream_waits);
		assert_int_equal(info.stream_loaded_first, spare ? 0 : 1);
		if (spare)
			assert_true(info.stream_waits >= 1);
		else
			assert_int_equal(info.stream_waits, 0);
		for (unsigned i = 0; i < 2 * N2; i++)
			if (!(fabsf(y[i] - want[i]) <= 1e-4f + 1e-4f * fabsf(want[i])))
				fail_msg("y[%u] = %g, from memory %g", i, (double)y[i], (double)want[i]);
		end_streamed(&r);
	}
}

/* Reads of w2 fail as a dying disk's would. */
static int fail_w2(uint32_t file, uint64_t off, uint32_t len, bool direct, int res)
{
	(void)file, (void)direct;
	return off + len > w2_offset ? -EIO : res;
}

/*
 * A weight that cannot load fails the run with the error and a weight's
 * name, whether the run computes while loading or loads first, and the
 * program stays usable for its error message.
 */
static void a_weight_that_fails_to_load(void **state)
{
	float xd[K] = { 0 }, y[N2], side[K];

	(void)state;
	for (unsigned overlap = 0; overlap < 2; overlap++) {
		STRATA_COMPILE_OPTS(copts, .flags = overlap ? STRATA_COMPILE_STREAM_OVERLAP : 0);
		struct streamed r;
		int err = run_streamed(&r, &copts, fail_w2, xd, 1, y, side);

		print_message("%s: %d, %s\n", overlap ? "overlapped" : "as the runtime chose", err,
			      strata_program_error(r.p));
		/* (the load stops at its first failure: a weight read beside w2
		 * may be the one named) */
		assert_int_equal(err, -EIO);
		assert_non_null(strstr(strata_program_error(r.p), "did not load"));
		end_streamed(&r);
	}
}

static void refusals(void **state)
{
	struct strata_model *m = open_model();
	struct strata_program *p;
	struct net n;
	float xd[K] = { 0 }, y[N2], side[K];
	uint32_t w2n, bad;
	size_t i3;

	(void)state;
	build(m, &n);
	assert_int_equal(strata_graph_compile(test_graph, NULL, &p), 0);
	struct strata_graph_tensor in = { n.x, xd, sizeof(xd) }, o[2] = { { n.y, y, sizeof(y) }, { n.side, side, sizeof(side) } };
	assert_int_equal(strata_program_run(p, 1, &in, 1, o, 2), -EINVAL);
	assert_non_null(strstr(strata_program_error(p), "no load is bound"));
	strata_program_destroy(p);
	/* An f16 weight added element-wise would need widening. */
	assert_int_equal(strata_model_find(m, "w2", &i3), 0);
	assert_int_equal(strata_graph_weight_streamed(test_graph, m, i3, &w2n), 0);
	assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_NEG, w2n, &bad), 0);
	assert_int_equal(strata_graph_output(test_graph, bad), 0);
	assert_int_equal(strata_graph_compile(test_graph, NULL, &p), -EINVAL);
	assert_non_null(strstr(strata_graph_error(test_graph), "streamed as f16"));
	assert_int_equal(strata_graph_weight_streamed(test_graph, m, 99, &bad), -ENOENT);
	assert_int_equal(strata_graph_weight_streamed(test_graph, NULL, 0, &bad), -EINVAL);
	strata_model_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(runs_while_weights_stream_in, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(loads_first_without_a_spare_cpu, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(a_weight_that_fails_to_load, graph_setup, graph_teardown),
		cmocka_unit_test_setup_teardown(refusals, graph_setup, graph_teardown),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, setup, teardown);
}
