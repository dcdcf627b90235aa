/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_sched.c — the task scheduler: every item done once, in
 * dependency order, errors stop the run, empty tasks finish, idle workers
 * sleep, runs from two threads take turns on one pool, a run's width
 * bounds its workers, the pool grows, and the strata_sched_* series count
 * it all.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core_int.h"
#include "core/sched.h"
#include "helpers.h"

#define ITEMS 1000
#define NT 6

struct work {
	atomic_int count[ITEMS];
	atomic_int left; /* items not yet done */
	struct work *after[NT]; /* tasks that must be complete first */
	unsigned nafter;
	atomic_int violations, calls;
	int fail_at; /* an item whose chunk fails with -EIO, or -1 */
};

static int do_items(void *arg, int64_t lo, int64_t hi)
{
	struct work *w = arg;
	unsigned i;

	atomic_fetch_add(&w->calls, 1);
	for (i = 0; i < w->nafter; i++)
		if (atomic_load(&w->after[i]->left) != 0)
			atomic_fetch_add(&w->violations, 1);
	for (int64_t k = lo; k < hi; k++) {
		if (k == w->fail_at)
			return -EIO;
		atomic_fetch_add(&w->count[k], 1);
		atomic_fetch_sub(&w->left, 1);
	}
	return 0;
}

static struct st_sched *sched;

static int make_sched(void **state)
{
	(void)state;
	return st_sched_create(test_rt->topo, 2, &sched);
}

static int free_sched(void **state)
{
	(void)state;
	st_sched_destroy(sched);
	sched = NULL;
	return 0;
}

/* A diamond and a chain: 0 -> {1, 2} -> 3 -> 4; 5 alone. */
static void setup_graph(struct work *w, struct st_task *t, uint32_t succ[NT][NT])
{
	static const unsigned edges[][2] = { { 0, 1 }, { 0, 2 }, { 1, 3 }, { 2, 3 }, { 3, 4 } };
	unsigned i;

	memset(t, 0, NT * sizeof(*t));
	for (i = 0; i < NT; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		atomic_store(&w[i].left, ITEMS);
		w[i].fail_at = -1;
		t[i] = (struct st_task){ .fn = do_items, .arg = &w[i], .items = ITEMS, .chunk = 7 + i, .succ = succ[i] };
	}
	for (i = 0; i < ST_ARRAY_SIZE(edges); i++) {
		unsigned a = edges[i][0], b = edges[i][1];

		succ[a][t[a].nsucc++] = b;
		t[b].ndeps++;
		w[b].after[w[b].nafter++] = &w[a];
	}
}

static void every_item_once_in_order(void **state)
{
	struct work *w = calloc(NT, sizeof(*w));
	struct st_task t[NT];
	uint32_t succ[NT][NT];
	unsigned run, i, k;

	(void)state;
	for (run = 0; run < 20; run++) {
		setup_graph(w, t, succ);
		assert_int_equal(st_sched_run(sched, t, NT, 2), 0);
		for (i = 0; i < NT; i++) {
			assert_int_equal(atomic_load(&w[i].violations), 0);
			for (k = 0; k < ITEMS; k++)
				assert_int_equal(atomic_load(&w[i].count[k]), 1);
		}
	}
	assert_int_equal(st_sched_run(sched, t, 0, 2), 0);
	free(w);
}

static void error_stops_the_run(void **state)
{
	struct work *w = calloc(NT, sizeof(*w));
	struct st_task t[NT];
	uint32_t succ[NT][NT];

	(void)state;
	setup_graph(w, t, succ);
	w[1].fail_at = 500;
	assert_int_equal(st_sched_run(sched, t, NT, 2), -EIO);
	/* What waits on the failed task never starts. */
	assert_int_equal(atomic_load(&w[3].calls), 0);
	assert_int_equal(atomic_load(&w[4].calls), 0);
	/* The scheduler runs the next graph as if nothing happened. */
	setup_graph(w, t, succ);
	assert_int_equal(st_sched_run(sched, t, NT, 2), 0);
	assert_int_equal(atomic_load(&w[4].left), 0);
	free(w);
}

static int nothing(void *arg, int64_t lo, int64_t hi)
{
	(void)arg, (void)lo, (void)hi;
	return 0;
}

/* A task with no items finishes at once, and its successor runs. */
static void empty_tasks_finish(void **state)
{
	uint32_t succ[1] = { 1 };
	struct st_task t[2] = {
		{ .fn = nothing, .items = 0, .chunk = 1, .succ = succ, .nsucc = 1 },
		{ .fn = nothing, .items = 10, .chunk = 1, .ndeps = 1 },
	};

	(void)state;
	assert_int_equal(st_sched_run(sched, t, 2, 2), 0);
}

/* Chunks that note how many run at once, and on which threads. */
static atomic_int active, most;
static pthread_t seen[8];
static atomic_int nseen;

static int crowd(void *arg, int64_t lo, int64_t hi)
{
	int now = atomic_fetch_add(&active, 1) + 1, was = atomic_load(&most);
	pthread_t me = pthread_self();
	int n = atomic_load(&nseen), i;

	(void)arg, (void)lo, (void)hi;
	while (now > was && !atomic_compare_exchange_weak(&most, &was, now))
		;
	for (i = 0; i < n && !pthread_equal(seen[i], me); i++)
		;
	if (i == n && n < 8 && atomic_compare_exchange_strong(&nseen, &n, n + 1))
		seen[n] = me;
	for (volatile int spin = 0; spin < 20000; spin++)
		;
	atomic_fetch_sub(&active, 1);
	return 0;
}

