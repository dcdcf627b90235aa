/* SPDX-License-Identifier: MIT */
/* tests/base/test_alloc.c — the bookkeeping allocator and its hooks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "helpers.h"

static void test_default_hooks_allocate(void **state)
{
	char *s = st_strdup("strata");
	int *z = st_calloc(16, sizeof(int));
	int i;

	(void)state;
	assert_non_null(s);
	assert_string_equal(s, "strata");
	assert_non_null(z);
	for (i = 0; i < 16; i++)
		assert_int_equal(z[i], 0);
	z = st_realloc(z, 64 * sizeof(int));
	assert_non_null(z);
	st_free(z);
	st_free(s);
	st_free(NULL);
	assert_null(st_strdup(NULL));
}

static void test_calloc_overflow_fails_without_allocating(void **state)
{
	struct fail_alloc fa = { 0 };

	(void)state;
	fail_alloc_install(&fa);
	assert_null(st_calloc(SIZE_MAX / 2, 4));
	assert_int_equal(fa.calls, 0);
	fail_alloc_install(NULL);
}

static void *m(size_t n, void *u)
{
	(void)u;
	return malloc(n);
}

static void test_set_hooks_rejects_bad_hooks(void **state)
{
	struct {
		struct strata_alloc_hooks h;
		char future[8];
	} big;
	struct strata_alloc_hooks h = { .sz = sizeof(h), .malloc = m };

	(void)state;
	assert_int_equal(strata_alloc_set_hooks(&h), -EINVAL); /* realloc, free missing */
	h.sz = 4;
	assert_int_equal(strata_alloc_set_hooks(&h), -EINVAL);
	memset(&big, 0, sizeof(big));
	big.h.sz = sizeof(big);
	big.future[3] = 1; /* a field this library does not know is set */
	assert_int_equal(strata_alloc_set_hooks(&big.h), -EINVAL);
	assert_int_equal(strata_alloc_set_hooks(NULL), 0);
}

static void test_hooks_route_and_fail_allocations(void **state)
{
	struct fail_alloc fa = { .fail_at = 2 };
	void *a, *b, *c;

	(void)state;
	fail_alloc_install(&fa);
	a = st_malloc(10);
	b = st_malloc(10); /* the second call fails */
	c = st_malloc(10);
	assert_non_null(a);
	assert_null(b);
	assert_non_null(c);
	assert_int_equal(fa.calls, 3);
	assert_int_equal(fa.live, 2);
	st_free(a);
	st_free(c);
	assert_int_equal(fa.live, 0);
	fail_alloc_install(NULL);
}

static void test_hooks_cannot_change_while_runtime_lives(void **state)
{
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF, .topology_synthetic = "pack:1 [numa] core:1 pu:1");
	struct fail_alloc fa = { 0 };
	struct strata_rt *rt;

	(void)state;
	fail_alloc_install(&fa);
	assert_int_equal(strata_rt_create(&opts, &rt), 0);
	assert_true(fa.live > 0);
	assert_int_equal(strata_alloc_set_hooks(NULL), -EBUSY);
	strata_rt_destroy(rt);
	assert_int_equal(fa.live, 0);
	fail_alloc_install(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_hooks_allocate),
		cmocka_unit_test(test_calloc_overflow_fails_without_allocating),
		cmocka_unit_test(test_set_hooks_rejects_bad_hooks),
		cmocka_unit_test(test_hooks_route_and_fail_allocations),
		cmocka_unit_test(test_hooks_cannot_change_while_runtime_lives),
	};

	return RUN_TESTS(tests);
}
