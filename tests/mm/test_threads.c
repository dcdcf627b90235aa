/* SPDX-License-Identifier: MIT */
/*
 * tests/mm/test_threads.c — several threads churning one pool, with
 * objects handed from one thread to another to be freed there.  Every
 * object carries its owner's tag, checked before it is freed, so two
 * threads given the same memory would be caught.  Meant to run under
 * TSan too (make check TSAN=1).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "helpers.h"
#include "mm/mm_int.h"

#define THREADS 4
#define SLOTS 2000
#define OPS 60000
#define RING 1024

static struct strata_pool *pool;

/* Single-producer single-consumer ring from thread i to thread i+1. */
struct ring {
	void *slot[RING];
	_Atomic unsigned head, tail;
};

static struct ring rings[THREADS];
static _Atomic int failures;

struct obj {
	uint32_t tag, size;
};

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fill(struct obj *o, uint32_t tag, uint32_t size)
{
	o->tag = tag;
	o->size = size;
	memset(o + 1, (int)(tag & 0xff), size - sizeof(*o));
}

static bool check(const struct obj *o)
{
	const unsigned char *b = (const unsigned char *)(o + 1);
	uint32_t i;

	for (i = 0; i < o->size - sizeof(*o); i += 61)
		if (b[i] != (o->tag & 0xff))
			return false;
	return true;
}

static bool push(struct ring *r, void *p)
{
	unsigned h = atomic_load_explicit(&r->head, memory_order_relaxed);

	if (h - atomic_load_explicit(&r->tail, memory_order_acquire) == RING)
		return false;
	r->slot[h % RING] = p;
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return true;
}

static void *pop(struct ring *r)
{
	unsigned t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	void *p;

	if (t == atomic_load_explicit(&r->head, memory_order_acquire))
		return NULL;
	p = r->slot[t % RING];
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return p;
}

static void release(void *p)
{
	if (!check(p) || strata_pool_free(pool, p))
		atomic_fetch_add(&failures, 1);
}

static void *worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg, i;
	struct ring *out = &rings[(id + 1) % THREADS], *in = &rings[id];
	static __thread void *live[SLOTS];
	uint64_t rng = 0x1234567 + id;
	void *p;

	memset(live, 0, sizeof(live));
	for (i = 0; i < OPS; i++) {
		unsigned s = (unsigned)(next_rand(&rng) % SLOTS);
		uint64_t r = next_rand(&rng);
		uint32_t size = r % 64 == 0 ? 40000 + (uint32_t)(r % 100000) : 16 + (uint32_t)(r % 4081);

		if (live[s]) {
			/* Half the time the object goes to the next thread. */
			if ((r & 1) && push(out, live[s]))
				live[s] = NULL;
			else {
				release(live[s]);
				live[s] = NULL;
			}
		}
		if (strata_pool_alloc(pool, size, 0, 0, &p)) {
			atomic_fetch_add(&failures, 1);
			continue;
		}
		fill(p, (uint32_t)(id << 24 | i), size);
		live[s] = p;
		while ((p = pop(in)))
			release(p);
	}
	for (i = 0; i < SLOTS; i++)
		if (live[i])
			release(live[i]);
	return NULL;
}

/* Frees what is left in the rings, from a thread that then exits. */
static void *drain_rings(void *arg)
{
	unsigned i;
	void *p;

	(void)arg;
	for (i = 0; i < THREADS; i++)
		while ((p = pop(&rings[i])))
			release(p);
	return NULL;
}

static void test_cross_thread_churn(void **state)
{
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF);
	struct strata_pool_stats s = { .sz = sizeof(s) };
	pthread_t tid[THREADS];
	struct strata_rt *rt;
	unsigned i;

	(void)state;
	assert_int_equal(strata_rt_create(&ropts, &rt), 0);
	assert_int_equal(strata_pool_create(rt, NULL, &pool), 0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&tid[i], NULL, worker, (void *)(uintptr_t)i), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(tid[i], NULL);
	assert_int_equal(pthread_create(&tid[0], NULL, drain_rings, NULL), 0);
	pthread_join(tid[0], NULL);
	assert_int_equal(atomic_load(&failures), 0);
	/* The workers exited: their caches went back to the pool.  Objects
	 * still waiting in the hand-off chains between threads go home to
	 * their spans on trim (which, keeping everything, gives nothing back
	 * to the OS). */
	assert_true(strata_pool_trim(pool, UINT64_MAX) == 0);
	assert_int_equal(strata_pool_stats(pool, &s), 0);
	assert_true(s.bytes_in_use == 0);
	assert_true(s.bytes_cached == 0);
	assert_true(s.allocs == s.frees);
	assert_true(s.allocs >= THREADS * OPS);
	strata_pool_destroy(pool);
	strata_rt_destroy(rt);
}

static pthread_barrier_t step;
static struct strata_pool *pressure_pool;

/* Fills its cache with 200 objects of 64 bytes, waits while critical
 * pressure is declared, then makes one allocation of another size (a slow
 * path) and waits to be checked. */
static void *cache_holder(void *arg)
{
	void *objs[200], *other;
	unsigned i;

	(void)arg;
	for (i = 0; i < 200; i++)
		strata_pool_alloc(pressure_pool, 64, 0, 0, &objs[i]);
	for (i = 0; i < 200; i++)
		strata_pool_free(pressure_pool, objs[i]);
	pthread_barrier_wait(&step); /* cache full */
	pthread_barrier_wait(&step); /* pressure declared */
	strata_pool_alloc(pressure_pool, 16, 0, 0, &other);
	pthread_barrier_wait(&step); /* checked */
	pthread_barrier_wait(&step);
	strata_pool_free(pressure_pool, other);
	return NULL;
}

static void test_critical_pressure_reaches_other_threads(void **state)
{
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF);
	STRATA_POOL_OPTS(opts, .decay_ms = STRATA_DECAY_NEVER);
	struct strata_pool_stats s = { .sz = sizeof(s) };
	struct strata_rt *rt;
	pthread_t tid;

	(void)state;
	assert_int_equal(strata_rt_create(&ropts, &rt), 0);
	assert_int_equal(strata_pool_create(rt, &opts, &pressure_pool), 0);
	pthread_barrier_init(&step, NULL, 2);
	assert_int_equal(pthread_create(&tid, NULL, cache_holder, NULL), 0);
	pthread_barrier_wait(&step);
	assert_int_equal(strata_pool_stats(pressure_pool, &s), 0);
	assert_true(s.bytes_cached >= 200 * 64); /* the other thread's cache */
	assert_true(strata_mm_pressure(rt, STRATA_PRESSURE_CRITICAL) >= 0);
	pthread_barrier_wait(&step);
	pthread_barrier_wait(&step);
	assert_int_equal(strata_pool_stats(pressure_pool, &s), 0);
	/* The 64-byte objects went back; only the new batch of 16-byte
	 * objects is cached now. */
	assert_true(s.bytes_cached <= 16ULL * pressure_pool->classes[st_size_class(16)].batch);
	pthread_barrier_wait(&step);
	pthread_join(tid, NULL);
	pthread_barrier_destroy(&step);
	strata_pool_destroy(pressure_pool);
	strata_rt_destroy(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cross_thread_churn),
		cmocka_unit_test(test_critical_pressure_reaches_other_threads),
	};

	return RUN_TESTS(tests);
}
