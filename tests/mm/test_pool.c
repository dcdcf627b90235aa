/* SPDX-License-Identifier: MIT */
/*
 * tests/mm/test_pool.c — pools on this machine: sizes and alignments,
 * zeroing, errors for foreign and double frees, limits, growth that merges,
 * trim that lowers RSS, decay, pressure, stats, pass-through mode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "mm/mm_int.h"


static struct strata_pool *make_pool(const struct strata_pool_opts *opts)
{
	struct strata_pool *p = NULL;

	assert_int_equal(strata_pool_create(test_rt, opts, &p), 0);
	return p;
}

static struct strata_pool_stats stats(struct strata_pool *p)
{
	struct strata_pool_stats s = { .sz = sizeof(s) };

	assert_int_equal(strata_pool_stats(p, &s), 0);
	return s;
}

static long rss_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld %ld", &pages, &resident), 2);
	fclose(f);
	return resident * sysconf(_SC_PAGESIZE);
}

static void test_sizes_and_alignments(void **state)
{
	struct strata_pool *p = make_pool(NULL);
	size_t sizes[] = { 1, 8, 16, 17, 100, 128, 129, 1000, 4096, 4097, 32768, 32769, 100000, 1 << 20, 3 << 20 };
	size_t aligns[] = { 0, 16, 32, 64, 256, 4096, 8192, 65536, 1 << 20, 2 << 20 };
	unsigned i, j;

	(void)state;
	for (i = 0; i < ST_ARRAY_SIZE(sizes); i++) {
		for (j = 0; j < ST_ARRAY_SIZE(aligns); j++) {
			void *ptr = NULL;
			int64_t usable;

			assert_int_equal(strata_pool_alloc(p, sizes[i], aligns[j], 0, &ptr), 0);
			assert_true(((uintptr_t)ptr % ST_MAX(aligns[j], 16)) == 0);
			usable = strata_pool_usable_size(p, ptr);
			assert_true(usable >= (int64_t)sizes[i]);
			memset(ptr, 0xa5, (size_t)usable); /* all of it is ours */
			assert_int_equal(strata_pool_free(p, ptr), 0);
		}
	}
	strata_pool_destroy(p);
}

static void test_bad_requests(void **state)
{
	struct strata_pool *p = make_pool(NULL);
	void *ptr = (void *)0x1;

	(void)state;
	assert_int_equal(strata_pool_alloc(p, 0, 0, 0, &ptr), -EINVAL);
	assert_int_equal(strata_pool_alloc(p, 64, 3, 0, &ptr), -EINVAL);
	assert_int_equal(strata_pool_alloc(p, 64, 4 << 20, 0, &ptr), -EINVAL);
	assert_int_equal(strata_pool_alloc(p, 64, 0, 0x80, &ptr), -EINVAL);
	assert_int_equal(strata_pool_alloc(p, 64, 0, 0, NULL), -EINVAL);
	assert_int_equal(strata_pool_alloc(NULL, 64, 0, 0, &ptr), -EINVAL);
	assert_ptr_equal(ptr, (void *)0x1); /* untouched */
	assert_int_equal(strata_pool_alloc(p, SIZE_MAX - 100, 0, 0, &ptr), -ENOMEM);
	assert_int_equal(strata_pool_alloc(p, (size_t)1 << 56, 0, 0, &ptr), -ENOMEM); /* past the index */
	assert_int_equal(strata_pool_alloc(p, ((size_t)1 << 47) + 1, 2 << 20, 0, &ptr), -ENOMEM);
	assert_int_equal(strata_pool_free(p, NULL), 0);
	strata_pool_destroy(p);
	strata_pool_destroy(NULL);
}

static void test_zeroed_allocations(void **state)
{
	struct strata_pool *p = make_pool(NULL);
	size_t sizes[] = { 24, 4000, 1 << 20 };
	unsigned i, k;

	(void)state;
	for (i = 0; i < ST_ARRAY_SIZE(sizes); i++) {
		for (k = 0; k < 3; k++) {
			unsigned char *b;
			size_t j;

			/* Dirty a block, free it, and ask again zeroed: reuse
			 * must not leak the old bytes. */
			assert_int_equal(strata_pool_alloc(p, sizes[i], 0, 0, (void **)&b), 0);
			memset(b, 0xff, sizes[i]);
			assert_int_equal(strata_pool_free(p, b), 0);
			assert_int_equal(strata_pool_alloc(p, sizes[i], 0, STRATA_ALLOC_ZERO, (void **)&b), 0);
			for (j = 0; j < sizes[i]; j++)
				assert_int_equal(b[j], 0);
			assert_int_equal(strata_pool_free(p, b), 0);
		}
	}
	strata_pool_destroy(p);
}

