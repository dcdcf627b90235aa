/* SPDX-License-Identifier: MIT */
/* tests/base/test_error.c — strata_strerror() for errno and strata codes. */
#include <errno.h>
#include <string.h>

#include "helpers.h"

static void test_errno_values(void **state)
{
	int e;

	(void)state;
	assert_string_equal(strata_strerror(0), "success");
	assert_string_equal(strata_strerror(-ENOMEM), "Cannot allocate memory");
	assert_string_equal(strata_strerror(ENOMEM), strata_strerror(-ENOMEM));
	assert_string_equal(strata_strerror(-EINVAL), "Invalid argument");
	for (e = 1; e < 134; e++)
		assert_non_null(strata_strerror(-e));
}

static void test_strata_codes_are_described(void **state)
{
	int e;

	(void)state;
	for (e = STRATA_ERRNO_BASE + 1; e < STRATA_ERRNO_END; e++) {
		const char *s = strata_strerror(-e);

		assert_non_null(s);
		assert_string_not_equal(s, "unknown error");
		if (e > STRATA_ERRNO_BASE + 1)
			assert_string_not_equal(s, strata_strerror(-(e - 1)));
	}
	assert_string_equal(strata_strerror(-STRATA_EFORMAT), "malformed input data");
}

static void test_unknown_codes(void **state)
{
	(void)state;
	assert_string_equal(strata_strerror(-STRATA_ERRNO_BASE), "unknown error");
	assert_string_equal(strata_strerror(-STRATA_ERRNO_END), "unknown error");
	assert_string_equal(strata_strerror(-99999), "unknown error");
	assert_string_equal(strata_strerror(-2000), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errno_values),
		cmocka_unit_test(test_strata_codes_are_described),
		cmocka_unit_test(test_unknown_codes),
	};

	return RUN_TESTS(tests);
}
