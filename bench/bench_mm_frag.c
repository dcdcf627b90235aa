/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_mm_frag.c — footprint under a serving-like trace.
 *
 * The trace (seeded, identical for every allocator): KV-cache blocks of
 * 256 KiB and 2 MiB whose live total swings between 30% and 90% of a
 * budget in bursts of 50-500 operations; per step, activations of
 * (64+d)*A and (64+d)*A*B bytes (d in -4..4, A = 2304, B = 4) that live for
 * one step; and small metadata of 64 B-4 KiB, half of it kept a step longer.
 *
 * Reported: peak reserved / peak live for strata (pool stats) and for glibc
 * malloc (mallinfo2: arena + mmapped bytes) in the same run, the rounding
 * floor (peak of the usable sizes strata handed out / peak live), and the
 * number of allocations that fail for fragmentation when the pool's limit
 * is 1.05 x peak live (a failure while the pool holds at least the request
 * in free committed bytes).
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strata/strata.h>

#define KV_BUDGET (1ULL << 30)
#define STEPS 5000
#define KV_SLOTS 8192
#define META_SLOTS 64
#define ACT_A 2304
#define ACT_B 4

struct alloc_if {
	int (*alloc)(size_t n, void **p);
	void (*release)(void *p);
	size_t (*usable)(void *p);
};

static struct strata_pool *pool;

static int pool_alloc(size_t n, void **p)
{
	return strata_pool_alloc(pool, n, 0, 0, p);
}

static void pool_release(void *p)
{
	strata_pool_free(pool, p);
}

static size_t pool_usable(void *p)
{
	return (size_t)strata_pool_usable_size(pool, p);
}

static int libc_alloc(size_t n, void **p)
{
	*p = malloc(n);
	return *p ? 0 : -ENOMEM;
}

static void libc_release(void *p)
{
	free(p);
}

static size_t libc_usable(void *p)
{
	return malloc_usable_size(p);
}

struct block {
	void *p;
	size_t size, usable;
};

struct result {
	uint64_t peak_live, peak_usable, peak_libc;
	unsigned failures, frag_failures;
	unsigned long events;
};

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t live, usable_live;
static struct result res;

static void track(int64_t d_live, int64_t d_usable)
{
	live += (uint64_t)d_live;
	usable_live += (uint64_t)d_usable;
	if (live > res.peak_live)
		res.peak_live = live;
	if (usable_live > res.peak_usable)
		res.peak_usable = usable_live;
}

static int get(const struct alloc_if *a, struct block *b, size_t size, int is_pool)
{
	void *p;

	res.events++;
	if (a->alloc(size, &p)) {
		res.failures++;
		if (is_pool) {
			struct strata_pool_stats st = { .sz = sizeof(st) };

			strata_pool_stats(pool, &st);
			if (st.bytes_reserved - st.bytes_in_use >= size)
				res.frag_failures++;
		}
		b->p = NULL;
		return -1;
	}
	b->p = p;
	b->size = size;
	b->usable = a->usable(p);
	track((int64_t)size, (int64_t)b->usable);
	return 0;
}

static void put(const struct alloc_if *a, struct block *b)
{
	if (!b->p)
		return;
	res.events++;
	a->release(b->p);
	track(-(int64_t)b->size, -(int64_t)b->usable);
	b->p = NULL;
}

static void libc_sample(void)
{
	struct mallinfo2 mi = mallinfo2();
	uint64_t held = mi.arena + mi.hblkhd;

	if (held > res.peak_libc)
		res.peak_libc = held;
}

