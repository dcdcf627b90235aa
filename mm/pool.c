/* SPDX-License-Identifier: MIT */
/*
 * mm/pool.c — the pool: creation and destruction, and the allocation and
 * free entry points.
 *
 * Small requests (up to 32 KiB, alignment up to 4 KiB) go through the
 * calling thread's cache: a pop or a push, no lock, no system call.  Larger
 * ones take the pool lock and the TLSF allocator.  free() finds a block's
 * metadata through the arena's page map; a pointer outside the pool, into a
 * large block, or to a large block freed twice is refused with -EINVAL
 * (small objects are checked that closely only in debug builds).
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "mm/mm_int.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static void peak_update(_Atomic uint64_t *peak, uint64_t value)
{
	uint64_t cur = atomic_load_explicit(peak, memory_order_relaxed);

	while (value > cur && !atomic_compare_exchange_weak_explicit(peak, &cur, value, memory_order_relaxed,
								      memory_order_relaxed))
		;
}

/* Owner-only counter updates: plain adds, published for stats readers. */
static inline void tc_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v, memory_order_relaxed);
}

static inline void bin_count_set(struct st_tcache_bin *bin, uint32_t n)
{
	atomic_store_explicit(&bin->count, n, memory_order_relaxed);
}

static inline uint32_t bin_count(struct st_tcache_bin *bin)
{
	return atomic_load_explicit(&bin->count, memory_order_relaxed);
}

static void maybe_decay(struct strata_pool *pool)
{
	uint64_t now;

	if (!pool->decay_ms)
		return;
	now = st_now_ms();
	if (now - pool->last_decay_ms < ST_MAX(pool->decay_ms / 4, 1u))
		return;
	pool->last_decay_ms = now;
	if (now > pool->decay_ms)
		st_large_purge(pool, now - pool->decay_ms, 0, false);
}

/* --- small objects -------------------------------------------------------- */

#ifdef STRATA_DEBUG
static struct st_span *span_of(struct strata_pool *pool, void *p)
{
	struct st_arena *a = st_arena_of(pool, (uintptr_t)p);
	uintptr_t e = a ? st_pagemap_get(a, (uintptr_t)p) : 0;

	return (e & ST_PM_SPAN) ? ST_PM_SPAN_PTR(e) : NULL;
}

/* Debug builds track which objects callers hold, to catch double frees.
 * Returns true when the object was already in the state asked for. */
static bool live_flip(struct strata_pool *pool, void *p, bool to_live)
{
	struct st_span *s = span_of(pool, p);
	size_t idx = ((uintptr_t)p - s->base) / s->obj_size;
	uint64_t bit = 1ULL << (idx % 64), old;

	if (to_live)
		old = atomic_fetch_or(&s->live_bits[idx / 64], bit);
	else
		old = atomic_fetch_and(&s->live_bits[idx / 64], ~bit);
	return ((old & bit) != 0) == to_live;
}
#endif

static void hand_out(struct strata_pool *pool, void *p, uint32_t size)
{
#ifdef STRATA_DEBUG
	live_flip(pool, p, true);
#endif
	ST_OBJ_ALLOCATED(pool, p, size);
}

/* The slow half of a small allocation: refill the thread's bin.  Kept out
 * of line so the fast paths stay small (no register spills). */
__attribute__((noinline, cold)) static int small_alloc_slow(struct strata_pool *pool, unsigned cls, void **out)
{
	struct st_class *c = &pool->classes[cls];
	struct st_tcache *tc = NULL;
	void *head;
	unsigned n;

	if (pool->slot < ST_TC_SLOTS) {
		tc = st_tls_tcache[pool->slot];
		if (!tc || tc->gen != pool->gen || !tc->pool)
			tc = st_tcache_get_slow(pool);
	}
	if (tc)
		st_tcache_honour_flush(tc);
	if (tc && (head = st_handoff_take(c, &n))) {
		/* Objects another thread freed: no lock needed. */
		tc->bins[cls].head = *(void **)head;
		bin_count_set(&tc->bins[cls], n - 1);
		tc_add(&tc->bins[cls].allocs, 1);
		hand_out(pool, head, c->size);
		*out = head;
		return 0;
	}
	pthread_mutex_lock(&pool->lock);
	n = st_central_take(pool, cls, tc ? c->batch : 1, &head);
	peak_update(&pool->peak_out, atomic_load_explicit(&pool->out_bytes, memory_order_relaxed));
	maybe_decay(pool);
	pthread_mutex_unlock(&pool->lock);
	if (!n)
		return -ENOMEM;
	if (!tc) {
		/* No cache (too many pools, or no memory for one): counted as
		 * a drained cache's object. */
		atomic_fetch_add(&pool->small_retired, c->size);
		atomic_fetch_add(&pool->central_allocs, 1);
		hand_out(pool, head, c->size);
		*out = head;
		return 0;
	}
	tc->bins[cls].head = *(void **)head;
	bin_count_set(&tc->bins[cls], n - 1);
	tc_add(&tc->bins[cls].allocs, 1);
	hand_out(pool, head, c->size);
	*out = head;
	return 0;
}

