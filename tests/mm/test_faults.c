/* SPDX-License-Identifier: MIT */
/*
 * tests/mm/test_faults.c — a provider that fails at random (reserve,
 * commit, decommit), and bookkeeping allocations that fail at random,
 * under a random workload.  Every failure must surface as -ENOMEM or be
 * absorbed; nothing may crash, corrupt a live block or leak.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "mm/mm_int.h"

struct flaky {
	struct st_mm_provider inner;
	uint64_t rng;
	unsigned percent; /* chance of failure per call */
	unsigned failed;
};

static bool roll(struct flaky *f)
{
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	if (f->rng % 100 >= f->percent)
		return false;
	f->failed++;
	return true;
}

static int flaky_reserve(void *ctx, size_t bytes, size_t align, void **base)
{
	struct flaky *f = ctx;

	return roll(f) ? -ENOMEM : f->inner.ops->reserve(f->inner.ctx, bytes, align, base);
}

static int flaky_commit(void *ctx, void *addr, size_t bytes, struct st_commit_result *res)
{
	struct flaky *f = ctx;

	return roll(f) ? -ENOMEM : f->inner.ops->commit(f->inner.ctx, addr, bytes, res);
}

static int flaky_decommit(void *ctx, void *addr, size_t bytes)
{
	struct flaky *f = ctx;

	/* A failed decommit leaves the memory resident; the pool carries on. */
	return roll(f) ? -EIO : f->inner.ops->decommit(f->inner.ctx, addr, bytes);
}

static int flaky_release(void *ctx, void *base, size_t bytes)
{
	struct flaky *f = ctx;

	return f->inner.ops->release(f->inner.ctx, base, bytes);
}

static void flaky_destroy(void *ctx)
{
	struct flaky *f = ctx;

	f->inner.ops->destroy(f->inner.ctx);
}

static const struct st_mm_provider_ops flaky_ops = {
	.name = "flaky",
	.reserve = flaky_reserve,
	.commit = flaky_commit,
	.decommit = flaky_decommit,
	.release = flaky_release,
	.destroy = flaky_destroy,
	.host_accessible = true,
};

/* Bookkeeping allocations that fail at random. */
static uint64_t hook_rng = 42;
static unsigned hook_percent;
static long hook_live;

static void *rnd_malloc(size_t n, void *u)
{
	void *p;

	(void)u;
	hook_rng ^= hook_rng << 13;
	hook_rng ^= hook_rng >> 7;
	hook_rng ^= hook_rng << 17;
	if (hook_rng % 100 < hook_percent)
		return NULL;
	p = malloc(n);
	if (p)
		__atomic_add_fetch(&hook_live, 1, __ATOMIC_RELAXED);
	return p;
}

static void *rnd_realloc(void *p, size_t n, void *u)
{
	return p ? realloc(p, n) : rnd_malloc(n, u);
}

static void rnd_free(void *p, void *u)
{
	(void)u;
	if (p)
		__atomic_sub_fetch(&hook_live, 1, __ATOMIC_RELAXED);
	free(p);
}

struct run {
	unsigned seed, provider_percent, hook_percent;
	unsigned ok, enomem;
};

/* The workload runs on its own thread so that the thread's cache is freed
 * when it exits, before the leak count is taken. */