static void test_foreign_and_double_frees(void **state)
{
	struct strata_pool *p = make_pool(NULL), *other = make_pool(NULL);
	int on_stack;
	void *big, *small, *theirs;

	(void)state;
	assert_int_equal(strata_pool_free(p, &on_stack), -EINVAL);
	assert_int_equal(strata_pool_alloc(p, 1 << 20, 0, 0, &big), 0);
	assert_int_equal(strata_pool_free(p, (char *)big + 4096), -EINVAL); /* interior */
	assert_int_equal(strata_pool_free(p, big), 0);
	assert_int_equal(strata_pool_free(p, big), -EINVAL); /* large double free */
#ifdef STRATA_DEBUG
	/* Release builds do not track small objects (documented), so a stale
	 * pointer into reused memory is only checked in debug builds. */
	{
		/* The freed memory may become a span of small objects.  Freeing
		 * the old large pointer again must not crash: it is refused, or,
		 * when it is now the start of a live small object (memory handed
		 * out again), frees that object, as documented. */
		void *x, *objs[64];
		int i, err, hit = -1;

		assert_int_equal(strata_pool_alloc(p, 64 << 10, 64 << 10, 0, &x), 0);
		assert_int_equal(strata_pool_free(p, x), 0);
		for (i = 0; i < 64; i++) {
			assert_int_equal(strata_pool_alloc(p, 48, 0, 0, &objs[i]), 0);
			if (objs[i] == x)
				hit = i;
		}
		err = strata_pool_free(p, x);
		assert_int_equal(err, hit >= 0 ? 0 : -EINVAL);
		for (i = 0; i < 64; i++)
			if (i != hit)
				assert_int_equal(strata_pool_free(p, objs[i]), 0);
	}
#endif
	assert_int_equal(strata_pool_alloc(other, 1 << 20, 0, 0, &theirs), 0);
	assert_int_equal(strata_pool_free(p, theirs), -EINVAL); /* another pool's block */
	assert_int_equal(strata_pool_free(other, theirs), 0);
	assert_int_equal(strata_pool_alloc(p, 64, 0, 0, &small), 0);
	assert_int_equal(strata_pool_free(p, small), 0);
#ifdef STRATA_DEBUG
	assert_int_equal(strata_pool_free(p, small), -EINVAL); /* small double free: debug builds */
	assert_int_equal(strata_pool_alloc(p, 64, 0, 0, &small), 0);
	assert_int_equal(strata_pool_free(p, (char *)small + 16), -EINVAL);
	assert_int_equal(strata_pool_free(p, small), 0);
#endif
	strata_pool_destroy(other);
	strata_pool_destroy(p);
}

static void test_stats_follow_allocations(void **state)
{
	struct strata_pool *p = make_pool(NULL);
	struct strata_pool_stats s;
	void *ptrs[300];
	unsigned i;

	(void)state;
	for (i = 0; i < 300; i++)
		assert_int_equal(strata_pool_alloc(p, i < 200 ? 100 : 200000, 0, 0, &ptrs[i]), 0);
	s = stats(p);
	assert_true(s.allocs == 300);
	/* 200 objects of class 112 and 100 blocks of 49 pages. */
	assert_true(s.bytes_in_use == 200 * 112 + 100 * 49 * 4096ULL);
	assert_true(s.bytes_reserved >= s.bytes_in_use);
	assert_true(s.peak_in_use >= s.bytes_in_use);
	assert_true(s.fragmentation >= 0 && s.fragmentation < 1);
	assert_int_equal(s.node, 0);
	for (i = 0; i < 300; i++)
		assert_int_equal(strata_pool_free(p, ptrs[i]), 0);
	s = stats(p);
	assert_true(s.frees == 300);
	assert_true(s.bytes_in_use == 0);
	assert_true(s.peak_reserved >= s.bytes_reserved);
	assert_int_equal(strata_pool_stats(p, NULL), -EINVAL);
	strata_pool_destroy(p);
}