static void run_trace(const struct alloc_if *a, int is_pool)
{
	static struct block kv[KV_SLOTS], meta[2][META_SLOTS];
	uint64_t rng = 12345, kv_live = 0;
	unsigned step, i;

	memset(kv, 0, sizeof(kv));
	memset(meta, 0, sizeof(meta));
	live = usable_live = 0;
	memset(&res, 0, sizeof(res));
	for (step = 0; step < STEPS; step++) {
		/* KV target swings 30% -> 90% -> 30% of the budget. */
		double phase = (double)(step % 300) / 300.0;
		double frac = 0.3 + 0.6 * (phase < 0.5 ? phase * 2 : (1 - phase) * 2);
		uint64_t target = (uint64_t)(frac * (double)KV_BUDGET);
		unsigned burst = 50 + (unsigned)(rng_next(&rng) % 451);
		struct block act[4];
		int d = (int)(rng_next(&rng) % 9) - 4;

		for (i = 0; i < burst; i++) {
			unsigned s = (unsigned)(rng_next(&rng) % KV_SLOTS);

			if (kv_live < target && !kv[s].p) {
				if (!get(a, &kv[s], rng_next(&rng) % 5 ? 256 << 10 : 2 << 20, is_pool))
					kv_live += kv[s].size;
			} else if (kv_live >= target && kv[s].p) {
				kv_live -= kv[s].size;
				put(a, &kv[s]);
			}
		}
		get(a, &act[0], (size_t)(64 + d) * ACT_A, is_pool);
		get(a, &act[1], (size_t)(64 + d) * ACT_A * ACT_B, is_pool);
		get(a, &act[2], (size_t)(64 + d) * ACT_A, is_pool);
		get(a, &act[3], (size_t)(64 + d) * ACT_A * ACT_B, is_pool);
		for (i = 0; i < META_SLOTS; i++) {
			put(a, &meta[step % 2][i]);
			get(a, &meta[step % 2][i], 64 + rng_next(&rng) % 4033, is_pool);
		}
		if (!is_pool)
			libc_sample();
		for (i = 0; i < 4; i++)
			put(a, &act[i]);
	}
	for (i = 0; i < KV_SLOTS; i++)
		put(a, &kv[i]);
	for (i = 0; i < META_SLOTS; i++) {
		put(a, &meta[0][i]);
		put(a, &meta[1][i]);
	}
}

int main(void)
{
	static const struct alloc_if strata_if = { pool_alloc, pool_release, pool_usable };
	static const struct alloc_if libc_if = { libc_alloc, libc_release, libc_usable };
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF);
	struct strata_pool_stats st = { .sz = sizeof(st) };
	struct result free_run, limited, glibc;
	double strata_ratio, glibc_ratio, floor_ratio;
	struct strata_rt *rt;
	uint64_t limit;
	int ok;

	if (strata_rt_create(&ropts, &rt))
		return 1;
	{
		STRATA_POOL_OPTS(opts, .decay_ms = STRATA_DECAY_NEVER);

		if (strata_pool_create(rt, &opts, &pool))
			return 1;
	}
	run_trace(&strata_if, 1);
	free_run = res;
	strata_pool_stats(pool, &st);
	strata_pool_destroy(pool);
	strata_ratio = (double)st.peak_reserved / (double)free_run.peak_live;
	floor_ratio = (double)free_run.peak_usable / (double)free_run.peak_live;

	run_trace(&libc_if, 0);
	glibc = res;
	glibc_ratio = (double)glibc.peak_libc / (double)glibc.peak_live;

	limit = (uint64_t)((double)free_run.peak_live * 1.05);
	{
		STRATA_POOL_OPTS(opts, .decay_ms = STRATA_DECAY_NEVER, .limit_bytes = limit);

		if (strata_pool_create(rt, &opts, &pool))
			return 1;
	}
	run_trace(&strata_if, 1);
	limited = res;
	strata_pool_destroy(pool);

	ok = free_run.failures == 0 && glibc.failures == 0;
	printf("{\"bench\":\"mm.frag\",\"case\":\"serving-trace\",\"metric\":\"peak_reserved_over_live\",\"unit\":\"x\","
	       "\"value\":%.4f,\"baseline\":\"glibc\",\"baseline_value\":%.4f,\"ratio\":%.3f,\"better\":\"lower\","
	       "\"ok\":%s,\"rounding_floor\":%.4f,\"above_floor\":%.4f,\"peak_live_bytes\":%llu,\"events\":%lu}\n",
	       strata_ratio, glibc_ratio, strata_ratio / glibc_ratio, ok ? "true" : "false", floor_ratio,
	       strata_ratio / floor_ratio, (unsigned long long)free_run.peak_live, free_run.events);
	printf("{\"bench\":\"mm.frag\",\"case\":\"budget-1.05x-peak-live\",\"metric\":\"fragmentation_failures\","
	       "\"unit\":\"count\",\"value\":%u,\"baseline\":\"goal\",\"baseline_value\":0,\"ratio\":null,"
	       "\"better\":\"lower\",\"ok\":%s,\"all_failures\":%u,\"limit_bytes\":%llu}\n",
	       limited.frag_failures, ok ? "true" : "false", limited.failures, (unsigned long long)limit);
	fprintf(stderr, "  frag: strata peak reserved/live %.4f (floor %.4f, %.4f above), glibc %.4f; "
			"at 1.05x budget: %u failures, %u from fragmentation\n",
		strata_ratio, floor_ratio, strata_ratio / floor_ratio, glibc_ratio, limited.failures,
		limited.frag_failures);
	strata_rt_destroy(rt);
	return ok ? 0 : 1;
}
