/* SPDX-License-Identifier: MIT */
/* tests/helpers.c — see helpers.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