static void test_pool_limit(void **state)
{
	STRATA_POOL_OPTS(opts, .limit_bytes = 8 << 20, .grow_bytes = 2 << 20);
	struct strata_pool *p = make_pool(&opts);
	void *a, *b, *c;

	(void)state;
	assert_int_equal(strata_pool_alloc(p, 6 << 20, 0, 0, &a), 0);
	assert_int_equal(strata_pool_alloc(p, 4 << 20, 0, 0, &b), -ENOMEM);
	assert_int_equal(strata_pool_alloc(p, 1 << 20, 0, 0, &c), 0);
	assert_true(stats(p).bytes_reserved <= 8 << 20);
	assert_int_equal(strata_pool_free(p, a), 0);
	assert_int_equal(strata_pool_alloc(p, 4 << 20, 0, 0, &b), 0); /* fits after the free */
	strata_pool_free(p, b);
	strata_pool_free(p, c);
	strata_pool_destroy(p);
}

static void test_node_and_global_limits(void **state)
{
	struct strata_pool *p = make_pool(NULL);
	void *a;

	(void)state;
	assert_int_equal(strata_mm_set_limit(test_rt, 0, 4 << 20), 0);
	assert_int_equal(strata_pool_alloc(p, 8 << 20, 0, 0, &a), -ENOMEM);
	assert_int_equal(strata_mm_set_limit(test_rt, 0, 0), 0);
	assert_int_equal(strata_mm_set_limit(test_rt, -1, 4 << 20), 0);
	assert_int_equal(strata_pool_alloc(p, 8 << 20, 0, 0, &a), -ENOMEM);
	assert_int_equal(strata_mm_set_limit(test_rt, -1, 0), 0);
	assert_int_equal(strata_pool_alloc(p, 8 << 20, 0, 0, &a), 0);
	strata_pool_free(p, a);
	assert_int_equal(strata_mm_set_limit(test_rt, 9999, 1), -ENOENT);
	assert_int_equal(strata_mm_set_limit(test_rt, -2, 1), -EINVAL);
	strata_pool_destroy(p);
}

/* Two growth steps lie next to each other and merge when free. */
static void test_growth_merges(void **state)
{
	STRATA_POOL_OPTS(opts, .grow_bytes = 4 << 20, .flags = STRATA_POOL_NO_SMALL);
	struct strata_pool *p = make_pool(&opts);
	void *a, *b, *c;

	(void)state;
	assert_int_equal(strata_pool_alloc(p, 4 << 20, 0, 0, &a), 0);
	assert_int_equal(strata_pool_alloc(p, 4 << 20, 0, 0, &b), 0);
	assert_ptr_equal((char *)a + (4 << 20), b);
	strata_pool_free(p, a);
	strata_pool_free(p, b);
	assert_int_equal(strata_pool_alloc(p, 8 << 20, 0, 0, &c), 0);
	assert_ptr_equal(c, a); /* the merged block, no new growth */
	assert_true(stats(p).bytes_reserved == 8 << 20);
	strata_pool_free(p, c);
	strata_pool_destroy(p);
}

static void test_reuse_after_free_costs_no_commit(void **state)
{
	struct strata_pool *p = make_pool(NULL);
	uint64_t commits;
	void *a;
	int i;

	(void)state;
	assert_int_equal(strata_pool_alloc(p, 16 << 20, 0, 0, &a), 0);
	strata_pool_free(p, a);
	commits = stats(p).commits;
	for (i = 0; i < 100; i++) {
		assert_int_equal(strata_pool_alloc(p, 16 << 20, 0, 0, &a), 0);
		strata_pool_free(p, a);
	}
	assert_true(stats(p).commits == commits);
	strata_pool_destroy(p);
}

static void test_trim_lowers_rss(void **state)
{
	STRATA_POOL_OPTS(opts, .decay_ms = STRATA_DECAY_NEVER);
	struct strata_pool *p = make_pool(&opts);
	long before, after;
	int64_t released;
	void *a;

	(void)state;
	assert_int_equal(strata_pool_alloc(p, 256 << 20, 0, 0, &a), 0);
	memset(a, 1, 256 << 20);
	strata_pool_free(p, a);
	before = rss_bytes();
	released = strata_pool_trim(p, 0);
	after = rss_bytes();
	assert_true(released >= 256 << 20);
	assert_true(before - after >= 250L << 20);
	assert_true(stats(p).purged_bytes >= 256ULL << 20);
	/* The memory comes back on demand, zeroed. */
	assert_int_equal(strata_pool_alloc(p, 256 << 20, 0, STRATA_ALLOC_ZERO, &a), 0);
	assert_int_equal(((char *)a)[12345], 0);
	strata_pool_free(p, a);
	strata_pool_destroy(p);
}

