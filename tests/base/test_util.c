/* SPDX-License-Identifier: MIT */
/* tests/base/test_util.c — option validation, info copy-out, small helpers. */
#include <errno.h>
#include <string.h>

#include "base/base.h"
#include "helpers.h"

struct opts_v1 {
	size_t sz;
	int a;
};

struct opts_v2 {
	size_t sz;
	int a;
	uint64_t b; /* starts past the end of struct opts_v1 */
};

static void test_opts_valid(void **state)
{
	struct opts_v2 newer = { .sz = sizeof(newer), .a = 1 };
	struct opts_v1 tiny = { .sz = 3 };

	(void)state;
	assert_true(st_opts_valid(NULL, sizeof(struct opts_v1)));
	assert_false(st_opts_valid(&tiny, sizeof(struct opts_v1)));
	/* A newer caller that leaves the new field zero is understood. */
	assert_true(st_opts_valid(&newer, sizeof(struct opts_v1)));
	newer.b = 7;
	assert_false(st_opts_valid(&newer, sizeof(struct opts_v1)));
	assert_true(st_opts_valid(&newer, sizeof(struct opts_v2)));
}

static void test_opt_reads_default_for_old_callers(void **state)
{
	struct opts_v2 old_s = { .sz = sizeof(struct opts_v1), .a = 5, .b = 9 };
	struct opts_v2 cur_s = { .sz = sizeof(struct opts_v2), .a = 5, .b = 9 };
	struct opts_v2 *old = &old_s, *cur = &cur_s, *none = NULL;

	(void)state;
	assert_int_equal(ST_OPT(old, a, 0), 5);
	assert_int_equal(ST_OPT(old, b, 42), 42); /* beyond the caller's sz */
	assert_int_equal(ST_OPT(cur, b, 42), 9);
	assert_int_equal(ST_OPT(none, b, 42), 42);
}

static void test_copy_out_respects_caller_size(void **state)
{
	struct opts_v2 src = { .sz = sizeof(src), .a = 1, .b = 2 };
	struct opts_v2 dst = { .sz = sizeof(struct opts_v1), .a = 0, .b = 77 };
	struct opts_v2 bad = { .sz = 2 };

	(void)state;
	assert_int_equal(st_copy_out(&dst, &src, sizeof(src)), 0);
	assert_int_equal(dst.sz, sizeof(struct opts_v1));
	assert_int_equal(dst.a, 1);
	assert_int_equal(dst.b, 77); /* untouched: the caller's struct ends before it */
	assert_int_equal(st_copy_out(&bad, &src, sizeof(src)), -EINVAL);
	assert_int_equal(st_copy_out(NULL, &src, sizeof(src)), -EINVAL);
}

static void test_read_text(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(st_read_text("/nonexistent/strata", buf, sizeof(buf)), -ENOENT);
	assert_true(st_read_text("/proc/self/comm", buf, sizeof(buf)) > 0);
	assert_null(strchr(buf, '\n'));
	assert_int_equal(st_read_text("/proc/self/comm", buf, 0), -EINVAL);
}

static void test_fmt_truncates_safely(void **state)
{
	char buf[4];

	(void)state;
	assert_int_equal(st_fmt(buf, sizeof(buf), "%s", "abcdef"), 6);
	assert_string_equal(buf, "abc");
}

static void test_fnv1a_known_vectors(void **state)
{
	(void)state;
	assert_true(st_fnv1a("", 0, ST_FNV_SEED) == 0xcbf29ce484222325ULL);
	assert_true(st_fnv1a("a", 1, ST_FNV_SEED) == 0xaf63dc4c8601ec8cULL);
	assert_true(st_fnv1a("foobar", 6, ST_FNV_SEED) == 0x85944171f73967e8ULL);
}

/* The growable text: formatted and plain appends, growth past its first
 * block, and an allocation failure remembered until the end. */
static void test_text_builds_and_fails_once(void **state)
{
	struct st_text t = { 0 };
	struct fail_alloc fa = { .fail_at = 0 };
	char big[3000], *s;
	int err;

	(void)state;
	memset(big, '=', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	st_text_add(&t, "%d-", 42);
	st_text_put(&t, big);
	st_text_put(&t, "");
	st_text_add(&t, "|%s", "end");
	s = st_text_take(&t, &err);
	assert_int_equal(err, 0);
	assert_int_equal(strlen(s), 3 + sizeof(big) - 1 + 4);
	assert_memory_equal(s, "42-===", 6);
	assert_string_equal(s + strlen(s) - 4, "|end");
	st_free(s);

	/* Nothing appended: an empty string, not NULL. */
	s = st_text_take(&t, &err);
	assert_int_equal(err, 0);
	assert_string_equal(s, "");
	st_free(s);

	/* The put that must grow fails: every later append is dropped, and
	 * the end says -ENOMEM and frees what there was. */
	st_text_add(&t, "abc");
	fa.fail_at = 1;
	fail_alloc_install(&fa);
	st_text_put(&t, big);
	st_text_add(&t, "more");
	fail_alloc_install(NULL);
	assert_null(st_text_take(&t, &err));
	assert_int_equal(err, -ENOMEM);
	assert_int_equal(fa.failures, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts_valid),
		cmocka_unit_test(test_opt_reads_default_for_old_callers),
		cmocka_unit_test(test_copy_out_respects_caller_size),
		cmocka_unit_test(test_read_text),
		cmocka_unit_test(test_fmt_truncates_safely),
		cmocka_unit_test(test_fnv1a_known_vectors),
		cmocka_unit_test(test_text_builds_and_fails_once),
	};

	return RUN_TESTS(tests);
}
