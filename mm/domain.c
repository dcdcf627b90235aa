/* SPDX-License-Identifier: MIT */
/*
 * mm/domain.c — what all pools of a runtime share: limits per node and in
 * total, the list of pools (for pressure and node stats), and fork safety.
 *
 * Limits are checked and charged with atomics on the commit path, which is
 * already slow (a provider call), never on allocation fast paths.
 *
 * Fork: the prepare handler takes every mm lock in the one order the code
 * uses (thread caches, domains, domain, pools), so the child never inherits
 * a lock held by a thread that no longer exists; both sides release them,
 * and the child first takes back the objects cached by the parent's other
 * threads, which do not exist in it.
 */
#include <errno.h>
#include <string.h>

#include "mm/mm_int.h"

static pthread_mutex_t domains_lock = PTHREAD_MUTEX_INITIALIZER;
static struct st_domain *domains;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
	struct st_domain *d;
	struct strata_pool *p;

	st_tc_lock();
	pthread_mutex_lock(&domains_lock);
	for (d = domains; d; d = d->next_domain) {
		pthread_mutex_lock(&d->lock);
		for (p = d->pools; p; p = p->next)
			pthread_mutex_lock(&p->lock);
	}
}

static void fork_release(bool child)
{
	struct st_domain *d;
	struct strata_pool *p;

	for (d = domains; d; d = d->next_domain) {
		for (p = d->pools; p; p = p->next) {
			if (child)
				st_tcache_adopt_orphans(p);
			pthread_mutex_unlock(&p->lock);
		}
		pthread_mutex_unlock(&d->lock);
	}
	pthread_mutex_unlock(&domains_lock);
	st_tc_unlock();
}

static void fork_parent(void)
{
	fork_release(false);
}

static void fork_child(void)
{
	fork_release(true);
}

