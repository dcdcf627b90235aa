/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_mm_trim.c — releasing 8 GiB of cached free memory with
 * strata_pool_trim(), against the physical limit measured in the same run:
 * one madvise(MADV_DONTNEED) over the same number of populated bytes.
 * Both sides are populated the same way first (MADV_POPULATE_WRITE), and
 * both must leave RSS lower by the bytes released (checked with
 * /proc/self/statm) before a figure counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <strata/strata.h>

#include "bench_util.h"

#define REPS 5

int main(int argc, char **argv)
{
	size_t bytes = (argc > 1 ? strtoull(argv[1], NULL, 0) : 8ULL) << 30;
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF);
	STRATA_POOL_OPTS(popts, .decay_ms = STRATA_DECAY_NEVER, .flags = STRATA_POOL_NO_SMALL);
	double t_pool[REPS], t_raw[REPS], lo, hi, v, b;
	struct strata_pool *pool;
	struct strata_rt *rt;
	int r, ok = 1;

	if (strata_rt_create(&ropts, &rt) || strata_pool_create(rt, &popts, &pool))
		return 1;
	for (r = 0; r < REPS; r++) {
		long before;
		void *p;
		char *m;
		double t0;

		/* strata: commit (populated by the pool), free, trim. */
		if (strata_pool_alloc(pool, bytes, 0, 0, &p)) {
			printf("{\"bench\":\"mm.trim\",\"skipped\":\"cannot allocate %zu bytes\"}\n", bytes);
			return 1;
		}
		strata_pool_free(pool, p);
		before = bench_rss();
		t0 = bench_now();
		if (strata_pool_trim(pool, 0) < (int64_t)bytes)
			ok = 0;
		t_pool[r] = bench_now() - t0;
		if (before - bench_rss() < (long)(bytes - (bytes >> 6)))
			ok = 0; /* RSS did not drop by the bytes released */

		/* raw: mmap, populate the same way, one madvise. */
		m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED || madvise(m, bytes, MADV_POPULATE_WRITE))
			return 1;
		before = bench_rss();
		t0 = bench_now();
		madvise(m, bytes, MADV_DONTNEED);
		t_raw[r] = bench_now() - t0;
		if (before - bench_rss() < (long)(bytes - (bytes >> 6)))
			ok = 0;
		munmap(m, bytes);
	}
	qsort(t_pool, REPS, sizeof(double), bench_cmp_double);
	qsort(t_raw, REPS, sizeof(double), bench_cmp_double);
	v = t_pool[REPS / 2] * 1e3;
	b = t_raw[REPS / 2] * 1e3;
	lo = t_pool[0] * 1e3;
	hi = t_pool[REPS - 1] * 1e3;
	printf("{\"bench\":\"mm.trim\",\"case\":\"%zuGiB\",\"metric\":\"release_ms\",\"unit\":\"ms\",\"value\":%.2f,"
	       "\"baseline\":\"madvise_dontneed\",\"baseline_value\":%.2f,\"ratio\":%.3f,\"better\":\"lower\","
	       "\"ok\":%s,\"min\":%.2f,\"max\":%.2f,\"reps\":%d}\n",
	       bytes >> 30, v, b, v / b, ok ? "true" : "false", lo, hi, REPS);
	fprintf(stderr, "  trim %zu GiB: strata %.1f ms, raw madvise %.1f ms, ratio %.2f\n", bytes >> 30, v, b, v / b);
	strata_pool_destroy(pool);
	strata_rt_destroy(rt);
	return ok ? 0 : 1;
}
