/* SPDX-License-Identifier: MIT */
/*
 * mm/mm_int.h — the memory manager's internal structures.
 *
 *   domain   one per runtime: limits per node and global, the list of pools,
 *            fork handling.
 *   pool     one placement: a provider, arenas of reserved address space,
 *            a TLSF index of free blocks, size classes for small objects.
 *   arena    one reservation; committed from its start up to a frontier,
 *            with a page map from each 4 KiB page to the block or span
 *            that starts there (metadata never lives in the managed
 *            memory, so device memory works the same way).
 *   block    a run of pages: free (committed or purged), used by a caller,
 *            or carved into a span of small objects.
 *   tcache   a thread's free lists per size class, per pool: small
 *            allocation and free without locks.
 */
#ifndef STRATA_MM_INT_H
#define STRATA_MM_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <strata/mm.h>

#include "base/base.h"
#include "mm/provider.h"

#define ST_PAGE_SHIFT 12
#define ST_PAGE ((size_t)1 << ST_PAGE_SHIFT)
#define ST_HUGE ((size_t)2 << 20)
#define ST_MAX_ALIGN ST_HUGE
/* The largest block a pool hands out (64 TiB): beyond the TLSF index and
 * any machine's memory; larger requests fail with -ENOMEM. */
#define ST_MAX_BLOCK ((size_t)1 << 46)

/* Small objects: 40 size classes from 16 B to 32 KiB. */
#define ST_SMALL_MAX 32768u
#define ST_NCLASSES 40
#define ST_SPAN_MIN (64u << 10)

/* TLSF: first level = log2 of the size in pages, 16 linear second levels. */
#define ST_TLSF_SL_LOG2 4
#define ST_TLSF_SL (1u << ST_TLSF_SL_LOG2)
#define ST_TLSF_FL 40

/* Thread caches exist for this many pools at a time; more pools work,
 * locked.  Slots are recycled as pools come and go. */
#define ST_TC_SLOTS 64

enum st_block_state {
	ST_BLOCK_FREE = 1, /* committed, in the committed index */
	ST_BLOCK_PURGED = 2, /* free and decommitted, in the purged index */
	ST_BLOCK_USED = 3, /* held by a caller */
	ST_BLOCK_SPAN = 4, /* carved into small objects */
};

struct st_arena;

struct st_block {
	uintptr_t addr;
	size_t size;
	struct st_arena *arena;
	struct st_block *prev_phys, *next_phys; /* address order within the arena */
	struct st_block *prev_free, *next_free; /* TLSF list */
	struct st_block *lru_prev, *lru_next; /* committed free blocks, oldest first */
	uint64_t freed_at_ms;
	enum st_block_state state;
};

struct st_tlsf {
	uint64_t fl_bitmap;
	uint32_t sl_bitmap[ST_TLSF_FL];
	struct st_block *heads[ST_TLSF_FL][ST_TLSF_SL];
};

struct st_span {
	struct st_block *block;
	uintptr_t base;
	uint32_t obj_size;
	uint16_t cls;
	uint32_t capacity; /* objects */
	uint32_t used; /* objects outside the span's free list */
	uint32_t carved; /* objects handed out at least once (bump) */
	void *free; /* objects returned to the span, linked in-band */
	struct st_span *prev, *next; /* the class's partial list */
	_Atomic uint64_t *live_bits; /* debug builds: one bit per object held by a caller */
};

/* Page-map entries tag spans in bit 0 and carry the span's size class in
 * bits 57-62 (above any user-space address, 5-level paging included), so
 * a small free learns its class without touching the span. */
#define ST_PM_SPAN 1u
#define ST_PM_CLS_SHIFT 57
#define ST_PM_ENTRY(span, cls) ((uintptr_t)(span) | ((uintptr_t)(cls) << ST_PM_CLS_SHIFT) | ST_PM_SPAN)
#define ST_PM_SPAN_PTR(e) ((struct st_span *)((e) & (((uintptr_t)1 << ST_PM_CLS_SHIFT) - 1) & ~(uintptr_t)ST_PM_SPAN))
#define ST_PM_CLS(e) ((unsigned)((e) >> ST_PM_CLS_SHIFT) & 63u)

struct st_arena {
	uintptr_t base;
	size_t size; /* reserved */
	size_t frontier; /* bytes from base ever committed */
	struct st_block *last; /* the block that ends at the frontier */
	_Atomic uintptr_t *pagemap; /* one entry per page: block or span start */
	size_t pagemap_bytes;
	struct st_arena *next;
};

struct st_class {
	uint32_t size;
	uint32_t span_bytes;
	uint32_t batch; /* objects moved between central and a thread cache */
	struct st_span *partial; /* spans with free objects */
	struct st_span *empty; /* one fully free span kept to avoid thrash */
	/* Objects flushed by one thread's cache for another to take, without
	 * the pool lock: pushed as chains, taken all at once (no ABA). */
	_Atomic(void *) handoff;
	_Atomic uint32_t handoff_count;
};