static void *workload(void *arg)
{
	struct run *r = arg;
	struct st_os_provider_cfg *cfg = calloc(1, sizeof(*cfg));
	struct flaky f = { .rng = r->seed * 2654435761u + 1, .percent = r->provider_percent };
	struct st_pool_cfg pc = { .name = "flaky", .node = -1, .grow_bytes = 2 << 20, .decay_ms = 1 };
	struct strata_pool *pool = NULL;
	unsigned char *live[128];
	size_t sizes[128];
	uint64_t rng = r->seed + 7;
	unsigned i, k;

	memset(live, 0, sizeof(live));
	if (st_os_provider_create(cfg, &f.inner))
		goto out;
	pc.provider = (struct st_mm_provider){ .ops = &flaky_ops, .ctx = &f };
	hook_percent = r->hook_percent;
	if (st_pool_create(NULL, &pc, &pool))
		goto out;
	for (i = 0; i < 4000; i++) {
		unsigned s;
		void *p;
		int err;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		s = (unsigned)(rng % 128);
		if (live[s]) {
			for (k = 0; k < sizes[s]; k += 512)
				assert_int_equal(live[s][k], (unsigned char)s);
			assert_int_equal(strata_pool_free(pool, live[s]), 0);
			live[s] = NULL;
			continue;
		}
		sizes[s] = (rng >> 8) % 3 == 0 ? (size_t)((rng >> 16) % (4 << 20)) + 1 : (size_t)((rng >> 16) % 9000) + 1;
		err = strata_pool_alloc(pool, sizes[s], (rng >> 40) % 2 ? 4096 : 0, 0, &p);
		if (err) {
			assert_int_equal(err, -ENOMEM);
			r->enomem++;
			continue;
		}
		r->ok++;
		memset(p, (int)s, sizes[s]);
		live[s] = p;
		if (i % 500 == 0)
			strata_pool_trim(pool, 0);
	}
	for (i = 0; i < 128; i++)
		if (live[i])
			assert_int_equal(strata_pool_free(pool, live[i]), 0);
out:
	hook_percent = 0;
	strata_pool_destroy(pool);
	free(cfg);
	return NULL;
}

static void test_random_failures(void **state)
{
	struct strata_alloc_hooks hooks = {
		.sz = sizeof(hooks), .malloc = rnd_malloc, .realloc = rnd_realloc, .free = rnd_free,
	};
	unsigned seed, failures = 0, successes = 0;

	(void)state;
	assert_int_equal(strata_alloc_set_hooks(&hooks), 0);
	for (seed = 1; seed <= 24; seed++) {
		struct run r = { .seed = seed, .provider_percent = seed % 4 * 10, .hook_percent = seed % 3 * 3 };
		pthread_t t;

		assert_int_equal(pthread_create(&t, NULL, workload, &r), 0);
		pthread_join(t, NULL);
		assert_int_equal(__atomic_load_n(&hook_live, __ATOMIC_RELAXED), 0);
		failures += r.enomem;
		successes += r.ok;
	}
	assert_int_equal(strata_alloc_set_hooks(NULL), 0);
	/* The injection really happened, and the pools still worked. */
	assert_true(failures > 100);
	assert_true(successes > 10000);
}

/* Decommit that always fails: nothing counts as released, and memory that
 * was never zeroed is not handed out as zeroed. */
static void test_failed_decommit_is_not_released(void **state)
{
	struct st_os_provider_cfg *cfg = calloc(1, sizeof(*cfg));
	struct flaky f = { .rng = 1, .percent = 0 };
	struct st_pool_cfg pc = { .name = "nodecommit", .node = -1, .grow_bytes = 4 << 20,
				  .flags = STRATA_POOL_NO_SMALL, .decay_ms = 0 };
	struct strata_pool *pool;
	struct strata_pool_stats s = { .sz = sizeof(s) };
	unsigned char *p;
	uint64_t reserved;
	size_t i;

	(void)state;
	assert_non_null(cfg);
	assert_int_equal(st_os_provider_create(cfg, &f.inner), 0);
	free(cfg);
	pc.provider = (struct st_mm_provider){ .ops = &flaky_ops, .ctx = &f };
	assert_int_equal(st_pool_create(NULL, &pc, &pool), 0);
	assert_int_equal(strata_pool_alloc(pool, 4 << 20, 0, 0, (void **)&p), 0);
	memset(p, 0xee, 4 << 20);
	assert_int_equal(strata_pool_free(pool, p), 0);
	assert_int_equal(strata_pool_stats(pool, &s), 0);
	reserved = s.bytes_reserved;
	f.percent = 100; /* every decommit fails from now on */
	assert_true(strata_pool_trim(pool, 0) == 0);
	assert_int_equal(strata_pool_stats(pool, &s), 0);
	assert_true(s.bytes_reserved == reserved);
	f.percent = 0;
	assert_int_equal(strata_pool_alloc(pool, 4 << 20, 0, STRATA_ALLOC_ZERO, (void **)&p), 0);
	for (i = 0; i < 4 << 20; i += 4099)
		assert_int_equal(p[i], 0);
	assert_int_equal(strata_pool_free(pool, p), 0);
	strata_pool_destroy(pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_failures),
		cmocka_unit_test(test_failed_decommit_is_not_released),
	};

	return RUN_TESTS(tests);
}
