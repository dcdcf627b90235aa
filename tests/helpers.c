/* SPDX-License-Identifier: MIT */
/* tests/helpers.c — see helpers.h. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/graph/graph_int.h"
#include "core/graph/target.h"
#include "helpers.h"

static struct fail_alloc *active;

static void *fa_malloc(size_t size, void *user)
{
	struct fail_alloc *fa = user;
	void *p;

	fa->calls++;
	if (fa->fail_at && fa->calls == fa->fail_at) {
		fa->failures++;
		return NULL;
	}
	p = malloc(size);
	if (p)
		fa->live++;
	return p;
}

static void *fa_realloc(void *ptr, size_t size, void *user)
{
	struct fail_alloc *fa = user;
	void *p;

	if (!ptr)
		return fa_malloc(size, user);
	fa->calls++;
	if (fa->fail_at && fa->calls == fa->fail_at) {
		fa->failures++;
		return NULL;
	}
	p = realloc(ptr, size);
	return p;
}

static void fa_free(void *ptr, void *user)
{
	struct fail_alloc *fa = user;

	if (ptr)
		fa->live--;
	free(ptr);
}

void fail_alloc_install(struct fail_alloc *fa)
{
	struct strata_alloc_hooks h = {
		.sz = sizeof(h),
		.malloc = fa_malloc,
		.realloc = fa_realloc,
		.free = fa_free,
		.user = fa,
	};

	active = fa;
	assert_int_equal(strata_alloc_set_hooks(fa ? &h : NULL), 0);
}

static struct log_catch *catcher;

static void catch_log(enum strata_log_level level, const char *msg, void *user)
{
	struct log_catch *lc = user;

	if (level < STRATA_LOG_WARN)
		return;
	lc->count++;
	lc->last_level = level;
	snprintf(lc->last, sizeof(lc->last), "%s", msg);
}

void log_catch_install(struct log_catch *lc)
{
	memset(lc, 0, sizeof(*lc));
	catcher = lc;
	strata_log_set_callback(catch_log, lc);
}

void log_catch_remove(void)
{
	catcher = NULL;
	strata_log_set_callback(NULL, NULL);
}

const char *fixture(const char *rel)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/tests/%s", STRATA_SRCDIR, rel);
	return buf;
}

const char *make_tmpdir(void)
{
	static char buf[256];
	const char *tmp = getenv("TMPDIR");

	snprintf(buf, sizeof(buf), "%s/strata-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(buf));
	return buf;
}

void rm_rf(const char *path)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

struct strata_rt *test_rt;

int rt_setup(void **state)
{
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF);

	(void)state;
	return strata_rt_create(&opts, &test_rt);
}

int rt_teardown(void **state)
{
	(void)state;
	strata_rt_destroy(test_rt);
	test_rt = NULL;
	return 0;
}

struct strata_graph *test_graph;

int graph_setup(void **state)
{
	STRATA_GRAPH_OPTS(opts, .max_seq = 8);

	(void)state;
	return strata_graph_create(test_rt, &opts, &test_graph);
}

int graph_teardown(void **state)
{
	(void)state;
	strata_graph_destroy(test_graph);
	test_graph = NULL;
	return 0;
}

static uint64_t rng = 0x5eed;
static float w88[GRAPH_RANDOM_W * GRAPH_RANDOM_W], w8[GRAPH_RANDOM_W];

unsigned graph_random_next(unsigned n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(rng >> 33) % n;
}

void graph_random_seed(uint64_t seed)
{
	unsigned i;

	rng = seed;
	for (i = 0; i < GRAPH_RANDOM_W * GRAPH_RANDOM_W; i++)
		w88[i] = (float)graph_random_next(2000) / 1000.0f - 1.0f;
	for (i = 0; i < GRAPH_RANDOM_W; i++)
		w8[i] = (float)graph_random_next(2000) / 1000.0f;
}

void graph_random(uint32_t *x, uint32_t *outs, unsigned *nouts)
{
	static const enum strata_op bin[] = { STRATA_OP_ADD, STRATA_OP_SUB, STRATA_OP_MUL, STRATA_OP_MAX };
	static const enum strata_op un[] = { STRATA_OP_TANH, STRATA_OP_SIGMOID, STRATA_OP_SILU, STRATA_OP_NEG,
					     STRATA_OP_GELU };
	const int64_t xs[] = { STRATA_DIM_SEQ, GRAPH_RANDOM_W }, s88[] = { GRAPH_RANDOM_W, GRAPH_RANDOM_W },
		      s8[] = { GRAPH_RANDOM_W };
	uint32_t vals[64], n = 0, wm, wv, r;
	unsigned i, steps = 8 + graph_random_next(24);

	assert_int_equal(strata_graph_input(test_graph, "x", STRATA_DTYPE_F32, 2, xs, x), 0);
	assert_int_equal(strata_graph_weight(test_graph, "w88", STRATA_DTYPE_F32, 2, s88, w88, &wm), 0);
	assert_int_equal(strata_graph_weight(test_graph, "w8", STRATA_DTYPE_F32, 1, s8, w8, &wv), 0);
	vals[n++] = *x;
	for (i = 0; i < steps; i++) {
		uint32_t a = vals[graph_random_next(n)], b = vals[graph_random_next(n)];

		switch (graph_random_next(8)) {
		case 0:
			assert_int_equal(strata_graph_binary(test_graph, bin[graph_random_next(4)], a,
							     graph_random_next(3) ? b : wv, &r),
					 0);
			break;
		case 1:
			assert_int_equal(strata_graph_unary(test_graph, un[graph_random_next(5)], a, &r), 0);
			break;
		case 2:
			assert_int_equal(strata_graph_matmul(test_graph, a, wm,
							     graph_random_next(2) ? STRATA_MATMUL_TRANS_B : 0, &r),
					 0);
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
		case 6:
			assert_int_equal(strata_graph_layernorm(test_graph, a, wv, graph_random_next(2) ? wv : STRATA_GRAPH_NONE,
								1e-5f, &r),
					 0);
			break;
		default: /* the same call twice: something for CSE */
			assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_TANH, a, &r), 0);
			assert_int_equal(strata_graph_unary(test_graph, STRATA_OP_TANH, a, &r), 0);
			break;
		}
		vals[n++] = r;
	}
	*nouts = 0;
	outs[(*nouts)++] = vals[n - 1];
	outs[(*nouts)++] = vals[1 + graph_random_next(n - 1)];
	for (i = 0; i < *nouts; i++)
		assert_int_equal(strata_graph_output(test_graph, outs[i]), 0);
}

