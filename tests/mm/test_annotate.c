/* SPDX-License-Identifier: MIT */
/*
 * tests/mm/test_annotate.c — free pool memory is off limits to the tools
 * that look for memory errors: AddressSanitizer sees freed blocks poisoned
 * (SANITIZE=1 builds), and Valgrind reports a write to a freed block
 * (tests/mm/valgrind_uaf.sh, DEBUG builds).
 */
#include <string.h>

#include "helpers.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

static void test_freed_blocks_are_poisoned(void **state)
{
#if defined(__SANITIZE_ADDRESS__)
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF);
	struct strata_rt *rt;
	struct strata_pool *pool;
	char *small, *big;

	(void)state;
	assert_int_equal(strata_rt_create(&opts, &rt), 0);
	assert_int_equal(strata_pool_create(rt, NULL, &pool), 0);
	assert_int_equal(strata_pool_alloc(pool, 256, 0, 0, (void **)&small), 0);
	assert_int_equal(strata_pool_alloc(pool, 1 << 20, 0, 0, (void **)&big), 0);
	assert_false(__asan_address_is_poisoned(small + 100));
	assert_false(__asan_address_is_poisoned(big + 100000));
	memset(small, 1, 256);
	memset(big, 1, 1 << 20);
	assert_int_equal(strata_pool_free(pool, small), 0);
	assert_int_equal(strata_pool_free(pool, big), 0);
	/* All but a small object's link word. */
	assert_true(__asan_address_is_poisoned(small + 100));
	assert_true(__asan_address_is_poisoned(big + 100000));
	assert_true(__asan_address_is_poisoned(big));
	/* Handed out again: usable again. */
	assert_int_equal(strata_pool_alloc(pool, 256, 0, 0, (void **)&small), 0);
	assert_false(__asan_address_is_poisoned(small + 100));
	strata_pool_free(pool, small);
	strata_pool_destroy(pool);
	strata_rt_destroy(rt);
#else
	(void)state;
	TEST_SKIP("not an AddressSanitizer build; CI runs this test in its SANITIZE=1 pass");
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_freed_blocks_are_poisoned),
	};

	return RUN_TESTS(tests);
}