static void test_trim_keeps_what_it_is_told(void **state)
{
	STRATA_POOL_OPTS(opts, .decay_ms = STRATA_DECAY_NEVER, .flags = STRATA_POOL_NO_SMALL);
	struct strata_pool *p = make_pool(&opts);
	void *a[8];
	int i;

	(void)state;
	for (i = 0; i < 8; i++)
		assert_int_equal(strata_pool_alloc(p, 8 << 20, 0, 0, &a[i]), 0);
	for (i = 0; i < 8; i += 2) /* four separate free blocks */
		strata_pool_free(p, a[i]);
	strata_pool_trim(p, 16 << 20);
	assert_true(stats(p).bytes_reserved >= (4 * 8 + 16) << 20);
	assert_true(stats(p).bytes_reserved < (4 * 8 + 32) << 20);
	for (i = 1; i < 8; i += 2)
		strata_pool_free(p, a[i]);
	strata_pool_destroy(p);
}

static void test_decay_purges_idle_memory(void **state)
{
	STRATA_POOL_OPTS(opts, .decay_ms = 50, .flags = STRATA_POOL_NO_SMALL);
	struct strata_pool *p = make_pool(&opts);
	void *a, *b;

	(void)state;
	assert_int_equal(strata_pool_alloc(p, 64 << 20, 0, 0, &a), 0);
	assert_int_equal(strata_pool_alloc(p, 1 << 20, 0, 0, &b), 0);
	strata_pool_free(p, a);
	usleep(200 * 1000);
	/* Any later pool operation applies decay. */
	strata_pool_free(p, b);
	assert_true(stats(p).purged_bytes >= 62 << 20);
	assert_true(stats(p).bytes_reserved < 8 << 20);
	strata_pool_destroy(p);
}

static void test_pressure_levels(void **state)
{
	STRATA_POOL_OPTS(opts, .decay_ms = STRATA_DECAY_NEVER);
	struct strata_pool *p = make_pool(&opts);
	void *a, *small;

	(void)state;
	assert_int_equal(strata_pool_alloc(p, 32 << 20, 0, 0, &a), 0);
	assert_int_equal(strata_pool_alloc(p, 64, 0, 0, &small), 0);
	strata_pool_free(p, a);
	assert_int_equal(strata_mm_pressure(test_rt, STRATA_PRESSURE_NORMAL), 0);
	assert_true(strata_mm_pressure(test_rt, STRATA_PRESSURE_CRITICAL) >= 32 << 20);
	/* Every cached free byte is gone: only the span holding the live
	 * small object stays committed. */
	assert_true(stats(p).bytes_reserved <= 64 << 10);
	assert_int_equal(strata_mm_pressure(test_rt, (enum strata_pressure)9), -EINVAL);
	strata_pool_free(p, small);
	strata_pool_destroy(p);
}

static void test_prefill_commits_up_front(void **state)
{
	STRATA_POOL_OPTS(opts, .prefill_bytes = 32 << 20, .decay_ms = STRATA_DECAY_NEVER);
	struct strata_pool *p = make_pool(&opts);
	uint64_t commits = stats(p).commits;
	void *a;

	(void)state;
	assert_true(stats(p).bytes_reserved >= 32 << 20);
	assert_int_equal(strata_pool_alloc(p, 30 << 20, 0, 0, &a), 0);
	assert_true(stats(p).commits == commits);
	strata_pool_free(p, a);
	strata_pool_destroy(p);
}

static void test_hugepages_cover_the_pool(void **state)
{
	STRATA_POOL_OPTS(opts, .flags = STRATA_POOL_HUGEPAGES);
	char mode[128] = "";
	struct strata_pool *p;
	void *a;

	(void)state;
	st_read_text("/sys/kernel/mm/transparent_hugepage/enabled", mode, sizeof(mode));
	if (strstr(mode, "[never]") || !*mode)
		TEST_SKIP("transparent huge pages are disabled on this machine");
	p = make_pool(&opts);
	assert_int_equal(strata_pool_alloc(p, 64 << 20, 2 << 20, 0, &a), 0);
	assert_true(stats(p).hugepage_coverage >= 0.9);
	strata_pool_free(p, a);
	strata_pool_destroy(p);
}

