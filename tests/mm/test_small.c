/* SPDX-License-Identifier: MIT */
/* tests/mm/test_small.c — size classes: the smallest class that fits, at
 * most 25% rounding above 128 bytes, batches within bounds. */
#include "helpers.h"
#include "mm/mm_int.h"

static void test_every_size_maps_to_the_smallest_fitting_class(void **state)
{
	size_t size;

	(void)state;
	for (size = 1; size <= ST_SMALL_MAX; size++) {
		unsigned c = st_size_class(size);

		assert_true(c < ST_NCLASSES);
		assert_true(st_class_sizes[c] >= size);
		if (c > 0)
			assert_true(st_class_sizes[c - 1] < size);
		if (size > 128)
			assert_true(st_class_sizes[c] <= size + size / 4 + 16);
	}
}

static void test_power_of_two_sizes_are_classes(void **state)
{
	size_t s;

	(void)state;
	for (s = 16; s <= ST_SMALL_MAX; s *= 2)
		assert_int_equal(st_class_sizes[st_size_class(s)], s);
}

static void test_class_geometry(void **state)
{
	static struct strata_pool pool;
	unsigned i;

	(void)state;
	st_classes_init(&pool);
	for (i = 0; i < ST_NCLASSES; i++) {
		const struct st_class *c = &pool.classes[i];

		assert_int_equal(c->size, st_class_sizes[i]);
		assert_true(c->span_bytes % ST_SPAN_MIN == 0);
		assert_true(c->span_bytes / c->size >= 8);
		assert_true(c->batch >= 4 && c->batch <= 128);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_size_maps_to_the_smallest_fitting_class),
		cmocka_unit_test(test_power_of_two_sizes_are_classes),
		cmocka_unit_test(test_class_geometry),
	};

	return RUN_TESTS(tests);
}