/* --- compiled graphs against the reference --------------------------------- */

static uint64_t graph_seed = 0x1234567;

float graph_frand(float lo, float hi)
{
	graph_seed = graph_seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return lo + (hi - lo) * (float)((graph_seed >> 40) & 0xffffff) / (float)0xffffff;
}

unsigned graph_pick(unsigned n)
{
	graph_seed = graph_seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(graph_seed >> 33) % n;
}

size_t graph_bytes_of(uint32_t node, uint32_t seq)
{
	int64_t shape[STRATA_MAX_DIMS];
	unsigned nd, i;
	size_t n = 4;

	assert_int_equal(strata_graph_shape(test_graph, node, &nd, shape), 0);
	for (i = 0; i < nd; i++)
		n *= (size_t)(shape[i] == STRATA_DIM_SEQ ? seq : shape[i]);
	return n;
}

const struct st_target *graph_compare_target;

void graph_compare(uint32_t seq, const struct strata_graph_tensor *in, unsigned nin, const uint32_t *outs,
		       unsigned nouts, double tol, bool relative_to_max, struct strata_program **out)
{
	struct strata_graph_tensor got[32], want[32];
	struct strata_program *p;
	unsigned i;
	int err;

	assert_true(nouts <= 32);
	/* STRATA_TEST_TARGET=reference: every comparison per kernel on the
	 * reference target (tests/core/test_reference_target.sh). */
	if (!graph_compare_target && getenv("STRATA_TEST_TARGET") && !strcmp(getenv("STRATA_TEST_TARGET"), "reference"))
		graph_compare_target = &st_target_reference;
	err = graph_compare_target ? st_graph_compile_on(test_graph, NULL, graph_compare_target, &p)
				   : strata_graph_compile(test_graph, NULL, &p);
	if (err)
		fail_msg("compile: %d %s", err, strata_graph_error(test_graph));
	for (i = 0; i < nouts; i++) {
		size_t b = graph_bytes_of(outs[i], seq);

		got[i] = (struct strata_graph_tensor){ outs[i], calloc(1, b), b };
		want[i] = (struct strata_graph_tensor){ outs[i], calloc(1, b), b };
	}
	err = strata_program_run(p, seq, in, nin, got, nouts);
	if (err)
		fail_msg("run: %d %s", err, strata_program_error(p));
	assert_int_equal(strata_graph_eval_reference(test_graph, seq, in, nin, want, nouts), 0);
	for (i = 0; i < nouts; i++) {
		const float *g = got[i].data, *w = want[i].data;
		size_t n = got[i].bytes / 4, j;
		double scale = 0;

		if (test_graph->nodes[outs[i]].dtype == STRATA_DTYPE_I32) {
			if (memcmp(got[i].data, want[i].data, got[i].bytes))
				fail_msg("output %u (%s): indices differ", outs[i], st_op_name(test_graph->nodes[outs[i]].op));
			continue;
		}
		for (j = 0; j < n; j++)
			scale = fabs(w[j]) > scale ? fabs(w[j]) : scale;
		for (j = 0; j < n; j++) {
			double lim = relative_to_max ? tol * (scale > 1 ? scale : 1) : tol + tol * fabs(w[j]);

			if (!(fabs(g[j] - w[j]) <= lim))
				fail_msg("output %u (%s) at seq %u, element %zu: compiled %.9g, reference %.9g", outs[i],
					 st_op_name(test_graph->nodes[outs[i]].op), seq, j, (double)g[j], (double)w[j]);
		}
	}
	for (i = 0; i < nouts; i++) {
		free(got[i].data);
		free(want[i].data);
	}
	if (out)
		*out = p;
	else
		strata_program_destroy(p);
}

void graph_compare_f32(uint32_t seq, const struct strata_graph_tensor *in, unsigned nin, const uint32_t *outs,
		       unsigned nouts)
{
	graph_compare(seq, in, nin, outs, nouts, 1e-4, false, NULL);
}

void graph_mark(const uint32_t *outs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(strata_graph_output(test_graph, outs[i]), 0);
}

float *graph_random_floats(size_t n, float lo, float hi)
{
	float *v = malloc(n * sizeof(float));

	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		v[i] = graph_frand(lo, hi);
	return v;
}