static void test_many_pools_beyond_cache_slots(void **state)
{
	struct strata_pool *pools[ST_TC_SLOTS + 8];
	unsigned i;

	(void)state;
	for (i = 0; i < ST_ARRAY_SIZE(pools); i++) {
		void *a;

		pools[i] = make_pool(NULL);
		assert_int_equal(strata_pool_alloc(pools[i], 48, 0, 0, &a), 0);
		assert_int_equal(strata_pool_free(pools[i], a), 0);
		assert_true(stats(pools[i]).bytes_in_use == 0);
	}
	for (i = 0; i < ST_ARRAY_SIZE(pools); i++)
		strata_pool_destroy(pools[i]);
}

static void test_destroy_with_live_blocks_leaks_nothing(void **state)
{
	struct fail_alloc fa = { 0 };
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF);
	struct strata_rt *own;
	struct strata_pool *p;
	void *a;
	int i;

	(void)state;
	/* A runtime of its own, so that the counting hooks can be installed. */
	strata_rt_destroy(test_rt);
	fail_alloc_install(&fa);
	assert_int_equal(strata_rt_create(&opts, &own), 0);
	assert_int_equal(strata_pool_create(own, NULL, &p), 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(strata_pool_alloc(p, (size_t)(i % 50) * 700 + 1, 0, 0, &a), 0);
	strata_pool_destroy(p);
	/* A pool left alive is destroyed with its runtime. */
	assert_int_equal(strata_pool_create(own, NULL, &p), 0);
	assert_int_equal(strata_pool_alloc(p, 5 << 20, 0, 0, &a), 0);
	strata_rt_destroy(own);
	fail_alloc_install(NULL);
	/* The thread cache struct of this thread outlives pools by design
	 * (freed at thread exit); everything else is gone. */
	assert_true(fa.live <= 1);
	rt_setup(NULL);
}

static void test_passthrough_mode(void **state)
{
	struct strata_pool *p;
	struct strata_pool_stats s;
	void *a;

	(void)state;
	setenv("STRATA_MM_PASSTHROUGH", "1", 1);
	p = make_pool(NULL);
	unsetenv("STRATA_MM_PASSTHROUGH");
	assert_int_equal(strata_pool_alloc(p, 1000, 64, STRATA_ALLOC_ZERO, &a), 0);
	assert_true((uintptr_t)a % 64 == 0);
	assert_int_equal(((char *)a)[999], 0);
	s = stats(p);
	assert_true(s.bytes_in_use >= 1000 && s.bytes_reserved == 0);
	assert_int_equal(strata_pool_free(p, a), 0);
	assert_true(stats(p).bytes_in_use == 0);
	strata_pool_destroy(p);
}

static void test_create_errors(void **state)
{
	STRATA_POOL_OPTS(opts, .kind = STRATA_MEM_DEVICE);
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF, .topology_xml = fixture("topo/two-node-gpu.xml"));
	struct strata_rt *synthetic;
	struct strata_pool *p = (struct strata_pool *)0x1;

	(void)state;
	assert_int_equal(strata_pool_create(test_rt, &opts, &p), -EINVAL); /* which device? */
	opts.device = "cuda0";
	assert_int_equal(strata_pool_create(test_rt, &opts, &p), -ENODEV); /* no backend registered */
	opts.device = NULL;
	opts.kind = (enum strata_mem_kind)7;
	assert_int_equal(strata_pool_create(test_rt, &opts, &p), -EINVAL);
	opts.kind = STRATA_MEM_HOST;
	opts.flags = 0x100;
	assert_int_equal(strata_pool_create(test_rt, &opts, &p), -EINVAL);
	opts.flags = 0;
	opts.place = STRATA_PLACE_NODE;
	opts.node = 99;
	assert_int_equal(strata_pool_create(test_rt, &opts, &p), -EINVAL);
	opts.place = STRATA_PLACE_NEAR_DEVICE;
	opts.device = "no-such-device";
	assert_int_equal(strata_pool_create(test_rt, &opts, &p), -ENODEV);
	opts.place = STRATA_PLACE_BANDWIDTH; /* this runtime has no probe */
	assert_int_equal(strata_pool_create(test_rt, &opts, &p), -ENODATA);
	assert_int_equal(strata_pool_create(NULL, NULL, &p), -EINVAL);
	assert_ptr_equal(p, (struct strata_pool *)0x1);
	assert_int_equal(strata_rt_create(&ropts, &synthetic), 0);
	assert_int_equal(strata_pool_create(synthetic, NULL, &p), -STRATA_ENOTHERE);
	strata_rt_destroy(synthetic);
}

