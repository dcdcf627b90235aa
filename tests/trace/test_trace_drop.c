/* SPDX-License-Identifier: MIT */
/*
 * tests/trace/test_trace_drop.c — the drop-newest policy (STRATA_TRACE=drop):
 * while a slow reader is attached the producer never overwrites what the
 * reader has not read; it refuses new events instead and counts them, and
 * produced = delivered + dropped still holds exactly.  This process also
 * runs on the clock_gettime fallback (STRATA_TRACE_CLOCK=monotonic), whose
 * timestamps must be right too.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "trace/trace_int.h"

static int id_seq;

static int setup(void **state)
{
	setenv("STRATA_TRACE", "drop", 1);
	setenv("STRATA_TRACE_CLOCK", "monotonic", 1);
	if (rt_setup(state))
		return -1;
	id_seq = strata_trace_name("drop.seq");
	return id_seq > 0 ? 0 : -1;
}

struct seen {
	uint64_t n, first, last, gaps, bad, min_ts, max_ts;
};

static void on_event(void *user, const struct strata_trace_event *e)
{
	struct seen *s = user;

	if (e->id != (uint32_t)id_seq)
		return;
	if (!s->min_ts || e->ts_ns < s->min_ts)
		s->min_ts = e->ts_ns;
	if (e->ts_ns > s->max_ts)
		s->max_ts = e->ts_ns;
	if (s->n && e->arg0 <= s->last)
		s->bad++;
	if (s->n && e->arg0 > s->last + 1)
		s->gaps += e->arg0 - s->last - 1;
	if (!s->n)
		s->first = e->arg0;
	s->last = e->arg0;
	s->n++;
}

static _Atomic uint64_t emitted;
#define LIMIT 2000000u

static void *produce(void *arg)
{
	uint64_t i;

	(void)arg;
	for (i = 1; i <= LIMIT; i++) {
		strata_trace_emit((uint32_t)id_seq, STRATA_TRACE_INSTANT, i, 0);
		atomic_store_explicit(&emitted, i, memory_order_relaxed);
	}
	return NULL;
}

static void drop_newest_accounting(void **state)
{
	struct strata_trace_thread_stats st[8];
	struct strata_trace_session *s;
	struct seen seen = { 0 };
	uint64_t refused_before = 0, produced = 0, delivered = 0, dropped = 0;
	size_t n = 8, i;
	pthread_t t;

	struct timespec t0, t1;

	(void)state;
	assert_int_equal(st_trace_shm.hdr->policy, ST_TRACE_DROP_NEWEST);
	assert_int_equal(st_trace_shm.hdr->tsc_ok, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(strata_trace_attach(getpid(), &s), 0);
	for (i = 0; i < st_trace_shm.hdr->nslots; i++)
		refused_before += atomic_load(&st_trace_ring_at(st_trace_shm.hdr, (unsigned)i)->dropped);
	pthread_create(&t, NULL, produce, NULL);
	while (atomic_load(&emitted) < LIMIT) {
		strata_trace_read(s, on_event, &seen, 3000);
		usleep(1000);
	}
	pthread_join(t, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	while (strata_trace_read(s, on_event, &seen, 0) > 0)
		;
	/* Fallback clock: the timestamps are CLOCK_MONOTONIC nanoseconds. */
	assert_true(seen.min_ts >= (uint64_t)t0.tv_sec * 1000000000ULL + (uint64_t)t0.tv_nsec);
	assert_true(seen.max_ts <= (uint64_t)t1.tv_sec * 1000000000ULL + (uint64_t)t1.tv_nsec);
	assert_int_equal(strata_trace_thread_stats(s, st, &n), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(st[i].produced, st[i].delivered + st[i].dropped);
		produced += st[i].produced;
		delivered += st[i].delivered;
		dropped += st[i].dropped;
	}
	assert_int_equal(seen.bad, 0);
	assert_true(seen.gaps > 0);
	/* Nothing was overwritten: the first events are all there, and every
	 * event missing was refused by the producer and counted as such. */
	assert_int_equal(seen.first, 1);
	assert_int_equal(seen.n + seen.gaps + (LIMIT - seen.last), LIMIT);
	{
		uint64_t refused = 0;

		for (i = 0; i < st_trace_shm.hdr->nslots; i++)
			refused += atomic_load(&st_trace_ring_at(st_trace_shm.hdr, (unsigned)i)->dropped);
		assert_int_equal(refused - refused_before, seen.gaps + (LIMIT - seen.last));
	}
	assert_int_equal(produced, delivered + dropped);
	strata_trace_detach(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(drop_newest_accounting),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, setup, rt_teardown);
}
