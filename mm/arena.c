/* SPDX-License-Identifier: MIT */
/*
 * mm/arena.c — a pool's reservations of address space and their page maps.
 *
 * An arena reserves a large range once (64 GiB by default: address space
 * is free, and less where a limit says otherwise) and commits it from the start as the pool grows, so new memory
 * always lies next to the old and free blocks merge across growth steps
 * (pools that map each step separately fragment for good).  The page map
 * holds one word per 4 KiB page, naming the block or span that starts there
 * (spans on every page): a free() finds its metadata in one load, without
 * touching the managed memory.  The map is reserved with MAP_NORESERVE, so
 * only the parts in use cost memory.
 */
#include <errno.h>
#include <sys/mman.h>

#include "mm/mm_int.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define DEFAULT_ARENA (64ULL << 30)

int st_arena_create(struct strata_pool *pool, size_t min_bytes, struct st_arena **out)
{
	struct st_arena *a;
	size_t size = DEFAULT_ARENA;
	void *base, *map;
	int err;

	/* A limited pool never needs more than its limit. */
	if (pool->limit_bytes && pool->limit_bytes < size)
		size = (size_t)pool->limit_bytes;
	size = ST_MAX(size, min_bytes);
	size = (size + ST_HUGE - 1) & ~(ST_HUGE - 1);
	a = st_calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	/* Address space can be scarce (RLIMIT_AS gives ENOMEM, Valgrind
	 * EINVAL): halve the reservation until it fits or is too small. */
	while ((err = pool->provider.ops->reserve(pool->provider.ctx, size, ST_HUGE, &base)) &&
	       size / 2 >= ST_MAX(min_bytes, (size_t)ST_HUGE))
		size = (size / 2 + ST_HUGE - 1) & ~(ST_HUGE - 1);
	if (err)
		goto err_free;
	a->pagemap_bytes = (size >> ST_PAGE_SHIFT) * sizeof(uintptr_t);
	map = mmap(NULL, a->pagemap_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
		   0);
	if (map == MAP_FAILED) {
		err = -ENOMEM;
		goto err_release;
	}
	/* The first page of the map now, so that the first allocation does
	 * not take a page fault for its bookkeeping. */
	madvise(map, ST_PAGE, MADV_POPULATE_WRITE);
	a->base = (uintptr_t)base;
	a->size = size;
	a->pagemap = map;
	a->next = atomic_load_explicit(&pool->arenas, memory_order_relaxed);
	atomic_store_explicit(&pool->arenas, a, memory_order_release);
	*out = a;
	return 0;

err_release:
	pool->provider.ops->release(pool->provider.ctx, base, size);
err_free:
	st_free(a);
	return err;
}

void st_arena_destroy(struct strata_pool *pool, struct st_arena *a)
{
	munmap((void *)(uintptr_t)a->pagemap, a->pagemap_bytes);
	pool->provider.ops->release(pool->provider.ctx, (void *)a->base, a->size);
	st_free(a);
}

struct st_arena *st_arena_of(struct strata_pool *pool, uintptr_t addr)
{
	struct st_arena *a;

	/* The reserved range, not the frontier: it never changes, so no lock
	 * is needed; pages past the frontier have no page-map entries. */
	for (a = atomic_load_explicit(&pool->arenas, memory_order_acquire); a; a = a->next)
		if (addr >= a->base && addr < a->base + a->size)
			return a;
	return NULL;
}

void st_pagemap_set(struct st_arena *a, uintptr_t addr, size_t bytes, uintptr_t value, bool every_page)
{
	size_t first = (addr - a->base) >> ST_PAGE_SHIFT, n = every_page ? bytes >> ST_PAGE_SHIFT : 1, i;

	/* Release: a thread that learns of the block through the pointer
	 * handed out later sees the entry. */
	for (i = 0; i < n; i++)
		atomic_store_explicit(&a->pagemap[first + i], value, memory_order_release);
}
