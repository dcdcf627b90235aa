/* SPDX-License-Identifier: MIT */
/*
 * mm/large.c — large blocks: good-fit allocation over committed free
 * blocks, then purged ones, then growth at the arena's frontier; immediate
 * coalescing on free; decay and trim that give memory back.
 *
 * Free blocks are either committed (resident, reusable at no cost) or
 * purged (decommitted; reuse commits them again).  Each kind has its own
 * TLSF index and only neighbours of the same kind merge, so a reused block
 * never mixes resident and non-resident pages.  All functions here run
 * with the pool lock held.
 */
#include <errno.h>
#include <time.h>

#include "mm/mm_int.h"

uint64_t st_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct st_block *st_block_new(struct strata_pool *pool)
{
	struct st_block *b = pool->spare_blocks;

	if (b) {
		pool->spare_blocks = b->next_free;
		*b = (struct st_block){ 0 };
		return b;
	}
	return st_calloc(1, sizeof(*b));
}

void st_block_recycle(struct strata_pool *pool, struct st_block *b)
{
	b->next_free = pool->spare_blocks;
	pool->spare_blocks = b;
}

static void lru_unlink(struct strata_pool *pool, struct st_block *b)
{
	if (b->lru_prev)
		b->lru_prev->lru_next = b->lru_next;
	else
		pool->lru_head = b->lru_next;
	if (b->lru_next)
		b->lru_next->lru_prev = b->lru_prev;
	else
		pool->lru_tail = b->lru_prev;
	b->lru_prev = b->lru_next = NULL;
}

/* Insert @b into the LRU before @next (NULL: at the tail). */
static void lru_insert_before(struct strata_pool *pool, struct st_block *b, struct st_block *next)
{
	b->lru_next = next;
	b->lru_prev = next ? next->lru_prev : pool->lru_tail;
	if (b->lru_prev)
		b->lru_prev->lru_next = b;
	else
		pool->lru_head = b;
	if (next)
		next->lru_prev = b;
	else
		pool->lru_tail = b;
}

/* Index a free block (FREE or PURGED) by its state. */
static void index_insert(struct strata_pool *pool, struct st_block *b, struct st_block *lru_next)
{
	if (b->state == ST_BLOCK_FREE) {
		st_tlsf_insert(&pool->committed, b);
		lru_insert_before(pool, b, lru_next);
		atomic_fetch_add_explicit(&pool->committed_free, b->size, memory_order_relaxed);
	} else {
		st_tlsf_insert(&pool->purged, b);
	}
}

static void index_remove(struct strata_pool *pool, struct st_block *b)
{
	if (b->state == ST_BLOCK_FREE) {
		st_tlsf_remove(&pool->committed, b);
		lru_unlink(pool, b);
		atomic_fetch_sub_explicit(&pool->committed_free, b->size, memory_order_relaxed);
	} else {
		st_tlsf_remove(&pool->purged, b);
	}
}

/* Split @b at @offset: @b keeps the front, the new block (returned) the
 * rest, in the same state.  NULL when out of descriptors. */
static struct st_block *split(struct strata_pool *pool, struct st_block *b, size_t offset)
{
	struct st_block *rest = st_block_new(pool);

	if (!rest)
		return NULL;
	rest->addr = b->addr + offset;
	rest->size = b->size - offset;
	rest->arena = b->arena;
	rest->state = b->state;
	rest->freed_at_ms = b->freed_at_ms;
	rest->prev_phys = b;
	rest->next_phys = b->next_phys;
	if (b->next_phys)
		b->next_phys->prev_phys = rest;
	else
		b->arena->last = rest;
	b->next_phys = rest;
	b->size = offset;
	st_pagemap_set(b->arena, rest->addr, 0, (uintptr_t)rest, false);
	return rest;
}

/* Merge @next into @b (adjacent, same state, both out of the indexes). */
static void absorb(struct strata_pool *pool, struct st_block *b, struct st_block *next)
{
	b->size += next->size;
	b->next_phys = next->next_phys;
	if (next->next_phys)
		next->next_phys->prev_phys = b;
	else
		b->arena->last = b;
	if (next->freed_at_ms > b->freed_at_ms)
		b->freed_at_ms = next->freed_at_ms;
	st_pagemap_set(b->arena, next->addr, 0, 0, false);
	st_block_recycle(pool, next);
}

