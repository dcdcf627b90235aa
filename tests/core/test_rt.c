/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_rt.c — strata_rt_create()/destroy(): options, errors, and
 * every allocation failure on the way, with nothing leaked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

#define SYNTH_1 "pack:1 [numa] core:2 pu:1"

static void test_create_with_defaults(void **state)
{
	struct strata_rt *rt = NULL;

	(void)state;
	/* NULL options: this machine, probe from the (test-private) cache. */
	assert_int_equal(strata_rt_create(NULL, &rt), 0);
	assert_non_null(rt);
	assert_true(strata_rt_is_this_machine(rt));
	assert_non_null(strata_rt_topo(rt));
	strata_rt_destroy(rt);
	strata_rt_destroy(NULL);
}

static void test_bad_arguments(void **state)
{
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF);
	struct strata_rt *rt = (struct strata_rt *)0x1;

	(void)state;
	assert_int_equal(strata_rt_create(&opts, NULL), -EINVAL);
	opts.sz = 4;
	assert_int_equal(strata_rt_create(&opts, &rt), -EINVAL);
	opts.sz = sizeof(opts);
	opts.flags = 1;
	assert_int_equal(strata_rt_create(&opts, &rt), -EINVAL);
	opts.flags = 0;
	opts.probe = (enum strata_probe_mode)7;
	assert_int_equal(strata_rt_create(&opts, &rt), -EINVAL);
	opts.probe = STRATA_PROBE_OFF;
	opts.topology_xml = fixture("topo/two-node-gpu.xml");
	opts.topology_synthetic = SYNTH_1;
	assert_int_equal(strata_rt_create(&opts, &rt), -EINVAL);
	/* Out-parameter untouched on failure. */
	assert_ptr_equal(rt, (struct strata_rt *)0x1);
}

static void test_options_from_newer_and_older_programs(void **state)
{
	struct {
		struct strata_rt_opts o;
		uint64_t future_field;
	} newer;
	struct strata_rt_opts older;
	struct strata_rt *rt;

	(void)state;
	memset(&newer, 0, sizeof(newer));
	newer.o.sz = sizeof(newer);
	newer.o.probe = STRATA_PROBE_OFF;
	newer.o.topology_synthetic = SYNTH_1;
	assert_int_equal(strata_rt_create(&newer.o, &rt), 0);
	strata_rt_destroy(rt);
	newer.future_field = 1;
	assert_int_equal(strata_rt_create(&newer.o, &rt), -EINVAL);

	/* An older program's struct ends before topology_xml: defaults apply
	 * to what it does not have (it gets this machine). */
	memset(&older, 0, sizeof(older));
	older.sz = offsetof(struct strata_rt_opts, topology_xml);
	older.probe = STRATA_PROBE_OFF;
	older.topology_synthetic = SYNTH_1; /* beyond sz: must be ignored */
	assert_int_equal(strata_rt_create(&older, &rt), 0);
	assert_true(strata_rt_is_this_machine(rt));
	strata_rt_destroy(rt);
}

/* Run @fn with stderr captured; return how many bytes were written to it. */
static long stderr_bytes_during(int (*fn)(const void *), const void *arg, int *ret)
{
	char path[] = "/tmp/strata-stderr-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	struct stat st;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	*ret = fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	unlink(path);
	return (long)st.st_size;
}

static int create_and_destroy(const void *arg)
{
	struct strata_rt *rt;
	int err = strata_rt_create(arg, &rt);

	if (!err)
		strata_rt_destroy(rt);
	return err;
}

static void test_bad_topologies_fail_clearly_and_silently(void **state)
{
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF);
	struct log_catch lc;
	char dir[256], bad[300];
	FILE *f;
	int err;

	(void)state;
	log_catch_install(&lc);
	opts.topology_xml = "/nonexistent/topology.xml";
	assert_int_equal(stderr_bytes_during(create_and_destroy, &opts, &err), 0);
	assert_int_equal(err, -ENOENT);
	assert_int_equal(lc.count, 1); /* said once, through the callback */
	assert_non_null(strstr(lc.last, "topology"));

	snprintf(dir, sizeof(dir), "%s", make_tmpdir());
	snprintf(bad, sizeof(bad), "%s/bad.xml", dir);
	f = fopen(bad, "w");
	assert_non_null(f);
	fputs("<?xml version=\"1.0\"?><topology><object type=", f);
	fclose(f);
	opts.topology_xml = bad;
	assert_int_equal(stderr_bytes_during(create_and_destroy, &opts, &err), 0);
	assert_int_equal(err, -STRATA_EFORMAT);

	opts.topology_xml = NULL;
	opts.topology_synthetic = "banana:3 pu:1";
	assert_int_equal(stderr_bytes_during(create_and_destroy, &opts, &err), 0);
	assert_int_equal(err, -STRATA_EFORMAT);
	log_catch_remove();
	rm_rf(dir);
}

/*
 * Fail allocation 1, 2, 3, ... of strata_rt_create() in turn.  Each attempt
 * either fails with -ENOMEM or (where the failure hit something optional,
 * like the probe) succeeds; either way nothing may stay allocated once the
 * runtime is gone.  Stops at the first attempt in which nothing failed.
 */
static int inject_failures(const struct strata_rt_opts *opts)
{
	int points = 0;
	long n;

	for (n = 1; n < 1000; n++) {
		struct fail_alloc fa = { .fail_at = n };
		struct strata_rt *rt = NULL;
		int err;

		fail_alloc_install(&fa);
		err = strata_rt_create(opts, &rt);
		if (err) {
			assert_int_equal(err, -ENOMEM);
			assert_null(rt);
		} else {
			strata_rt_destroy(rt);
		}
		assert_int_equal(fa.live, 0);
		fail_alloc_install(NULL);
		if (!fa.failures)
			break;
		points++;
	}
	assert_true(n < 1000);
	return points;
}

static void test_every_allocation_failure_unwinds(void **state)
{
	STRATA_RT_OPTS(xml, .probe = STRATA_PROBE_OFF, .topology_xml = fixture("topo/four-node-gpu.xml"));
	STRATA_RT_OPTS(here, .probe = STRATA_PROBE_OFF);
	struct log_catch lc;

	(void)state;
	log_catch_install(&lc);
	/* Topology with nodes, distances, caches and PCI devices. */
	assert_true(inject_failures(&xml) >= 6);
	/* This machine, with a cache folder name to allocate. */
	assert_true(inject_failures(&here) >= 6);
	log_catch_remove();
}

static void test_allocation_failures_while_loading_the_probe_cache(void **state)
{
	char dir[256];
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_REFRESH);
	struct strata_rt *rt;
	struct log_catch lc;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", make_tmpdir());
	opts.cache_dir = dir;
	/* Measure once so that the cache exists... */
	assert_int_equal(strata_rt_create(&opts, &rt), 0);
	strata_rt_destroy(rt);
	/* ...then fail every allocation of a cached start. */
	opts.probe = STRATA_PROBE_CACHED;
	log_catch_install(&lc);
	assert_true(inject_failures(&opts) >= 1);
	log_catch_remove();
	rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_with_defaults),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_options_from_newer_and_older_programs),
		cmocka_unit_test(test_bad_topologies_fail_clearly_and_silently),
		cmocka_unit_test(test_every_allocation_failure_unwinds),
		cmocka_unit_test(test_allocation_failures_while_loading_the_probe_cache),
	};

	return RUN_TESTS(tests);
}