static void test_hugetlb_needs_reserved_pages(void **state)
{
	STRATA_POOL_OPTS(opts, .flags = STRATA_POOL_HUGETLB);
	char buf[4096];
	struct strata_pool *p;
	void *a;

	(void)state;
	st_read_text("/proc/meminfo", buf, sizeof(buf));
	if (strstr(buf, "HugePages_Free:        0")) {
		assert_int_equal(strata_pool_create(test_rt, &opts, &p), -ENOMEM);
		return;
	}
	p = make_pool(&opts);
	assert_int_equal(strata_pool_alloc(p, 2 << 20, 0, 0, &a), 0);
	strata_pool_free(p, a);
	strata_pool_destroy(p);
}

#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"

static long hugepages_reserved(void)
{
	char buf[64];

	if (st_read_text(NR_HUGEPAGES, buf, sizeof(buf)) < 0)
		return -1;
	return strtol(buf, NULL, 10);
}

static int hugepages_reserve(long n)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%ld\n", n);
	FILE *f = fopen(NR_HUGEPAGES, "w");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(buf, 1, (size_t)len, f) == (size_t)len;
	ok = fclose(f) == 0 && ok;
	return ok && hugepages_reserved() == n ? 0 : -1;
}

/* With 2 MiB pages reserved (root reserves 8 for the test and gives them
 * back): the pool's memory is in them, and asking for more than are left
 * fails with -ENOMEM instead of a SIGBUS on first touch. */
static void test_hugetlb_pool_uses_reserved_pages(void **state)
{
	STRATA_POOL_OPTS(opts, .flags = STRATA_POOL_HUGETLB | STRATA_POOL_NO_SMALL, .grow_bytes = 2 << 20);
	long saved = hugepages_reserved();
	struct strata_pool *p;
	double coverage = 0;
	void *a, *b;
	int err, err_small;

	(void)state;
	if (saved < 0 || geteuid() != 0)
		TEST_SKIP("reserving hugetlb pages needs root and %s", NR_HUGEPAGES);
	if (hugepages_reserve(saved + 8))
		TEST_SKIP("the kernel could not reserve 8 more 2 MiB pages");
	/* Every check is taken before the pages are given back, then asserted. */
	p = make_pool(&opts);
	err_small = strata_pool_alloc(p, 4 << 20, 2 << 20, STRATA_ALLOC_ZERO, &a);
	if (!err_small) {
		memset(a, 0x5a, 4 << 20);
		coverage = stats(p).hugepage_coverage;
	}
	err = strata_pool_alloc(p, 64 << 20, 0, 0, &b); /* 32 pages: more than reserved */
	if (!err_small)
		strata_pool_free(p, a);
	if (!err)
		strata_pool_free(p, b);
	strata_pool_destroy(p);
	hugepages_reserve(saved);
	assert_int_equal(err_small, 0);
	assert_true(coverage >= 0.99);
	assert_int_equal(err, -ENOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes_and_alignments),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_zeroed_allocations),
		cmocka_unit_test(test_foreign_and_double_frees),
		cmocka_unit_test(test_stats_follow_allocations),
		cmocka_unit_test(test_pool_limit),
		cmocka_unit_test(test_node_and_global_limits),
		cmocka_unit_test(test_growth_merges),
		cmocka_unit_test(test_reuse_after_free_costs_no_commit),
		cmocka_unit_test(test_trim_lowers_rss),
		cmocka_unit_test(test_trim_keeps_what_it_is_told),
		cmocka_unit_test(test_decay_purges_idle_memory),
		cmocka_unit_test(test_pressure_levels),
		cmocka_unit_test(test_prefill_commits_up_front),
		cmocka_unit_test(test_hugepages_cover_the_pool),
		cmocka_unit_test(test_many_pools_beyond_cache_slots),
		cmocka_unit_test(test_destroy_with_live_blocks_leaks_nothing),
		cmocka_unit_test(test_passthrough_mode),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_hugetlb_needs_reserved_pages),
		cmocka_unit_test(test_hugetlb_pool_uses_reserved_pages),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, rt_setup, rt_teardown);
}