static inline int small_alloc(struct strata_pool *pool, unsigned cls, void **out)
{
	struct st_tcache *tc = st_tls_tcache[pool->slot];
	struct st_tcache_bin *bin;
	void *p;

	if (likely(tc && tc->gen == pool->gen)) {
		bin = &tc->bins[cls];
		p = bin->head;
		if (likely(p)) {
			bin->head = *(void **)p;
			bin_count_set(bin, bin_count(bin) - 1);
			tc_add(&bin->allocs, 1);
			hand_out(pool, p, st_class_sizes[cls]);
			*out = p;
			return 0;
		}
	}
	return small_alloc_slow(pool, cls, out);
}

/* A small free without a usable cache (first free on this thread, or a
 * pool beyond the cache slots), or in a debug build. */
__attribute__((noinline)) static int small_free_slow(struct strata_pool *pool, uintptr_t entry, void *p)
{
	unsigned cls = ST_PM_CLS(entry);
	uint32_t size = st_class_sizes[cls];
	struct st_tcache *tc = st_tls_tcache[pool->slot];
	struct st_tcache_bin *bin;
	uint32_t count;

#ifdef STRATA_DEBUG
	if (((uintptr_t)p - ST_PM_SPAN_PTR(entry)->base) % size || live_flip(pool, p, false))
		return -EINVAL; /* interior pointer, or freed twice */
#endif
	ST_OBJ_FREED(pool, p, size);
	if (!tc || tc->gen != pool->gen || !tc->pool)
		tc = st_tcache_get_slow(pool);
	if (!tc) {
		*(void **)p = NULL;
		pthread_mutex_lock(&pool->lock);
		st_central_give(pool, p, 1);
		pthread_mutex_unlock(&pool->lock);
		atomic_fetch_sub(&pool->small_retired, size);
		atomic_fetch_add(&pool->central_frees, 1);
		return 0;
	}
	bin = &tc->bins[cls];
	*(void **)p = bin->head;
	bin->head = p;
	count = bin_count(bin) + 1;
	bin_count_set(bin, count);
	tc_add(&bin->frees, 1);
	if (count > bin->max)
		st_tcache_flush(tc, cls, pool->classes[cls].batch);
	return 0;
}

static inline int small_free(struct strata_pool *pool, uintptr_t entry, void *p)
{
#ifndef STRATA_DEBUG
	struct st_tcache *tc = st_tls_tcache[pool->slot];

	if (likely(tc && tc->gen == pool->gen)) {
		unsigned cls = ST_PM_CLS(entry);
		struct st_tcache_bin *bin = &tc->bins[cls];
		uint32_t count = bin_count(bin) + 1;

		ST_OBJ_FREED(pool, p, st_class_sizes[cls]);
		*(void **)p = bin->head;
		bin->head = p;
		bin_count_set(bin, count);
		tc_add(&bin->frees, 1);
		if (unlikely(count > bin->max))
			st_tcache_flush(tc, cls, pool->classes[cls].batch);
		return 0;
	}
#endif
	return small_free_slow(pool, entry, p);
}

/* --- large blocks ---------------------------------------------------------- */

