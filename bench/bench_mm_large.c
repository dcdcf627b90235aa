/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_mm_large.c — acquire, touch (one write per 4 KiB) and release
 * blocks of 2 MiB to 1 GiB, three ways:
 *
 *   reuse  the pool already holds the memory: acquire latency and page
 *          faults per cycle (the goal: under 1 us and none), and the
 *          acquire+touch rate against touching an already resident buffer
 *          of the same size (the memory's own limit);
 *   purge  the block was trimmed back to the OS after the last cycle;
 *   cold   the pool has never held the memory: a new pool each cycle,
 *          created outside the timed part (creation is reported apart);
 *
 * purge and cold are compared with the fastest way to populate the same
 * bytes, measured in the same run: mmap + MADV_HUGEPAGE +
 * MADV_POPULATE_WRITE, with two threads from 32 MiB up as strata uses.
 * Each repetition measures its baseline beside it (before or after, in
 * turn) and the ratio is the median of those pairs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <strata/strata.h>

#include "bench_util.h"

#define REPS 15

static void touch(char *p, size_t bytes)
{
	size_t off;

	for (off = 0; off < bytes; off += 4096)
		p[off] = 1;
}

struct half {
	char *p;
	size_t n;
};

static void *populate_half(void *arg)
{
	struct half *h = arg;

	madvise(h->p, h->n, MADV_POPULATE_WRITE);
	return NULL;
}

/* The fastest populate found by bench_mm_pretouch, then the same touch. */
static double baseline(size_t bytes)
{
	double t0 = bench_now(), t;
	char *a = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct half h[2] = { { a, bytes / 2 }, { a + bytes / 2, bytes / 2 } };
	pthread_t tid;

	if (a == MAP_FAILED)
		return -1;
	madvise(a, bytes, MADV_HUGEPAGE);
	if (bytes >= (32u << 20)) {
		pthread_create(&tid, NULL, populate_half, &h[1]);
		populate_half(&h[0]);
		pthread_join(tid, NULL);
	} else {
		madvise(a, bytes, MADV_POPULATE_WRITE);
	}
	touch(a, bytes);
	t = bench_now() - t0;
	munmap(a, bytes);
	return t;
}

static void line(const char *c, const char *metric, const char *unit, double v, const char *base, double b,
		 const char *better, int ok, const char *extra)
{
	printf("{\"bench\":\"mm.large\",\"case\":\"%s\",\"metric\":\"%s\",\"unit\":\"%s\",\"value\":%.3f,"
	       "\"baseline\":\"%s\",\"baseline_value\":%.3f,\"ratio\":%.3f,\"better\":\"%s\",\"ok\":%s,\"reps\":%d%s}\n",
	       c, metric, unit, v, base, b, v / b, better, ok ? "true" : "false", REPS, extra);
	fprintf(stderr, "  %-14s %-16s %10.3f %-5s vs %-18s %10.3f  ratio %.2f\n", c, metric, v, unit, base, b, v / b);
}

/* strata's population rate against its paired baseline: GiB/s from the
 * medians, ratio as the median of the per-repetition ratios. */
static void paired_line(const char *c, double gib, const double *strata_s, const double *base_s, int ok,
			const char *extra)
{
	double v[REPS], b[REPS], ratio[REPS], value, base, rmed;
	int r;

	for (r = 0; r < REPS; r++) {
		v[r] = strata_s[r];
		b[r] = base_s[r];
		ratio[r] = base_s[r] / strata_s[r];
	}
	value = gib / bench_median(v, REPS);
	base = gib / bench_median(b, REPS);
	rmed = bench_median(ratio, REPS);
	printf("{\"bench\":\"mm.large\",\"case\":\"%s\",\"metric\":\"gibps\",\"unit\":\"GiB/s\",\"value\":%.3f,"
	       "\"baseline\":\"thp_populate_write\",\"baseline_value\":%.3f,\"ratio\":%.3f,\"better\":\"higher\","
	       "\"ok\":%s,\"min\":%.3f,\"max\":%.3f,\"reps\":%d%s}\n",
	       c, value, base, rmed, ok ? "true" : "false", gib / v[REPS - 1], gib / v[0], REPS, extra);
	fprintf(stderr, "  %-14s %-16s %10.3f %-5s vs %-18s %10.3f  ratio %.2f (paired)\n", c, "gibps", value, "GiB/s",
		"thp_populate_write", base, rmed);
}

int main(void)
{
	static const size_t sizes_mib[] = { 2, 16, 64, 256, 1024 };
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF);
	STRATA_POOL_OPTS(popts, .flags = STRATA_POOL_HUGEPAGES | STRATA_POOL_NO_SMALL, .decay_ms = STRATA_DECAY_NEVER);
	struct strata_rt *rt;
	unsigned i;
	int r, ok = 1;

	if (strata_rt_create(&ropts, &rt))
		return 1;
	for (i = 0; i < sizeof(sizes_mib) / sizeof(sizes_mib[0]); i++) {
		size_t bytes = sizes_mib[i] << 20;
		double acq[REPS], reuse[REPS], resident[REPS], purge[REPS], cold[REPS], purge_base[REPS], cold_base[REPS], gib;
		double create_us[REPS];
		struct strata_pool *pool;
		char name[32], extra[96];
		long faults = 0;
		void *p;

		gib = (double)bytes / (1 << 30);
		if (strata_pool_create(rt, &popts, &pool) || strata_pool_alloc(pool, bytes, 0, 0, &p))
			return 1;
		touch(p, bytes); /* resident now; the limit for reuse */
		for (r = 0; r < REPS; r++) {
			double t0 = bench_now();

			touch(p, bytes);
			resident[r] = bench_now() - t0;
		}
		strata_pool_free(pool, p);
		for (r = 0; r < REPS; r++) {
			long f0 = bench_minflt();
			double t0 = bench_now(), t1;

			if (strata_pool_alloc(pool, bytes, 0, 0, &p))
				return 1;
			t1 = bench_now();
			touch(p, bytes);
			reuse[r] = bench_now() - t0;
			acq[r] = (t1 - t0) * 1e6;
			strata_pool_free(pool, p);
			faults += bench_minflt() - f0;
		}
		/* purge and cold: each repetition measures its own baseline right
		 * beside it, first or second in turn, and the ratio is the median
		 * of those pairs (the host behind this VM makes population speed
		 * swing between repetitions; see bench_settle()). */
		for (r = 0; r < REPS; r++) {
			double t0;

			strata_pool_trim(pool, 0);
			if (r % 2) {
				bench_settle(bytes);
				purge_base[r] = baseline(bytes);
			}
			bench_settle(bytes);
			t0 = bench_now();
			if (strata_pool_alloc(pool, bytes, 0, 0, &p))
				return 1;
			touch(p, bytes);
			purge[r] = bench_now() - t0;
			strata_pool_free(pool, p);
			if (!(r % 2)) {
				bench_settle(bytes);
				purge_base[r] = baseline(bytes);
			}
		}
		strata_pool_destroy(pool);
		for (r = 0; r < REPS; r++) {
			struct strata_pool *fresh;
			double t0;

			if (r % 2) {
				bench_settle(bytes);
				cold_base[r] = baseline(bytes);
			}
			bench_settle(bytes);
			t0 = bench_now();
			if (strata_pool_create(rt, &popts, &fresh))
				return 1;
			create_us[r] = (bench_now() - t0) * 1e6;
			t0 = bench_now();
			if (strata_pool_alloc(fresh, bytes, 0, 0, &p))
				return 1;
			touch(p, bytes);
			cold[r] = bench_now() - t0;
			strata_pool_destroy(fresh);
			if (!(r % 2)) {
				bench_settle(bytes);
				cold_base[r] = baseline(bytes);
			}
		}
		snprintf(name, sizeof(name), "%zuMiB/reuse", sizes_mib[i]);
		snprintf(extra, sizeof(extra), ",\"faults_per_cycle\":%.1f", (double)faults / REPS);
		{
			double a = bench_median(acq, REPS);

			line(name, "acquire_us", "us", a, "goal_1us", 1.0, "lower", ok && faults == 0, extra);
		}
		line(name, "gibps", "GiB/s", gib / bench_median(reuse, REPS), "touch_resident", gib / bench_median(resident, REPS),
		     "higher", ok, "");
		snprintf(name, sizeof(name), "%zuMiB/purge", sizes_mib[i]);
		paired_line(name, gib, purge, purge_base, ok, "");
		snprintf(name, sizeof(name), "%zuMiB/cold", sizes_mib[i]);
		snprintf(extra, sizeof(extra), ",\"pool_create_us\":%.1f", bench_median(create_us, REPS));
		paired_line(name, gib, cold, cold_base, ok, extra);
	}
	strata_rt_destroy(rt);
	return ok ? 0 : 1;
}
