/* SPDX-License-Identifier: MIT */
/*
 * mm/tcache.c — per-thread caches of small objects, one per pool a thread
 * uses.
 *
 * A thread reaches its cache for a pool through a thread-local array
 * indexed by the pool's slot; the cache holds a free list per size class.
 * Allocation pops and free pushes without locks or atomics read-modify-
 * write, wherever the object came from, so a free from another thread is
 * as cheap as a local one (objects migrate; the central lists even them
 * out in batches).  Counters are single-writer atomics so stats can add
 * them up from any thread.
 *
 * Lifetimes: a cache belongs to its thread and is freed when the thread
 * exits (flushing its objects back to the pool).  A pool being destroyed
 * detaches the caches that point at it; their threads notice through the
 * generation number and start afresh.  tc_lock orders thread exit against
 * pool destruction.
 */
#include <errno.h>
#include <string.h>

#include "mm/mm_int.h"

__thread struct st_tcache *st_tls_tcache[ST_TC_SLOTS + 1];

static pthread_mutex_t tc_lock = PTHREAD_MUTEX_INITIALIZER;
static bool slot_used[ST_TC_SLOTS];
static uint64_t next_gen = 1;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

void st_tc_lock(void)
{
	pthread_mutex_lock(&tc_lock);
}

void st_tc_unlock(void)
{
	pthread_mutex_unlock(&tc_lock);
}

int st_tcache_slot_acquire(struct strata_pool *pool)
{
	unsigned i;

	pthread_mutex_lock(&tc_lock);
	pool->slot = ST_TC_SLOTS;
	pool->gen = next_gen++;
	for (i = 0; i < ST_TC_SLOTS; i++) {
		if (!slot_used[i]) {
			slot_used[i] = true;
			pool->slot = i;
			break;
		}
	}
	pthread_mutex_unlock(&tc_lock);
	return 0;
}

/* Flush @tc's objects to its pool and fold its counters into the pool's.
 * Pool lock held. */
static void drain(struct st_tcache *tc)
{
	struct strata_pool *pool = tc->pool;
	unsigned i;

	for (i = 0; i < ST_NCLASSES; i++) {
		struct st_tcache_bin *bin = &tc->bins[i];
		uint64_t a = atomic_load(&bin->allocs), f = atomic_load(&bin->frees);

		if (atomic_load(&bin->count))
			st_central_give(pool, bin->head, atomic_load(&bin->count));
		bin->head = NULL;
		atomic_store(&bin->count, 0);
		atomic_fetch_add(&pool->central_allocs, a);
		atomic_fetch_add(&pool->central_frees, f);
		/* What this thread handed out minus what it took back stays in use. */
		atomic_fetch_add(&pool->small_retired, (int64_t)(a - f) * (int64_t)st_class_sizes[i]);
	}
	if (tc->pool_prev)
		tc->pool_prev->pool_next = tc->pool_next;
	else
		pool->tcaches = tc->pool_next;
	if (tc->pool_next)
		tc->pool_next->pool_prev = tc->pool_prev;
	tc->pool = NULL;
}

void st_tcache_honour_flush(struct st_tcache *tc)
{
	struct strata_pool *pool = tc->pool;
	uint64_t epoch = atomic_load_explicit(&pool->flush_epoch, memory_order_relaxed);
	unsigned i;

	if (tc->seen_epoch == epoch)
		return;
	tc->seen_epoch = epoch;
	pthread_mutex_lock(&pool->lock);
	for (i = 0; i < ST_NCLASSES; i++) {
		struct st_tcache_bin *bin = &tc->bins[i];
		uint32_t n = atomic_load_explicit(&bin->count, memory_order_relaxed);

		if (!n)
			continue;
		st_central_give(pool, bin->head, n);
		bin->head = NULL;
		atomic_store_explicit(&bin->count, 0, memory_order_relaxed);
	}
	pthread_mutex_unlock(&pool->lock);
}

/* In a forked child (tc lock and pool lock held): the caches of the
 * parent's other threads have no thread any more; their objects go back
 * to the spans and the caches are freed. */
void st_tcache_adopt_orphans(struct strata_pool *pool)
{
	struct st_tcache *tc, *next, *mine = st_tls_tcache[pool->slot];

	for (tc = pool->tcaches; tc; tc = next) {
		next = tc->pool_next;
		if (tc == mine)
			continue;
		drain(tc);
		st_free(tc);
	}
}

/* Pool destruction: detach every cache (the memory goes away wholesale). */
void st_tcache_slot_release(struct strata_pool *pool)
{
	struct st_tcache *tc;

	/* Caller holds tc_lock and the pool lock. */
	for (tc = pool->tcaches; tc; tc = tc->pool_next)
		tc->pool = NULL;
	pool->tcaches = NULL;
	if (pool->slot < ST_TC_SLOTS)
		slot_used[pool->slot] = false;
}

