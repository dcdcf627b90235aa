/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_probe.c — the bandwidth probe: plausible figures, the
 * disk cache, and every way a cache can be wrong (missing, corrupt, from
 * another machine, out of range, unwritable).
 *
 * One real measurement is made in setup and copied around, so the group
 * takes about a second.  Speed itself is judged by `make bench-core`, not
 * here.
 */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

static char dir[256];
static char cache[4096];
static struct strata_probe_node first;

static struct strata_rt *create(enum strata_probe_mode mode, const char *cache_dir)
{
	STRATA_RT_OPTS(opts, .probe = mode, .cache_dir = cache_dir);
	struct strata_rt *rt = NULL;

	assert_int_equal(strata_rt_create(&opts, &rt), 0);
	return rt;
}

static int setup(void **state)
{
	struct strata_rt *rt;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", make_tmpdir());
	rt = create(STRATA_PROBE_REFRESH, dir);
	first.sz = sizeof(first);
	if (strata_probe_node(rt, 0, &first) || strata_probe_cache_path(rt, cache, sizeof(cache)) <= 0)
		return -1;
	strata_rt_destroy(rt);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_rf(dir);
	return 0;
}

static void test_figures_are_plausible(void **state)
{
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF);
	struct strata_topo_node node = { .sz = sizeof(node) };
	struct strata_rt *rt;

	(void)state;
	assert_int_equal(strata_rt_create(&opts, &rt), 0);
	assert_int_equal(strata_topo_node(strata_rt_topo(rt), 0, &node), 0);
	/* Physical bounds, not speed targets: DRAM is between 0.5 and 5000
	 * GB/s and 20 ns to 5 us away on any machine strata runs on. */
	assert_true(first.read_gbps > 0.5 && first.read_gbps < 5000);
	assert_true(first.copy_gbps > 0.5 && first.copy_gbps < 5000);
	assert_true(first.triad_gbps > 0.5 && first.triad_gbps < 5000);
	assert_true(first.latency_ns > 20 && first.latency_ns < 5000);
	assert_int_equal(first.threads, node.cores);
	assert_true(first.array_bytes >= 64ULL << 20);
	assert_true(first.measured_at > 1700000000);
	assert_false(first.from_cache);
	strata_rt_destroy(rt);
}

static void test_off_means_no_figures(void **state)
{
	struct strata_rt *rt = create(STRATA_PROBE_OFF, dir);
	struct strata_probe_node p = { .sz = sizeof(p) };

	(void)state;
	assert_int_equal(strata_probe_node(rt, 0, &p), -ENODATA);
	assert_int_equal(strata_probe_node(rt, 0, NULL), -EINVAL);
	strata_rt_destroy(rt);
}

static void test_cache_round_trip(void **state)
{
	struct strata_rt *rt = create(STRATA_PROBE_CACHED, dir);
	struct strata_probe_node p = { .sz = sizeof(p) };
	json_t *doc;

	(void)state;
	assert_int_equal(access(cache, R_OK), 0);
	assert_non_null(strstr(cache, dir));
	doc = json_load_file(cache, 0, NULL);
	assert_non_null(doc);
	json_decref(doc);
	assert_int_equal(strata_probe_node(rt, 0, &p), 0);
	assert_true(p.from_cache);
	/* JSON keeps doubles exactly (17 significant digits). */
	assert_true(p.triad_gbps == first.triad_gbps);
	assert_true(p.latency_ns == first.latency_ns);
	assert_true(p.array_bytes == first.array_bytes);
	assert_int_equal(strata_probe_node(rt, 99, &p), -ENOENT);
	strata_rt_destroy(rt);
}