/* One size class of a thread cache.  The owner writes; stats read the
 * counters (relaxed atomics, plain moves on x86) to add up bytes in use
 * (size * (allocs - frees)) and cached (size * count). */
struct st_tcache_bin {
	void *head;
	_Atomic uint32_t count;
	uint32_t max; /* flush above this */
	_Atomic uint64_t allocs, frees;
};

struct strata_pool;

struct st_tcache {
	struct strata_pool *pool; /* NULL once the pool is gone */
	uint64_t gen;
	struct st_tcache_bin bins[ST_NCLASSES];
	struct st_tcache *pool_prev, *pool_next; /* the pool's list */
	uint64_t seen_epoch; /* the pool's flush_epoch when this cache last emptied */
};

struct st_domain;

struct strata_pool {
	struct st_domain *domain;
	char name[48];
	struct st_mm_provider provider;
	uint32_t flags;
	int node; /* accounting node index, -1 when none */
	int device; /* device index for device pools, -1 for host pools */
	bool small; /* size classes in use */
	bool passthrough; /* STRATA_MM_PASSTHROUGH */
	size_t grow_bytes;
	uint64_t limit_bytes;
	uint32_t decay_ms;
	unsigned slot; /* thread-cache slot, ST_TC_SLOTS when none */
	uint64_t gen;

	/* Read without the lock by free(): published with release. */
	_Atomic(struct st_arena *) arenas;

	pthread_mutex_t lock; /* everything below */
	struct st_tlsf committed, purged;
	struct st_block *lru_head, *lru_tail;
	struct st_block *spare_blocks; /* recycled descriptors */
	struct st_class classes[ST_NCLASSES];
	struct st_tcache *tcaches;
	uint64_t last_decay_ms;
	/* Bumped by critical pressure: every thread cache empties itself into
	 * the pool at its next slow path (no thread can empty another's). */
	_Atomic uint64_t flush_epoch;
	double coverage; /* huge-page coverage, refreshed at most once a second */
	uint64_t coverage_at_ms;

	/* Counters: atomics so stats can read them without the lock. */
	_Atomic uint64_t reserved, peak_reserved, out_bytes, peak_out;
	_Atomic uint64_t large_in_use; /* bytes of USED blocks */
	_Atomic int64_t small_retired; /* bytes_out - bytes_in of drained caches */
	_Atomic uint64_t central_allocs, central_frees; /* large + drained caches */
	_Atomic uint64_t fallbacks, fallback_bytes, purged_total, commits;
	_Atomic uint64_t committed_free; /* bytes in the committed index */
	_Atomic uint64_t pt_in_use; /* passthrough */

	struct strata_pool *next; /* the domain's list */
};

struct st_domain {
	pthread_mutex_t lock; /* the pool list and slot table */
	struct strata_pool *pools;
	unsigned nodes;
	_Atomic uint64_t *node_reserved; /* per node index */
	_Atomic uint64_t *node_limit; /* 0: none */
	_Atomic uint64_t global_reserved;
	_Atomic uint64_t global_limit;
	struct st_domain *next_domain; /* the process-wide list, for fork */
};

/* Call @fn for every pool of every runtime in the process, under the
 * domain locks (domain.c). */
void st_domains_foreach_pool(void (*fn)(struct strata_pool *pool, void *ctx), void *ctx);
/* Register the pools' metrics collector, once per process (metrics.c). */
void st_mm_metrics_init(void);

/* --- tlsf.c -------------------------------------------------------------- */
void st_tlsf_insert(struct st_tlsf *t, struct st_block *b);
void st_tlsf_remove(struct st_tlsf *t, struct st_block *b);
/* A free block of at least @size bytes (good fit, O(1)); NULL when none. */
struct st_block *st_tlsf_find(struct st_tlsf *t, size_t size);

/* --- arena.c ------------------------------------------------------------- */
int st_arena_create(struct strata_pool *pool, size_t min_bytes, struct st_arena **out);
void st_arena_destroy(struct strata_pool *pool, struct st_arena *a);
struct st_arena *st_arena_of(struct strata_pool *pool, uintptr_t addr);
static inline uintptr_t st_pagemap_get(const struct st_arena *a, uintptr_t addr)
{
	return atomic_load_explicit(&a->pagemap[(addr - a->base) >> ST_PAGE_SHIFT], memory_order_acquire);
}
void st_pagemap_set(struct st_arena *a, uintptr_t addr, size_t bytes, uintptr_t value, bool every_page);

/* --- large.c (pool lock held) -------------------------------------------- */
struct st_block *st_block_new(struct strata_pool *pool);
void st_block_recycle(struct strata_pool *pool, struct st_block *b);
/* A USED block of @size bytes (multiple of a page) aligned to @align;
 * *@zeroed tells whether its memory is known to be zero. */
int st_large_alloc(struct strata_pool *pool, size_t size, size_t align, struct st_block **out, bool *zeroed);
/* Return a USED or SPAN block; coalesces. */
void st_large_free(struct strata_pool *pool, struct st_block *b);
/* Give back committed free memory: blocks freed at or before @cutoff_ms
 * (UINT64_MAX: all), oldest first, until at most @keep bytes stay
 * committed; only 2 MiB-aligned parts unless @whole (huge pages stay
 * intact).  Returns the bytes decommitted. */
