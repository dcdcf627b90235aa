/* SPDX-License-Identifier: MIT */
/*
 * mm/commit.c — every byte a pool takes from its provider passes here, so
 * limits, the reserved figure and placement fallbacks are accounted in one
 * place.  Pool lock held.
 */
#include <errno.h>

#include "mm/mm_int.h"

static void peak_max(_Atomic uint64_t *peak, uint64_t v)
{
	uint64_t cur = atomic_load_explicit(peak, memory_order_relaxed);

	while (v > cur && !atomic_compare_exchange_weak(peak, &cur, v))
		;
}

int st_pool_commit(struct strata_pool *pool, uintptr_t addr, size_t bytes)
{
	struct st_commit_result res;
	int err;

	err = st_domain_charge(pool, bytes);
	if (err)
		return err;
	err = pool->provider.ops->commit(pool->provider.ctx, (void *)addr, bytes, &res);
	if (err) {
		st_domain_uncharge(pool, bytes);
		return err;
	}
	atomic_fetch_add(&pool->commits, 1);
	peak_max(&pool->peak_reserved, atomic_fetch_add(&pool->reserved, bytes) + bytes);
	if (res.fallback_bytes) {
		atomic_fetch_add(&pool->fallbacks, 1);
		atomic_fetch_add(&pool->fallback_bytes, res.fallback_bytes);
	}
	return 0;
}

int st_pool_decommit(struct strata_pool *pool, uintptr_t addr, size_t bytes)
{
	int err = pool->provider.ops->decommit(pool->provider.ctx, (void *)addr, bytes);

	/* A failed decommit leaves the memory committed (and its contents as
	 * they were): it must not be counted as released, nor later handed
	 * out as known-zero. */
	if (err)
		return err;
	atomic_fetch_sub(&pool->reserved, bytes);
	st_domain_uncharge(pool, bytes);
	return 0;
}
