/* SPDX-License-Identifier: MIT */
/*
 * mm/stats.c — a pool's figures.  Thread caches keep their own counters
 * (single writer, relaxed atomics) so the fast paths never share a cache
 * line; stats add them up under the pool lock, which also keeps caches
 * from coming or going meanwhile.  Huge-page coverage needs the kernel's
 * per-mapping figures (/proc/self/smaps, milliseconds to read), so it is
 * refreshed at most once a second.
 */
#include <errno.h>
#include <string.h>

#include "mm/mm_int.h"

void st_pool_collect_stats(struct strata_pool *pool, struct strata_pool_stats *out)
{
	struct st_tcache *tc;
	int64_t small;
	uint64_t allocs, frees, cached = 0, covered = 0, weight = 0, now = st_now_ms();
	struct st_arena *a;

	memset(out, 0, sizeof(*out));
	out->sz = sizeof(*out);
	pthread_mutex_lock(&pool->lock);
	/* Under the lock: a thread that exits folds its cache's counters into
	 * these while unlinking the cache, so both are read consistently. */
	small = atomic_load(&pool->small_retired);
	allocs = atomic_load(&pool->central_allocs);
	frees = atomic_load(&pool->central_frees);
	for (tc = pool->tcaches; tc; tc = tc->pool_next) {
		unsigned i;

		for (i = 0; i < ST_NCLASSES; i++) {
			const struct st_tcache_bin *bin = &tc->bins[i];
			uint64_t na = atomic_load_explicit(&bin->allocs, memory_order_relaxed);
			uint64_t nf = atomic_load_explicit(&bin->frees, memory_order_relaxed);

			small += (int64_t)(na - nf) * (int64_t)st_class_sizes[i];
			allocs += na;
			frees += nf;
			cached += (uint64_t)atomic_load_explicit(&bin->count, memory_order_relaxed) *
				  st_class_sizes[i];
		}
	}
	for (unsigned i = 0; i < ST_NCLASSES; i++)
		cached += (uint64_t)atomic_load_explicit(&pool->classes[i].handoff_count, memory_order_relaxed) *
			  pool->classes[i].size;
	if (pool->provider.ops->hugepage_coverage && now - pool->coverage_at_ms >= 1000) {
		for (a = atomic_load(&pool->arenas); a; a = a->next) {
			if (!a->frontier)
				continue;
			covered += (uint64_t)(pool->provider.ops->hugepage_coverage(pool->provider.ctx,
										    (void *)a->base, a->frontier) *
					      (double)a->frontier);
			weight += a->frontier;
		}
		pool->coverage = weight ? (double)covered / (double)weight : 0;
		pool->coverage_at_ms = now;
	}
	out->hugepage_coverage = pool->coverage;
	pthread_mutex_unlock(&pool->lock);

	/* Counters read at slightly different moments can cross; clamp. */
	out->bytes_in_use = atomic_load(&pool->large_in_use) + (uint64_t)(small > 0 ? small : 0) +
			    atomic_load(&pool->pt_in_use);
	out->bytes_cached = cached;
	out->bytes_reserved = atomic_load(&pool->reserved);
	out->peak_in_use = atomic_load(&pool->peak_out);
	out->peak_reserved = atomic_load(&pool->peak_reserved);
	if (out->bytes_reserved)
		out->fragmentation = 1.0 - (double)ST_MIN(out->bytes_in_use, out->bytes_reserved) /
						   (double)out->bytes_reserved;
	out->allocs = allocs;
	out->frees = frees;
	out->fallbacks = atomic_load(&pool->fallbacks);
	out->fallback_bytes = atomic_load(&pool->fallback_bytes);
	out->purged_bytes = atomic_load(&pool->purged_total);
	out->commits = atomic_load(&pool->commits);
	out->node = pool->node;
}

int strata_pool_stats(struct strata_pool *pool, struct strata_pool_stats *out)
{
	struct strata_pool_stats s;

	if (!pool || !out)
		return -EINVAL;
	st_pool_collect_stats(pool, &s);
	return st_copy_out(out, &s, sizeof(s));
}