static void *run_crowd(void *arg)
{
	(void)arg;
	for (int r = 0; r < 50; r++) {
		struct st_task t = { .fn = crowd, .items = 64, .chunk = 1 };

		if (st_sched_run(sched, &t, 1, 2))
			return (void *)1;
	}
	return NULL;
}

/* Two programs share one pool: runs started from two threads at once take
 * turns, so no more chunks run at once than the pool has workers. */
static void runs_from_two_threads_take_turns(void **state)
{
	pthread_t a, b;
	void *ra, *rb;

	(void)state;
	atomic_store(&most, 0);
	pthread_create(&a, NULL, run_crowd, NULL);
	pthread_create(&b, NULL, run_crowd, NULL);
	pthread_join(a, &ra);
	pthread_join(b, &rb);
	assert_null(ra);
	assert_null(rb);
	assert_true(atomic_load(&most) >= 1);
	if (atomic_load(&most) > (int)st_sched_threads(sched))
		fail_msg("%d chunks ran at once on a pool of %u", atomic_load(&most), st_sched_threads(sched));
}

/* A run of width 1 runs on its caller alone. */
static void width_limits_the_workers(void **state)
{
	struct st_task t = { .fn = crowd, .items = 256, .chunk = 1 };

	(void)state;
	atomic_store(&nseen, 0);
	atomic_store(&most, 0);
	assert_int_equal(st_sched_run(sched, &t, 1, 1), 0);
	assert_int_equal(atomic_load(&nseen), 1);
	assert_true(pthread_equal(seen[0], pthread_self()));
	assert_int_equal(atomic_load(&most), 1);
}

/* A program that asks for more workers grows the pool. */
static void the_pool_grows(void **state)
{
	struct st_task t = { .fn = crowd, .items = 4096, .chunk = 1 };

	(void)state;
	assert_int_equal(st_sched_reserve(sched, 3), 0);
	assert_int_equal(st_sched_threads(sched), 3);
	assert_int_equal(st_sched_reserve(sched, 2), 0); /* never shrinks */
	assert_int_equal(st_sched_threads(sched), 3);
	atomic_store(&nseen, 0);
	assert_int_equal(st_sched_run(sched, &t, 1, 3), 0);
	assert_true(atomic_load(&nseen) >= 1 && atomic_load(&nseen) <= 3);
}

/* Between runs the workers sleep: the process uses almost no CPU. */
static void idle_workers_sleep(void **state)
{
	struct timespec a, b;
	double used;

	(void)state;
	assert_int_equal(st_sched_threads(sched), 2);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	usleep(200000);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	used = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
	/* The runtime's telemetry sampler wakes now and then; spinning workers
	 * would show as ~0.2 s each. */
	if (used > 0.05)
		fail_msg("the process used %.3f s of CPU in 0.2 s idle", used);
}

/* The value of series @name (with @labels, "" for none) in @text, or -1. */
static double series(const char *text, const char *name, const char *labels)
{
	char key[128];
	const char *at;

	snprintf(key, sizeof(key), "\n%s%s ", name, labels);
	at = strstr(text, key);
	return at ? strtod(at + strlen(key), NULL) : -1;
}

/* The strata_sched_* series count what the runs did: every task, every
 * chunk, and time busy in them. */
static void runs_are_counted(void **state)
{
	struct work *w = calloc(NT, sizeof(*w));
	struct st_task t[NT];
	uint32_t succ[NT][NT];
	double tasks0, chunks0, chunks1;
	char *text;
	size_t len;

	(void)state;
	assert_int_equal(strata_metrics_render(&text, &len), 0);
	tasks0 = series(text, "strata_sched_tasks_total", "");
	chunks0 = series(text, "strata_sched_chunks_total", "{worker=\"0\"}");
	chunks1 = series(text, "strata_sched_chunks_total", "{worker=\"1\"}");
	assert_true(series(text, "strata_sched_workers", "") >= 2);
	strata_metrics_free(text);
	setup_graph(w, t, succ);
	assert_int_equal(st_sched_run(sched, t, NT, 2), 0);
	assert_int_equal(strata_metrics_render(&text, &len), 0);
	assert_true(series(text, "strata_sched_tasks_total", "") == tasks0 + NT);
	/* ITEMS items of each task in chunks of 7 + i. */
	{
		double chunks = 0;

		for (unsigned i = 0; i < NT; i++)
			chunks += (ITEMS + 7 + i - 1) / (7 + i);
		assert_true(series(text, "strata_sched_chunks_total", "{worker=\"0\"}") +
				    series(text, "strata_sched_chunks_total", "{worker=\"1\"}") ==
			    chunks0 + chunks1 + chunks);
	}
	assert_true(series(text, "strata_sched_busy_seconds_total", "{worker=\"0\"}") > 0);
	assert_true(series(text, "strata_sched_wait_seconds_total", "{worker=\"0\"}") >= 0);
	strata_metrics_free(text);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_item_once_in_order),
		cmocka_unit_test(runs_are_counted),
		cmocka_unit_test(error_stops_the_run),
		cmocka_unit_test(empty_tasks_finish),
		cmocka_unit_test(idle_workers_sleep),
		cmocka_unit_test(runs_from_two_threads_take_turns),
		cmocka_unit_test(width_limits_the_workers),
		cmocka_unit_test(the_pool_grows),
	};
	int rc;

	if (rt_setup(NULL))
		return 1;
	rc = cmocka_run_group_tests_name(__FILE__, tests, make_sched, free_sched);
	rt_teardown(NULL);
	return rc;
}
