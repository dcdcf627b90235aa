/* SPDX-License-Identifier: MIT */
/*
 * tests/mm/test_large.c — the large-block allocator under the pool lock:
 * splitting, coalescing in both directions, page-map entries following
 * block starts, 2 MiB-aligned purges that keep huge pages intact, and
 * purged memory coming back zeroed.  The test is single-threaded, so it
 * calls the allocator without the pool lock (a failed assertion would
 * otherwise leave it held for the next test).
 */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "mm/mm_int.h"

static struct strata_pool *pool;

static int setup(void **state)
{
	struct st_os_provider_cfg *cfg = calloc(1, sizeof(*cfg));
	struct st_pool_cfg pc = { .name = "large", .node = -1, .grow_bytes = 8 << 20,
				  .flags = STRATA_POOL_NO_SMALL };

	(void)state;
	if (!cfg || st_os_provider_create(cfg, &pc.provider))
		return -1;
	free(cfg);
	return st_pool_create(NULL, &pc, &pool);
}

static int teardown(void **state)
{
	(void)state;
	strata_pool_destroy(pool);
	return 0;
}

static struct st_block *take(size_t size, size_t align, bool *zeroed)
{
	struct st_block *b = NULL;
	bool z;

	assert_int_equal(st_large_alloc(pool, size, align, &b, zeroed ? zeroed : &z), 0);
	assert_int_equal(b->state, ST_BLOCK_USED);
	assert_ptr_equal((struct st_block *)st_pagemap_get(b->arena, b->addr), b);
	return b;
}

static void test_split_and_coalesce(void **state)
{
	struct st_block *a, *b, *c;
	uintptr_t a_addr, b_addr;

	(void)state;
	a = take(1 << 20, 0, NULL);
	b = take(1 << 20, 0, NULL);
	c = take(1 << 20, 0, NULL);
	a_addr = a->addr;
	b_addr = b->addr;
	assert_true(b->addr == a->addr + (1 << 20));
	assert_ptr_equal(a->next_phys, b);
	st_large_free(pool, b);
	st_large_free(pool, a); /* merges forward with b */
	a = (struct st_block *)st_pagemap_get(c->arena, a_addr);
	assert_int_equal(a->state, ST_BLOCK_FREE);
	assert_true(a->size == 2 << 20);
	assert_true(st_pagemap_get(c->arena, b_addr) == 0); /* b's start is gone */
	st_large_free(pool, c); /* merges backward and with the rest of the steps */
	a = (struct st_block *)st_pagemap_get(c->arena, a_addr);
	assert_true(a->addr == a->arena->base && a->size == a->arena->frontier);
	assert_null(a->prev_phys);
	assert_null(a->next_phys);
}

static void test_alignment_leaves_usable_lead(void **state)
{
	struct st_block *small, *aligned, *lead;

	(void)state;
	small = take(4096, 0, NULL);
	aligned = take(4096, 2 << 20, NULL);
	assert_true(aligned->addr % (2 << 20) == 0);
	/* The pages between the two went back to the free index. */
	lead = small->next_phys;
	assert_int_equal(lead->state, ST_BLOCK_FREE);
	assert_true(lead->addr + lead->size == aligned->addr);
	st_large_free(pool, aligned);
	st_large_free(pool, small);
}

static void test_purge_keeps_huge_page_edges(void **state)
{
	struct st_block *x, *p1, *p2, *p3;
	uintptr_t base;
	bool zeroed = false;

	(void)state;
	st_large_purge(pool, UINT64_MAX, 0, true); /* nothing committed and free */
	assert_true(atomic_load(&pool->committed_free) == 0);
	x = take(8 << 20, 2 << 20, NULL);
	base = x->addr;
	st_large_free(pool, x);
	/* Carve the free 8 MiB into 1 + 6 + 1 MiB, then free the middle: a
	 * free block from 1 to 7 MiB past a 2 MiB boundary. */
	p1 = take(1 << 20, 0, NULL);
	p2 = take(6 << 20, 0, NULL);
	p3 = take(1 << 20, 0, NULL);
	assert_true(p1->addr == base && p2->addr == base + (1 << 20) && p3->addr == base + (7 << 20));
	/* Growth for x may have left other free pieces: give them back first. */
	st_large_purge(pool, UINT64_MAX, 0, true);
	memset((void *)p2->addr, 1, 6 << 20);
	st_large_free(pool, p2);
	/* Decay purges only the 2 MiB-aligned middle (2-6 MiB)... */
	assert_true(st_large_purge(pool, UINT64_MAX, 0, false) == 4 << 20);
	assert_true(atomic_load(&pool->committed_free) == 2 << 20);
	/* ...trim and critical pressure purge the edges too. */
	assert_true(st_large_purge(pool, UINT64_MAX, 0, true) == 2 << 20);
	assert_true(atomic_load(&pool->committed_free) == 0);
	/* Purged memory is committed again on demand and reads as zero. */
	p2 = take(6 << 20, 0, &zeroed);
	assert_true(zeroed);
	assert_true(p2->addr == base + (1 << 20));
	assert_int_equal(((char *)p2->addr)[4096], 0);
	st_large_free(pool, p2);
	st_large_free(pool, p1);
	st_large_free(pool, p3);
}

static void test_keep_bytes_and_decay_cutoff(void **state)
{
	struct st_block *a, *b;
	uint64_t now;

	(void)state;
	st_large_purge(pool, UINT64_MAX, 0, true);
	a = take(4 << 20, 2 << 20, NULL);
	b = take(4 << 20, 2 << 20, NULL);
	st_large_free(pool, a);
	now = st_now_ms();
	/* Freed now: a cutoff in the past leaves it alone... */
	assert_true(st_large_purge(pool, now - 1000, 0, false) == 0);
	/* ...and keep_bytes stops the purge early. */
	assert_true(st_large_purge(pool, UINT64_MAX, 4 << 20, true) == 0);
	assert_true(st_large_purge(pool, UINT64_MAX, 0, true) == 4 << 20);
	st_large_free(pool, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_and_coalesce),
		cmocka_unit_test(test_alignment_leaves_usable_lead),
		cmocka_unit_test(test_purge_keeps_huge_page_edges),
		cmocka_unit_test(test_keep_bytes_and_decay_cutoff),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, setup, teardown);
}