static void read_cache(char *buf, size_t len)
{
	FILE *f = fopen(cache, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
}

static void write_cache(const char *text)
{
	FILE *f = fopen(cache, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Replace the cache with @text, then check that load reports @want and a
 * cached start measures afresh, warns, and repairs the file. */
static void expect_bad_cache(const char *text, int want)
{
	struct strata_probe_node p = { .sz = sizeof(p) };
	struct strata_rt *rt;
	struct log_catch lc;
	char saved[8192];

	read_cache(saved, sizeof(saved));
	write_cache(text);
	rt = create(STRATA_PROBE_OFF, dir);
	assert_int_equal(strata_probe_load(rt), want);
	assert_int_equal(strata_probe_node(rt, 0, &p), -ENODATA);
	strata_rt_destroy(rt);

	log_catch_install(&lc);
	rt = create(STRATA_PROBE_CACHED, dir);
	log_catch_remove();
	assert_true(lc.count >= 1);
	assert_non_null(strstr(lc.last, "ignoring cache"));
	assert_int_equal(strata_probe_node(rt, 0, &p), 0);
	assert_false(p.from_cache);
	strata_rt_destroy(rt);
	rt = create(STRATA_PROBE_OFF, dir);
	assert_int_equal(strata_probe_load(rt), 0); /* repaired */
	strata_rt_destroy(rt);
	write_cache(saved);
}

/* The saved cache with one string replaced. */
static char *edited(const char *from, const char *to)
{
	static char out[8192];
	char in[8192], *p;

	read_cache(in, sizeof(in));
	p = strstr(in, from);
	assert_non_null(p);
	snprintf(out, sizeof(out), "%.*s%s%s", (int)(p - in), in, to, p + strlen(from));
	return out;
}

static void test_corrupt_cache_is_replaced(void **state)
{
	(void)state;
	expect_bad_cache("{ this is not json", -STRATA_EFORMAT);
	expect_bad_cache("[]", -STRATA_EFORMAT);
	expect_bad_cache(edited("\"latency_ns\":", "\"latency_ns\": -1, \"x\":"), -STRATA_EFORMAT);
}

static void test_cache_from_another_machine_is_stale(void **state)
{
	(void)state;
	expect_bad_cache(edited("\"kernel\": \"", "\"kernel\": \"0.0-other-"), -STRATA_ESTALE);
	expect_bad_cache(edited("\"format\": 1", "\"format\": 99"), -STRATA_ESTALE);
}

static void test_missing_cache(void **state)
{
	struct strata_rt *rt;
	const char *empty = make_tmpdir();
	char path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s", empty);
	rt = create(STRATA_PROBE_OFF, path);
	assert_int_equal(strata_probe_load(rt), -ENOENT);
	strata_rt_destroy(rt);
	rm_rf(path);
}

static void test_unwritable_cache_is_not_fatal(void **state)
{
	struct strata_probe_node p = { .sz = sizeof(p) };
	struct strata_rt *rt;
	struct log_catch lc;

	(void)state;
	if (access("/proc/strata-cannot-exist", F_OK) == 0)
		TEST_SKIP("unexpected file in /proc");
	log_catch_install(&lc);
	rt = create(STRATA_PROBE_REFRESH, "/proc/strata-cannot-exist");
	log_catch_remove();
	assert_int_equal(strata_probe_node(rt, 0, &p), 0);
	assert_true(lc.count >= 1);
	assert_non_null(strstr(lc.last, "not cached"));
	strata_rt_destroy(rt);
}

/* Fail the 1st, 2nd, ... allocation of a refresh until one succeeds with
 * none failing; each failure returns -ENOMEM, leaves no figures behind
 * and leaks nothing. */
static void test_refresh_survives_allocation_failures(void **state)
{
	struct strata_probe_node p = { .sz = sizeof(p) };
	long n;

	(void)state;
	for (n = 1; n < 100; n++) {
		struct fail_alloc fa = { 0 };
		struct strata_rt *rt;
		int err;

		fail_alloc_install(&fa);
		rt = create(STRATA_PROBE_OFF, dir);
		fa.fail_at = fa.calls + n;
		err = strata_probe_refresh(rt);
		if (fa.failures) {
			assert_int_equal(err, -ENOMEM);
			assert_int_equal(strata_probe_node(rt, 0, &p), -ENODATA);
		} else {
			assert_int_equal(err, 0);
			assert_int_equal(strata_probe_node(rt, 0, &p), 0);
		}
		strata_rt_destroy(rt);
		assert_int_equal(fa.live, 0);
		fail_alloc_install(NULL);
		if (!fa.failures)
			break;
	}
	assert_true(n > 3 && n < 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_figures_are_plausible),
		cmocka_unit_test(test_off_means_no_figures),
		cmocka_unit_test(test_cache_round_trip),
		cmocka_unit_test(test_corrupt_cache_is_replaced),
		cmocka_unit_test(test_cache_from_another_machine_is_stale),
		cmocka_unit_test(test_missing_cache),
		cmocka_unit_test(test_unwritable_cache_is_not_fatal),
		cmocka_unit_test(test_refresh_survives_allocation_failures),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, setup, teardown);
}
