/* SPDX-License-Identifier: MIT */
/* tests/base/test_log.c — the log callback, levels and STRATA_LOG (base/log.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "helpers.h"

struct seen {
	int n;
	enum strata_log_level level;
	char msg[256];
	void *user;
};

static void record(enum strata_log_level level, const char *msg, void *user)
{
	struct seen *s = user;

	s->n++;
	s->level = level;
	s->user = user;
	snprintf(s->msg, sizeof(s->msg), "%s", msg);
}

static void test_env_sets_initial_level(void **state)
{
	(void)state;
	/* main() set STRATA_LOG=debug before the first strata call. */
	assert_int_equal(strata_log_get_level(), STRATA_LOG_DEBUG);
}

static void test_callback_receives_formatted_messages(void **state)
{
	struct seen s = { 0 };

	(void)state;
	strata_log_set_callback(record, &s);
	assert_int_equal(strata_log_set_level(STRATA_LOG_DEBUG), 0);
	st_debug("node %d has %s", 3, "memory");
	assert_int_equal(s.n, 1);
	assert_int_equal(s.level, STRATA_LOG_DEBUG);
	assert_string_equal(s.msg, "node 3 has memory");
	assert_ptr_equal(s.user, &s);
	strata_log_set_callback(NULL, NULL);
}

static void test_threshold_filters(void **state)
{
	struct seen s = { 0 };

	(void)state;
	strata_log_set_callback(record, &s);
	assert_int_equal(strata_log_set_level(STRATA_LOG_WARN), 0);
	st_debug("hidden");
	st_info("hidden");
	assert_int_equal(s.n, 0);
	st_warn("shown");
	st_error("shown too");
	assert_int_equal(s.n, 2);
	assert_int_equal(s.level, STRATA_LOG_ERROR);
	assert_int_equal(strata_log_set_level(STRATA_LOG_OFF), 0);
	st_error("silenced");
	assert_int_equal(s.n, 2);
	assert_int_equal(strata_log_set_level((enum strata_log_level)99), -EINVAL);
	assert_int_equal(strata_log_get_level(), STRATA_LOG_OFF);
	strata_log_set_callback(NULL, NULL);
	strata_log_set_level(STRATA_LOG_WARN);
}

static void test_long_messages_are_truncated_not_overflowed(void **state)
{
	struct seen s = { 0 };
	char big[4096];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	strata_log_set_callback(record, &s);
	st_error("%s", big);
	assert_int_equal(s.n, 1);
	assert_int_equal(strlen(s.msg), sizeof(s.msg) - 1);
	strata_log_set_callback(NULL, NULL);
}

static void test_level_parse(void **state)
{
	enum strata_log_level l = STRATA_LOG_INFO;

	(void)state;
	assert_int_equal(strata_log_level_parse("DEBUG", &l), 0);
	assert_int_equal(l, STRATA_LOG_DEBUG);
	assert_int_equal(strata_log_level_parse("warning", &l), 0);
	assert_int_equal(l, STRATA_LOG_WARN);
	assert_int_equal(strata_log_level_parse("off", &l), 0);
	assert_int_equal(l, STRATA_LOG_OFF);
	assert_int_equal(strata_log_level_parse("loud", &l), -EINVAL);
	assert_int_equal(l, STRATA_LOG_OFF); /* untouched on error */
	assert_int_equal(strata_log_level_parse(NULL, &l), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_sets_initial_level),
		cmocka_unit_test(test_callback_receives_formatted_messages),
		cmocka_unit_test(test_threshold_filters),
		cmocka_unit_test(test_long_messages_are_truncated_not_overflowed),
		cmocka_unit_test(test_level_parse),
	};

	setenv("STRATA_LOG", "debug", 1);
	return RUN_TESTS(tests);
}
