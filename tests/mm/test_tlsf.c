/* SPDX-License-Identifier: MIT */
/* tests/mm/test_tlsf.c — the TLSF index: good fit, exact-bucket fallback,
 * bitmaps kept in step with the lists. */
#include <string.h>

#include "helpers.h"
#include "mm/mm_int.h"

static struct st_block blocks[64];

static struct st_block *blk(unsigned i, size_t pages)
{
	memset(&blocks[i], 0, sizeof(blocks[i]));
	blocks[i].addr = (uintptr_t)(i + 1) << 30;
	blocks[i].size = pages << ST_PAGE_SHIFT;
	return &blocks[i];
}

static void test_empty_index_finds_nothing(void **state)
{
	struct st_tlsf t;

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_null(st_tlsf_find(&t, ST_PAGE));
	assert_null(st_tlsf_find(&t, (size_t)1 << 40));
}

static void test_finds_a_block_that_fits(void **state)
{
	struct st_tlsf t;
	struct st_block *small = blk(0, 3), *mid = blk(1, 100), *big = blk(2, 5000), *b;

	(void)state;
	memset(&t, 0, sizeof(t));
	st_tlsf_insert(&t, small);
	st_tlsf_insert(&t, mid);
	st_tlsf_insert(&t, big);
	assert_ptr_equal(st_tlsf_find(&t, 2 * ST_PAGE), small);
	b = st_tlsf_find(&t, 50 * ST_PAGE);
	assert_ptr_equal(b, mid);
	b = st_tlsf_find(&t, 101 * ST_PAGE);
	assert_ptr_equal(b, big);
	assert_null(st_tlsf_find(&t, 5001 * ST_PAGE));
	st_tlsf_remove(&t, big);
	assert_null(st_tlsf_find(&t, 101 * ST_PAGE));
	st_tlsf_remove(&t, mid);
	st_tlsf_remove(&t, small);
	assert_true(t.fl_bitmap == 0);
}

/* Rounding up to the next list skips a block of exactly the right size in
 * the request's own list; the fallback scan must still find it. */
static void test_exact_size_in_own_list(void **state)
{
	struct st_tlsf t;
	struct st_block *b = blk(3, 1000);

	(void)state;
	memset(&t, 0, sizeof(t));
	st_tlsf_insert(&t, b);
	assert_ptr_equal(st_tlsf_find(&t, 1000 * ST_PAGE), b);
	assert_ptr_equal(st_tlsf_find(&t, 999 * ST_PAGE), b);
	assert_null(st_tlsf_find(&t, 1001 * ST_PAGE));
}

static void test_every_size_is_indexed_and_found(void **state)
{
	struct st_tlsf t;
	size_t pages;

	(void)state;
	memset(&t, 0, sizeof(t));
	for (pages = 1; pages < (1u << 20); pages = pages * 3 / 2 + 1) {
		struct st_block *b = blk(4, pages), *found;

		st_tlsf_insert(&t, b);
		found = st_tlsf_find(&t, pages << ST_PAGE_SHIFT);
		assert_ptr_equal(found, b);
		st_tlsf_remove(&t, b);
		assert_true(t.fl_bitmap == 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_index_finds_nothing),
		cmocka_unit_test(test_finds_a_block_that_fits),
		cmocka_unit_test(test_exact_size_in_own_list),
		cmocka_unit_test(test_every_size_is_indexed_and_found),
	};

	return RUN_TESTS(tests);
}