uint64_t st_large_purge(struct strata_pool *pool, uint64_t cutoff_ms, uint64_t keep, bool whole);

/* --- small.c ------------------------------------------------------------- */
void st_classes_init(struct strata_pool *pool);

/* The class of @size (1..ST_SMALL_MAX): 16-byte steps to 128, then four
 * classes per power of two.  Inline: it is on every small allocation. */
static inline unsigned st_size_class(size_t size)
{
	unsigned l, step;

	if (size <= 128)
		return size ? (unsigned)((size - 1) >> 4) : 0;
	l = 63u - (unsigned)__builtin_clzll(size - 1); /* size - 1 in [2^l, 2^(l+1)) */
	step = (unsigned)((size - 1) >> (l - 2)) & 3;
	return 8 + (l - 7) * 4 + step;
}
/* Move up to @max objects of @cls into a list; returns how many (0: -ENOMEM). */
unsigned st_central_take(struct strata_pool *pool, unsigned cls, unsigned max, void **head);
/* Return a list of @n objects of one class to their spans. */
void st_central_give(struct strata_pool *pool, void *head, unsigned n);
/* Return fully free spans' memory to the large allocator. */
void st_central_release_empty(struct strata_pool *pool);
extern const uint32_t st_class_sizes[ST_NCLASSES];

/* --- tcache.c ------------------------------------------------------------ */
int st_tcache_slot_acquire(struct strata_pool *pool);
/* Detach the pool's caches and free its slot (tc lock and pool lock held). */
void st_tcache_slot_release(struct strata_pool *pool);
void st_tc_lock(void);
void st_tc_unlock(void);
/* Empty @tc into its pool if critical pressure asked since it last did. */
void st_tcache_honour_flush(struct st_tcache *tc);
/* Forked child: return the objects of other (now absent) threads' caches. */
void st_tcache_adopt_orphans(struct strata_pool *pool);
struct st_tcache *st_tcache_get_slow(struct strata_pool *pool);
void st_tcache_flush(struct st_tcache *tc, unsigned cls, unsigned keep);
/* Take the class's hand-off chain (NULL when empty); *@n gets its length. */
void *st_handoff_take(struct st_class *c, unsigned *n);
/* Give every class's hand-off chain back to the spans (pool lock held). */
void st_handoff_drain(struct strata_pool *pool);
/* One more entry than slots, always NULL: pools without a slot index it
 * and take the slow path, without a separate bounds check. */
extern __thread struct st_tcache *st_tls_tcache[ST_TC_SLOTS + 1];

/* Charge @bytes of new commitment to the pool, its node and the domain;
 * -ENOMEM when a limit would be exceeded. */
int st_domain_charge(struct strata_pool *pool, uint64_t bytes);
void st_domain_uncharge(struct strata_pool *pool, uint64_t bytes);

/* --- pool.c -------------------------------------------------------------- */
struct st_pool_cfg {
	const char *name;
	uint32_t flags;
	int node; /* accounting node index, -1 when none */
	int device; /* device index, -1 for host memory */
	uint64_t limit_bytes, grow_bytes, prefill_bytes;
	uint32_t decay_ms;
	struct st_mm_provider provider; /* owned by the pool from now on, even on failure */
};

int st_pool_create(struct st_domain *d, const struct st_pool_cfg *cfg, struct strata_pool **out);
/* Release cached memory per @level; returns bytes released. */
uint64_t st_pool_pressure(struct strata_pool *pool, enum strata_pressure level);
/* Fill @out (pool lock taken inside). */
void st_pool_collect_stats(struct strata_pool *pool, struct strata_pool_stats *out);

/* --- domain.c ------------------------------------------------------------ */
int st_domain_create(unsigned nodes, struct st_domain **out);
void st_domain_destroy(struct st_domain *d);
void st_domain_add(struct st_domain *d, struct strata_pool *pool);
void st_domain_remove(struct st_domain *d, struct strata_pool *pool);
int64_t st_domain_pressure(struct st_domain *d, enum strata_pressure level);
/* Sum the stats of the pools on node @node (>= 0), or else of device
 * @device.  -ENOENT for a node the domain does not have. */
int st_domain_sum_stats(struct st_domain *d, int node, int device, struct strata_pool_stats *out);
int st_domain_set_limit(struct st_domain *d, int node, uint64_t bytes);

/* --- commit.c (pool lock held) ------------------------------------------- */
/* Commit [addr, addr + bytes) through the provider with accounting. */
int st_pool_commit(struct strata_pool *pool, uintptr_t addr, size_t bytes);
/* Give [addr, addr + bytes) back; on failure nothing is accounted as
 * released and the memory stays as it was. */
int st_pool_decommit(struct strata_pool *pool, uintptr_t addr, size_t bytes);

uint64_t st_now_ms(void);

/* --- sanitizer and Valgrind annotations (mm/annotate.h) ------------------ */
#include "mm/annotate.h"

#endif /* STRATA_MM_INT_H */