static void register_atfork(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

int st_domain_create(unsigned nodes, struct st_domain **out)
{
	struct st_domain *d = st_calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->nodes = nodes;
	d->node_reserved = st_calloc(nodes, sizeof(*d->node_reserved));
	d->node_limit = st_calloc(nodes, sizeof(*d->node_limit));
	if (!d->node_reserved || !d->node_limit) {
		st_free((void *)(uintptr_t)d->node_reserved);
		st_free((void *)(uintptr_t)d->node_limit);
		st_free(d);
		return -ENOMEM;
	}
	pthread_mutex_init(&d->lock, NULL);
	pthread_once(&atfork_once, register_atfork);
	st_mm_metrics_init();
	pthread_mutex_lock(&domains_lock);
	d->next_domain = domains;
	domains = d;
	pthread_mutex_unlock(&domains_lock);
	*out = d;
	return 0;
}

void st_domains_foreach_pool(void (*fn)(struct strata_pool *pool, void *ctx), void *ctx)
{
	struct st_domain *d;
	struct strata_pool *p;

	pthread_mutex_lock(&domains_lock);
	for (d = domains; d; d = d->next_domain) {
		pthread_mutex_lock(&d->lock);
		for (p = d->pools; p; p = p->next)
			fn(p, ctx);
		pthread_mutex_unlock(&d->lock);
	}
	pthread_mutex_unlock(&domains_lock);
}

void st_domain_destroy(struct st_domain *d)
{
	struct st_domain **pp;

	if (!d)
		return;
	/* Pools outliving their runtime are destroyed with it. */
	while (d->pools)
		strata_pool_destroy(d->pools);
	pthread_mutex_lock(&domains_lock);
	for (pp = &domains; *pp; pp = &(*pp)->next_domain) {
		if (*pp == d) {
			*pp = d->next_domain;
			break;
		}
	}
	pthread_mutex_unlock(&domains_lock);
	pthread_mutex_destroy(&d->lock);
	st_free((void *)(uintptr_t)d->node_reserved);
	st_free((void *)(uintptr_t)d->node_limit);
	st_free(d);
}

void st_domain_add(struct st_domain *d, struct strata_pool *pool)
{
	pthread_mutex_lock(&d->lock);
	pool->domain = d;
	pool->next = d->pools;
	d->pools = pool;
	pthread_mutex_unlock(&d->lock);
}

void st_domain_remove(struct st_domain *d, struct strata_pool *pool)
{
	struct strata_pool **pp;

	pthread_mutex_lock(&d->lock);
	for (pp = &d->pools; *pp; pp = &(*pp)->next) {
		if (*pp == pool) {
			*pp = pool->next;
			break;
		}
	}
	pthread_mutex_unlock(&d->lock);
}

/* Add @bytes to @counter unless that passes @limit (0: none). */
static bool charge(_Atomic uint64_t *counter, uint64_t limit, uint64_t bytes)
{
	uint64_t cur = atomic_load(counter);

	do {
		if (limit && cur + bytes > limit)
			return false;
	} while (!atomic_compare_exchange_weak(counter, &cur, cur + bytes));
	return true;
}

int st_domain_charge(struct strata_pool *pool, uint64_t bytes)
{
	struct st_domain *d = pool->domain;
	uint64_t reserved = atomic_load(&pool->reserved);

	if (pool->limit_bytes && reserved + bytes > pool->limit_bytes)
		return -ENOMEM;
	if (!d)
		return 0;
	if (!charge(&d->global_reserved, atomic_load_explicit(&d->global_limit, memory_order_relaxed), bytes))
		return -ENOMEM;
	if (pool->node >= 0 && (unsigned)pool->node < d->nodes &&
	    !charge(&d->node_reserved[pool->node],
		    atomic_load_explicit(&d->node_limit[pool->node], memory_order_relaxed), bytes)) {
		atomic_fetch_sub(&d->global_reserved, bytes);
		return -ENOMEM;
	}
	return 0;
}

void st_domain_uncharge(struct strata_pool *pool, uint64_t bytes)
{
	struct st_domain *d = pool->domain;

	if (!d)
		return;
	atomic_fetch_sub(&d->global_reserved, bytes);
	if (pool->node >= 0 && (unsigned)pool->node < d->nodes)
		atomic_fetch_sub(&d->node_reserved[pool->node], bytes);
}

int64_t st_domain_pressure(struct st_domain *d, enum strata_pressure level)
{
	struct strata_pool *p;
	uint64_t released = 0;

	if ((unsigned)level > STRATA_PRESSURE_CRITICAL)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	for (p = d->pools; p; p = p->next)
		released += st_pool_pressure(p, level);
	pthread_mutex_unlock(&d->lock);
	return (int64_t)released;
}

int st_domain_sum_stats(struct st_domain *d, int node, int device, struct strata_pool_stats *out)
{
	struct strata_pool_stats sum, one;
	struct strata_pool *p;

	if (node >= (int)d->nodes)
		return -ENOENT;
	memset(&sum, 0, sizeof(sum));
	sum.sz = sizeof(sum);
	sum.node = node;
	pthread_mutex_lock(&d->lock);
	for (p = d->pools; p; p = p->next) {
		if (node >= 0 ? p->node != node : p->device != device)
			continue;
		one.sz = sizeof(one);
		st_pool_collect_stats(p, &one);
		sum.bytes_in_use += one.bytes_in_use;
		sum.bytes_cached += one.bytes_cached;
		sum.bytes_reserved += one.bytes_reserved;
		sum.peak_in_use += one.peak_in_use;
		sum.peak_reserved += one.peak_reserved;
		sum.allocs += one.allocs;
		sum.frees += one.frees;
		sum.fallbacks += one.fallbacks;
		sum.fallback_bytes += one.fallback_bytes;
		sum.purged_bytes += one.purged_bytes;
		sum.commits += one.commits;
		sum.hugepage_coverage += one.hugepage_coverage * (double)one.bytes_reserved;
	}
	pthread_mutex_unlock(&d->lock);
	if (sum.bytes_reserved) {
		sum.hugepage_coverage /= (double)sum.bytes_reserved;
		sum.fragmentation = 1.0 - (double)sum.bytes_in_use / (double)sum.bytes_reserved;
	}
	return st_copy_out(out, &sum, sizeof(sum));
}

int st_domain_set_limit(struct st_domain *d, int node, uint64_t bytes)
{
	if (node < -1)
		return -EINVAL;
	if (node >= (int)d->nodes)
		return -ENOENT;
	if (node == -1)
		atomic_store_explicit(&d->global_limit, bytes, memory_order_relaxed);
	else
		atomic_store_explicit(&d->node_limit[node], bytes, memory_order_relaxed);
	return 0;
}