static int large_alloc(struct strata_pool *pool, size_t size, size_t align, uint32_t flags, void **out)
{
	struct st_block *b;
	bool zeroed;
	int err;

	if (size > ST_MAX_BLOCK)
		return -ENOMEM;
	size = (size + ST_PAGE - 1) & ~(ST_PAGE - 1);
	pthread_mutex_lock(&pool->lock);
	err = st_large_alloc(pool, size, align, &b, &zeroed);
	if (!err) {
		atomic_fetch_add(&pool->large_in_use, b->size);
		atomic_fetch_add(&pool->out_bytes, b->size);
		atomic_fetch_add(&pool->central_allocs, 1);
		peak_update(&pool->peak_out, atomic_load(&pool->out_bytes));
	}
	maybe_decay(pool);
	pthread_mutex_unlock(&pool->lock);
	if (err)
		return err;
	if (pool->provider.ops->host_accessible) {
		ST_UNPOISON((void *)b->addr, b->size);
		ST_VG_ALLOC(pool, (void *)b->addr, b->size);
	}
	if ((flags & STRATA_ALLOC_ZERO) && !zeroed)
		memset((void *)b->addr, 0, b->size);
	*out = (void *)b->addr;
	return 0;
}

static int large_free(struct strata_pool *pool, struct st_arena *a, void *p)
{
	struct st_block *b;

	uintptr_t e;

	pthread_mutex_lock(&pool->lock);
	/* Read again under the lock: meanwhile the memory may have been freed
	 * and carved into a span (a second free of a large block). */
	e = st_pagemap_get(a, (uintptr_t)p);
	b = (struct st_block *)e;
	if (!e || (e & ST_PM_SPAN) || b->addr != (uintptr_t)p || b->state != ST_BLOCK_USED) {
		pthread_mutex_unlock(&pool->lock);
		return -EINVAL; /* not a block start, or already free */
	}
	atomic_fetch_sub(&pool->large_in_use, b->size);
	atomic_fetch_sub(&pool->out_bytes, b->size);
	atomic_fetch_add(&pool->central_frees, 1);
	if (pool->provider.ops->host_accessible) {
		ST_POISON((void *)b->addr, b->size);
		ST_VG_FREE(pool, (void *)b->addr);
	}
	/* Decay first: once the block merges with older free neighbours, the
	 * merged block carries the newest timestamp and would wait again. */
	maybe_decay(pool);
	st_large_free(pool, b);
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

/* --- public entry points --------------------------------------------------- */

static int passthrough_alloc(struct strata_pool *pool, size_t size, size_t align, uint32_t flags, void **out)
{
	void *p;

	if (posix_memalign(&p, ST_MAX(align, 16), size))
		return -ENOMEM;
	if (flags & STRATA_ALLOC_ZERO)
		memset(p, 0, size);
	atomic_fetch_add(&pool->pt_in_use, malloc_usable_size(p));
	atomic_fetch_add(&pool->central_allocs, 1);
	*out = p;
	return 0;
}

/* Everything but a plain small request: validation, zeroing, alignment,
 * pass-through, large blocks. */
__attribute__((noinline)) static int alloc_general(struct strata_pool *pool, size_t size, size_t align,
						   uint32_t flags, void **out)
{
	void *p;
	int err;

	if (!pool || !out || !size || (flags & ~STRATA_ALLOC_ZERO) || (align & (align - 1)) ||
	    align > ST_MAX_ALIGN)
		return -EINVAL;
	if (pool->passthrough)
		return passthrough_alloc(pool, size, align, flags, out);
	if ((flags & STRATA_ALLOC_ZERO) && !pool->provider.ops->host_accessible)
		return -EINVAL;
	if (pool->small && size <= ST_SMALL_MAX && align <= 4096) {
		/* Power-of-two classes are aligned to their size. */
		size_t rounded = size;

		if (align > 16) {
			rounded = size > 1 ? (size_t)1 << (64 - __builtin_clzll(size - 1)) : 1;
			rounded = ST_MAX(rounded, align);
		}
		if (rounded <= ST_SMALL_MAX) {
			unsigned cls = st_size_class(rounded);

			err = small_alloc(pool, cls, &p);
			if (!err && (flags & STRATA_ALLOC_ZERO))
				memset(p, 0, st_class_sizes[cls]);
			if (!err)
				*out = p;
			return err;
		}
	}
	return large_alloc(pool, size, align, flags, out);
}

int strata_pool_alloc(struct strata_pool *pool, size_t size, size_t align, uint32_t flags, void **out)
{
	/* The common case inline: a small, plainly aligned block from this
	 * thread's cache.  size - 1 turns 0 into a huge value: slow path. */
	if (likely(pool && out && pool->small && size - 1 < ST_SMALL_MAX && align <= 16 && !(align & (align - 1)) &&
		   !flags))
		return small_alloc(pool, st_size_class(size), out);
	return alloc_general(pool, size, align, flags, out);
}

__attribute__((noinline)) static int free_general(struct strata_pool *pool, void *p)
{
	struct st_arena *a;
	uintptr_t e;

	if (!p)
		return 0;
	if (!pool)
		return -EINVAL;
	if (pool->passthrough) {
		atomic_fetch_sub(&pool->pt_in_use, malloc_usable_size(p));
		atomic_fetch_add(&pool->central_frees, 1);
		free(p);
		return 0;
	}
	a = st_arena_of(pool, (uintptr_t)p);
	if (!a)
		return -EINVAL; /* not this pool's memory */
	e = st_pagemap_get(a, (uintptr_t)p);
	if (e & ST_PM_SPAN)
		return small_free(pool, e, p);
	return large_free(pool, a, p);
}

int strata_pool_free(struct strata_pool *pool, void *p)
{
	struct st_arena *a;

	/* The newest arena holds most blocks: look there inline. */
	if (likely(pool && p && (a = atomic_load_explicit(&pool->arenas, memory_order_acquire)) &&
		   (uintptr_t)p - a->base < a->size)) {
		uintptr_t e = st_pagemap_get(a, (uintptr_t)p);

		if (likely(e & ST_PM_SPAN))
			return small_free(pool, e, p);
		return large_free(pool, a, p);
	}
	return free_general(pool, p);
}

int64_t strata_pool_usable_size(struct strata_pool *pool, const void *p)
{
	struct st_arena *a;
	struct st_block *b;
	uintptr_t e;
	int64_t size = -EINVAL;

	if (!pool || !p)
		return -EINVAL;
	if (pool->passthrough)
		return (int64_t)malloc_usable_size((void *)(uintptr_t)p);
	a = st_arena_of(pool, (uintptr_t)p);
	if (!a)
		return -EINVAL;
	e = st_pagemap_get(a, (uintptr_t)p);
	if (e & ST_PM_SPAN)
		return st_class_sizes[ST_PM_CLS(e)];
	pthread_mutex_lock(&pool->lock);
	b = (struct st_block *)e;
	if (b && b->addr == (uintptr_t)p && b->state == ST_BLOCK_USED)
		size = (int64_t)b->size;
	pthread_mutex_unlock(&pool->lock);
	return size;
}

int64_t strata_pool_trim(struct strata_pool *pool, uint64_t keep_bytes)
{
	uint64_t released;

	if (!pool)
		return -EINVAL;
	if (pool->passthrough)
		return 0;
	pthread_mutex_lock(&pool->lock);
	st_handoff_drain(pool);
	st_central_release_empty(pool);
	released = st_large_purge(pool, UINT64_MAX, keep_bytes, true);
	pthread_mutex_unlock(&pool->lock);
	return (int64_t)released;
}

uint64_t st_pool_pressure(struct strata_pool *pool, enum strata_pressure level)
{
	uint64_t released = 0, now;

	if (pool->passthrough || level == STRATA_PRESSURE_NORMAL)
		return 0;
	if (level == STRATA_PRESSURE_CRITICAL) {
		struct st_tcache *tc = st_tls_tcache[pool->slot];

		/* Other threads empty their caches at their next slow path; this
		 * thread's goes now, so its spans can be released below. */
		atomic_fetch_add(&pool->flush_epoch, 1);
		if (tc && tc->gen == pool->gen && tc->pool)
			st_tcache_honour_flush(tc);
	}
	pthread_mutex_lock(&pool->lock);
	if (level == STRATA_PRESSURE_CRITICAL) {
		st_handoff_drain(pool);
		st_central_release_empty(pool);
		released = st_large_purge(pool, UINT64_MAX, 0, true);
	} else {
		now = st_now_ms();
		released = st_large_purge(pool, now - ST_MIN(now, (uint64_t)pool->decay_ms / 10), 0, true);
	}
	pthread_mutex_unlock(&pool->lock);
	return released;
}

/* --- creation and destruction ------------------------------------------------ */

static void free_blocks(struct strata_pool *pool)
{
	struct st_arena *a;
	struct st_block *b, *prev;

	for (a = atomic_load(&pool->arenas); a; a = a->next) {
		for (b = a->last; b; b = prev) {
			prev = b->prev_phys;
			if (b->state == ST_BLOCK_SPAN) {
				struct st_span *s = ST_PM_SPAN_PTR(st_pagemap_get(a, b->addr));

				st_free((void *)(uintptr_t)s->live_bits);
				st_free(s);
			}
			st_free(b);
		}
	}
	while ((b = pool->spare_blocks)) {
		pool->spare_blocks = b->next_free;
		st_free(b);
	}
}

void strata_pool_destroy(struct strata_pool *pool)
{
	struct st_arena *a, *next;
	uint64_t reserved;

	if (!pool)
		return;
	st_tc_lock();
	if (pool->domain)
		st_domain_remove(pool->domain, pool);
	pthread_mutex_lock(&pool->lock);
	st_tcache_slot_release(pool);
	pthread_mutex_unlock(&pool->lock);
	st_tc_unlock();

	reserved = atomic_load(&pool->reserved);
	if (reserved)
		st_domain_uncharge(pool, reserved);
	free_blocks(pool);
	for (a = atomic_load(&pool->arenas); a; a = next) {
		next = a->next;
		st_arena_destroy(pool, a);
	}
	ST_VG_DESTROY(pool);
	if (pool->provider.ops && pool->provider.ops->destroy)
		pool->provider.ops->destroy(pool->provider.ctx);
	pthread_mutex_destroy(&pool->lock);
	st_free(pool);
}

static bool passthrough_env(void)
{
	const char *e = getenv("STRATA_MM_PASSTHROUGH");

	return e && *e && strcmp(e, "0") != 0;
}

int st_pool_create(struct st_domain *d, const struct st_pool_cfg *cfg, struct strata_pool **out)
{
	struct strata_pool *pool = st_calloc(1, sizeof(*pool));
	int err;

	if (!pool) {
		if (cfg->provider.ops && cfg->provider.ops->destroy)
			cfg->provider.ops->destroy(cfg->provider.ctx);
		return -ENOMEM;
	}
	st_fmt(pool->name, sizeof(pool->name), "%s", cfg->name ? cfg->name : "pool");
	pool->provider = cfg->provider;
	pool->flags = cfg->flags;
	pool->node = cfg->node;
	pool->device = cfg->device;
	pool->limit_bytes = cfg->limit_bytes;
	pool->grow_bytes = (size_t)ST_MAX((cfg->grow_bytes + ST_HUGE - 1) & ~(uint64_t)(ST_HUGE - 1), ST_HUGE);
	pool->decay_ms = cfg->decay_ms;
	pool->passthrough = passthrough_env() && cfg->provider.ops->host_accessible;
	pool->small = cfg->provider.ops->host_accessible && !(cfg->flags & STRATA_POOL_NO_SMALL) &&
		      !pool->passthrough;
	pool->last_decay_ms = st_now_ms();
	pool->slot = ST_TC_SLOTS;
	{
		pthread_mutexattr_t attr;

		/* Adaptive: spin briefly before sleeping, since the lock is held
		 * for batch moves that take a few hundred nanoseconds. */
		pthread_mutexattr_init(&attr);
		pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
		pthread_mutex_init(&pool->lock, &attr);
		pthread_mutexattr_destroy(&attr);
	}
	st_classes_init(pool);
	ST_VG_CREATE(pool);
	if (pool->small)
		st_tcache_slot_acquire(pool);
	if (d)
		st_domain_add(d, pool);
	if (!pool->passthrough) {
		struct st_arena *a;

		/* Reserve the address space now (it costs no memory), so that the
		 * first allocation pays only for the memory it gets; should this
		 * fail, the first growth tries again. */
		(void)st_arena_create(pool, ST_HUGE, &a);
	}
	if (cfg->prefill_bytes && !pool->passthrough) {
		void *p;

		/* Commit now, then leave it free and resident for later. */
		err = strata_pool_alloc(pool, cfg->prefill_bytes, 0, 0, &p);
		if (err)
			goto err_destroy;
		strata_pool_free(pool, p);
	}
	*out = pool;
	return 0;

err_destroy:
	strata_pool_destroy(pool);
	return err;
}