/* Put a free block into its index, merging with free neighbours of the
 * same state first. */
static void release_block(struct strata_pool *pool, struct st_block *b, struct st_block *lru_next)
{
	struct st_block *n;

	n = b->prev_phys;
	if (n && n->state == b->state) {
		if (lru_next == n)
			lru_next = n->lru_next;
		index_remove(pool, n);
		absorb(pool, n, b);
		b = n;
	}
	n = b->next_phys;
	if (n && n->state == b->state) {
		if (lru_next == n)
			lru_next = n->lru_next;
		index_remove(pool, n);
		absorb(pool, b, n);
	}
	index_insert(pool, b, b->state == ST_BLOCK_FREE ? lru_next : NULL);
}

/* Carve [b->addr + lead, + size) out of free block @b (removed from its
 * index) and mark it USED; the pieces before and after go back.  *@was
 * receives the state the memory was in (FREE or PURGED). */
static int carve(struct strata_pool *pool, struct st_block *b, size_t lead, size_t size, struct st_block **out,
		 enum st_block_state *was)
{
	struct st_block *mid = b, *tail = NULL;

	*was = b->state;
	if (lead) {
		mid = split(pool, b, lead);
		if (!mid)
			return -ENOMEM;
	}
	if (mid->size > size)
		tail = split(pool, mid, size); /* on failure keep the slack */
	/* Taken before the neighbours go back, so they cannot merge into it. */
	mid->state = ST_BLOCK_USED;
	if (lead)
		release_block(pool, b, NULL);
	if (tail)
		release_block(pool, tail, NULL);
	*out = mid;
	return 0;
}

static size_t lead_for(uintptr_t addr, size_t align)
{
	return (size_t)(((addr + align - 1) & ~(uintptr_t)(align - 1)) - addr);
}

/* Take a block of @size at @align from @index, or NULL. */
static struct st_block *take_from(struct strata_pool *pool, struct st_tlsf *index, size_t size, size_t align)
{
	size_t slack = align > ST_PAGE ? align - ST_PAGE : 0;
	struct st_block *b = st_tlsf_find(index, size + slack);

	if (!b) {
		/* The good fit looked for room for any alignment; an exactly
		 * aligned block may still be there. */
		b = slack ? st_tlsf_find(index, size) : NULL;
		if (!b || b->size < size + lead_for(b->addr, align))
			return NULL;
	}
	index_remove(pool, b);
	return b;
}

/* Commit the next step of an arena as a FREE block and index it. */
static int grow(struct strata_pool *pool, size_t need)
{
	struct st_arena *a = atomic_load_explicit(&pool->arenas, memory_order_relaxed);
	struct st_block *b;
	size_t step;
	int err;

	/* Geometric growth up to grow_bytes: a young pool commits (and
	 * populates) only about what it holds, a grown one big steps. */
	step = (size_t)ST_MIN((uint64_t)pool->grow_bytes,
			      ST_MAX(atomic_load_explicit(&pool->reserved, memory_order_relaxed), (uint64_t)ST_HUGE));
	step = ST_MAX(step, need);
	if (step > ST_MAX_BLOCK + ST_MAX_ALIGN)
		return -ENOMEM;
	step = (step + ST_HUGE - 1) & ~(ST_HUGE - 1);
	if (pool->limit_bytes) {
		uint64_t used = atomic_load_explicit(&pool->reserved, memory_order_relaxed);
		uint64_t room = pool->limit_bytes > used ? pool->limit_bytes - used : 0;

		if (room < need)
			return -ENOMEM;
		step = (size_t)ST_MIN((uint64_t)step, room) & ~(ST_PAGE - 1);
	}
	if (!a || a->size - a->frontier < step) {
		err = st_arena_create(pool, step, &a);
		if (err)
			return err;
	}
	b = st_block_new(pool);
	if (!b)
		return -ENOMEM;
	err = st_pool_commit(pool, a->base + a->frontier, step);
	if (err) {
		st_block_recycle(pool, b);
		return err;
	}
	b->addr = a->base + a->frontier;
	b->size = step;
	b->arena = a;
	b->state = ST_BLOCK_FREE;
	b->freed_at_ms = st_now_ms();
	b->prev_phys = a->last;
	if (a->last)
		a->last->next_phys = b;
	a->last = b;
	a->frontier += step;
	st_pagemap_set(a, b->addr, 0, (uintptr_t)b, false);
	release_block(pool, b, NULL);
	return 0;
}