static void thread_exit(void *unused)
{
	unsigned i;

	(void)unused;
	pthread_mutex_lock(&tc_lock);
	for (i = 0; i < ST_TC_SLOTS; i++) {
		struct st_tcache *tc = st_tls_tcache[i];

		if (!tc)
			continue;
		if (tc->pool) {
			struct strata_pool *pool = tc->pool;

			pthread_mutex_lock(&pool->lock);
			drain(tc);
			pthread_mutex_unlock(&pool->lock);
		}
		st_tls_tcache[i] = NULL;
		st_free(tc);
	}
	pthread_mutex_unlock(&tc_lock);
}

static void make_key(void)
{
	pthread_key_create(&exit_key, thread_exit);
}

struct st_tcache *st_tcache_get_slow(struct strata_pool *pool)
{
	struct st_tcache *tc;
	unsigned i;

	if (pool->slot >= ST_TC_SLOTS)
		return NULL;
	tc = st_tls_tcache[pool->slot];

	pthread_once(&exit_once, make_key);
	pthread_mutex_lock(&tc_lock);
	if (!tc) {
		tc = st_calloc(1, sizeof(*tc));
		if (!tc) {
			pthread_mutex_unlock(&tc_lock);
			return NULL;
		}
		st_tls_tcache[pool->slot] = tc;
		/* Any non-NULL value makes the destructor run at thread exit. */
		pthread_setspecific(exit_key, (void *)1);
	} else if (tc->pool) {
		/* Still attached to a live pool of the same slot: impossible,
		 * slots are only reused after their pool is destroyed. */
		pthread_mutex_unlock(&tc_lock);
		return tc;
	}
	/* A cache left over from a destroyed pool: its objects went with
	 * that pool's memory, so it starts empty. */
	memset(tc->bins, 0, sizeof(tc->bins));
	for (i = 0; i < ST_NCLASSES; i++)
		tc->bins[i].max = 2 * pool->classes[i].batch;
	tc->gen = pool->gen;
	tc->seen_epoch = atomic_load(&pool->flush_epoch);
	pthread_mutex_lock(&pool->lock);
	tc->pool = pool;
	tc->pool_prev = NULL;
	tc->pool_next = pool->tcaches;
	if (pool->tcaches)
		pool->tcaches->pool_prev = tc;
	pool->tcaches = tc;
	pthread_mutex_unlock(&pool->lock);
	pthread_mutex_unlock(&tc_lock);
	return tc;
}

static void handoff_or_give(struct strata_pool *pool, unsigned cls, void *head, void *tail, unsigned n);

void st_tcache_flush(struct st_tcache *tc, unsigned cls, unsigned keep)
{
	struct st_tcache_bin *bin = &tc->bins[cls];
	unsigned count = atomic_load_explicit(&bin->count, memory_order_relaxed), n = count - keep, i;
	void *head = bin->head, *cut = head;

	if (count <= keep)
		return;
	if (tc->seen_epoch != atomic_load_explicit(&tc->pool->flush_epoch, memory_order_relaxed)) {
		st_tcache_honour_flush(tc); /* everything goes, not just a batch */
		return;
	}
	/* The first n objects go; the rest stay; cut ends the chain. */
	for (i = 1; i < n; i++)
		cut = *(void **)cut;
	bin->head = *(void **)cut;
	atomic_store_explicit(&bin->count, keep, memory_order_relaxed);
	handoff_or_give(tc->pool, cls, head, cut, n);
}

/* Objects one thread frees and another allocates (a producer/consumer
 * pair) pass through a lock-free chain per class instead of the spans;
 * past a few batches the chain is full and objects go home to their spans
 * under the lock, so memory does not pile up where nobody allocates. */
#define HANDOFF_BATCHES 4

static void handoff_or_give(struct strata_pool *pool, unsigned cls, void *head, void *tail, unsigned n)
{
	struct st_class *c = &pool->classes[cls];
	void *old;

	if (atomic_load_explicit(&c->handoff_count, memory_order_relaxed) + n <= HANDOFF_BATCHES * c->batch) {
		atomic_fetch_add_explicit(&c->handoff_count, n, memory_order_relaxed);
		old = atomic_load_explicit(&c->handoff, memory_order_relaxed);
		do
			*(void **)tail = old;
		while (!atomic_compare_exchange_weak_explicit(&c->handoff, &old, head, memory_order_release,
							      memory_order_relaxed));
		return;
	}
	*(void **)tail = NULL;
	pthread_mutex_lock(&pool->lock);
	st_central_give(pool, head, n);
	pthread_mutex_unlock(&pool->lock);
}

void *st_handoff_take(struct st_class *c, unsigned *n)
{
	void *head, *p;
	unsigned count = 0;

	if (!atomic_load_explicit(&c->handoff, memory_order_relaxed))
		return NULL;
	head = atomic_exchange_explicit(&c->handoff, NULL, memory_order_acquire);
	for (p = head; p; p = *(void **)p)
		count++;
	atomic_fetch_sub_explicit(&c->handoff_count, count, memory_order_relaxed);
	*n = count;
	return head;
}

void st_handoff_drain(struct strata_pool *pool)
{
	unsigned i, n;

	for (i = 0; i < ST_NCLASSES; i++) {
		void *head = st_handoff_take(&pool->classes[i], &n);

		if (head)
			st_central_give(pool, head, n);
	}
}
