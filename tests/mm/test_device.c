/* SPDX-License-Identifier: MIT */
/*
 * tests/mm/test_device.c — the device-memory slot.  A stand-in backend
 * registers "fake0" with a provider whose memory the pool must treat as
 * untouchable (host_accessible = false): the pool may only carve it with
 * the large allocator and keep its metadata on the host.  The stand-in
 * guards the memory with PROT_NONE, so any touch by the pool would crash
 * the test.  The CUDA backend registers real devices the same way.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "core/core_int.h"
#include "helpers.h"
#include "mm/mm_int.h"

struct fake {
	unsigned commits, decommits;
};

static int fake_reserve(void *ctx, size_t bytes, size_t align, void **base)
{
	char *m = mmap(NULL, bytes + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	(void)ctx;
	if (m == MAP_FAILED)
		return -ENOMEM;
	*base = (void *)(((uintptr_t)m + align - 1) & ~(uintptr_t)(align - 1));
	return 0;
}

static int fake_commit(void *ctx, void *addr, size_t bytes, struct st_commit_result *res)
{
	struct fake *f = ctx;

	(void)addr;
	(void)bytes;
	res->fallback_bytes = 0;
	f->commits++; /* "device" memory: stays PROT_NONE to the host */
	return 0;
}

static int fake_decommit(void *ctx, void *addr, size_t bytes)
{
	struct fake *f = ctx;

	(void)addr;
	(void)bytes;
	f->decommits++;
	return 0;
}

static int fake_release(void *ctx, void *base, size_t bytes)
{
	(void)ctx;
	(void)base;
	(void)bytes; /* the slack of the aligned reservation stays mapped: a test */
	return 0;
}

static void fake_destroy(void *ctx)
{
	(void)ctx;
}

static const struct st_mm_provider_ops fake_ops = {
	.name = "fake-device",
	.reserve = fake_reserve,
	.commit = fake_commit,
	.decommit = fake_decommit,
	.release = fake_release,
	.destroy = fake_destroy,
	.host_accessible = false,
};

static struct fake fake_state;

static int make_fake(void *arg, struct st_mm_provider *out)
{
	out->ops = &fake_ops;
	out->ctx = arg;
	return 0;
}

static void test_device_pools(void **state)
{
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF);
	STRATA_POOL_OPTS(opts, .kind = STRATA_MEM_DEVICE, .device = "fake0", .decay_ms = STRATA_DECAY_NEVER);
	struct strata_pool_stats s = { .sz = sizeof(s) };
	struct strata_pool *pool;
	struct strata_rt *rt;
	void *a, *b, *c;

	(void)state;
	assert_int_equal(strata_rt_create(&ropts, &rt), 0);
	assert_int_equal(strata_pool_create(rt, &opts, &pool), -ENODEV); /* nothing registered yet */
	assert_int_equal(strata_mm_device_stats(rt, "fake0", &s), -ENODEV);
	assert_int_equal(st_rt_register_device_memory(rt, "fake0", make_fake, &fake_state), 0);
	assert_int_equal(st_rt_register_device_memory(rt, "fake0", make_fake, &fake_state), -EEXIST);
	opts.device = NULL;
	assert_int_equal(strata_pool_create(rt, &opts, &pool), -EINVAL);
	opts.device = "fake0";
	assert_int_equal(strata_pool_create(rt, &opts, &pool), 0);

	/* Small and large requests alike come from the large allocator. */
	assert_int_equal(strata_pool_alloc(pool, 100, 0, 0, &a), 0);
	assert_int_equal(strata_pool_alloc(pool, 3 << 20, 2 << 20, 0, &b), 0);
	assert_true((uintptr_t)b % (2 << 20) == 0);
	assert_int_equal(strata_pool_usable_size(pool, a), 4096);
	/* The pool cannot zero memory it must not touch. */
	assert_int_equal(strata_pool_alloc(pool, 100, 0, STRATA_ALLOC_ZERO, &c), -EINVAL);
	assert_true(fake_state.commits >= 1);

	assert_int_equal(strata_mm_device_stats(rt, "fake0", &s), 0);
	assert_true(s.bytes_in_use == 4096 + (3 << 20));
	assert_int_equal(s.node, -1);
	assert_int_equal(strata_pool_free(pool, a), 0);
	assert_int_equal(strata_pool_free(pool, a), -EINVAL);
	assert_int_equal(strata_pool_free(pool, b), 0);
	assert_true(strata_pool_trim(pool, 0) > 0);
	assert_true(fake_state.decommits >= 1);
	assert_int_equal(strata_mm_device_stats(rt, "fake0", &s), 0);
	assert_true(s.bytes_in_use == 0 && s.bytes_reserved == 0);
	strata_pool_destroy(pool);
	strata_rt_destroy(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_pools),
	};

	return RUN_TESTS(tests);
}