int st_large_alloc(struct strata_pool *pool, size_t size, size_t align, struct st_block **out, bool *zeroed)
{
	enum st_block_state was;
	struct st_block *b;
	size_t lead;
	int err;

	align = ST_MAX(align, ST_PAGE);
	*zeroed = false;
	b = take_from(pool, &pool->committed, size, align);
	if (!b) {
		b = take_from(pool, &pool->purged, size, align);
		if (!b) {
			err = grow(pool, size + (align > ST_PAGE ? align - ST_PAGE : 0));
			if (err)
				return err;
			b = take_from(pool, &pool->committed, size, align);
			if (!b)
				return -ENOMEM;
		}
	}
	lead = lead_for(b->addr, align);
	err = carve(pool, b, lead, size, &b, &was);
	if (err) {
		release_block(pool, b, NULL);
		return err;
	}
	if (was == ST_BLOCK_PURGED) {
		err = st_pool_commit(pool, b->addr, b->size);
		if (err) {
			b->state = ST_BLOCK_PURGED;
			release_block(pool, b, NULL);
			return err;
		}
		*zeroed = true; /* decommitted pages come back as zeros */
	}
	*out = b;
	return 0;
}

void st_large_free(struct strata_pool *pool, struct st_block *b)
{
	b->state = ST_BLOCK_FREE;
	b->freed_at_ms = st_now_ms();
	release_block(pool, b, NULL);
}

/* Decommit the part of free block @b that may go (the 2 MiB-aligned middle,
 * or all of it when @whole), leaving committed edges as FREE blocks placed
 * in the LRU before @lru_next.  Returns the bytes decommitted. */
static uint64_t purge_block(struct strata_pool *pool, struct st_block *b, bool whole, struct st_block *lru_next)
{
	uintptr_t lo = b->addr, hi = b->addr + b->size;
	struct st_block *mid = b, *tail = NULL;
	size_t size;

	if (!whole) {
		lo = (lo + ST_HUGE - 1) & ~(uintptr_t)(ST_HUGE - 1);
		hi &= ~(uintptr_t)(ST_HUGE - 1);
		if (hi <= lo) {
			index_insert(pool, b, lru_next);
			return 0;
		}
	}
	if (lo > b->addr) {
		mid = split(pool, b, lo - b->addr);
		if (!mid) {
			index_insert(pool, b, lru_next);
			return 0;
		}
		index_insert(pool, b, lru_next);
	}
	if (hi < mid->addr + mid->size) {
		tail = split(pool, mid, hi - mid->addr);
		if (tail)
			index_insert(pool, tail, lru_next);
	}
	size = mid->size;
	if (st_pool_decommit(pool, mid->addr, size)) {
		/* Still committed: back to the free index, merged with its edges. */
		release_block(pool, mid, lru_next);
		return 0;
	}
	mid->state = ST_BLOCK_PURGED;
	release_block(pool, mid, NULL);
	return size;
}

uint64_t st_large_purge(struct strata_pool *pool, uint64_t cutoff_ms, uint64_t keep, bool whole)
{
	struct st_block *b = pool->lru_head, *next;
	uint64_t released = 0;

	/* hugetlb memory can only be given back in whole huge pages. */
	if (pool->flags & STRATA_POOL_HUGETLB)
		whole = false;

	while (b && b->freed_at_ms <= cutoff_ms &&
	       atomic_load_explicit(&pool->committed_free, memory_order_relaxed) > keep) {
		next = b->lru_next;
		index_remove(pool, b);
		released += purge_block(pool, b, whole, next);
		b = next;
	}
	atomic_fetch_add_explicit(&pool->purged_total, released, memory_order_relaxed);
	return released;
}
