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
