/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_util.h — what the benchmarks share: a clock, medians, page
 * faults and RSS, and the priming pass that gives every population
 * measurement warm pages.  Header-only: each benchmark is one source file.
 */
#ifndef STRATA_BENCH_UTIL_H
#define STRATA_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of @n values (sorts them in place). */
static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), bench_cmp_double);
	return v[n / 2];
}

static inline long bench_minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static inline long bench_rss(void)
{
	long pages = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * sysconf(_SC_PAGESIZE);
}

/*
 * Every population measurement starts from the same state.  On a virtual
 * machine the host backs guest memory lazily and takes back pages the
 * guest has freed for a while (free page reporting), so whichever method
 * runs after a slow one would find cold pages and look slow itself.
 * Populating the same number of bytes right before each measurement gives
 * every method warm pages.
 */
static inline void bench_settle(size_t bytes)
{
	char *a = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (a == MAP_FAILED)
		return;
	madvise(a, bytes, MADV_HUGEPAGE);
	madvise(a, bytes, MADV_POPULATE_WRITE);
	munmap(a, bytes);
}

/* The line a peer's script prints about how it runs (bench/torch_config.py),
 * made safe inside a JSON string; "unknown" when there is none. */
static inline void bench_peer_config(FILE *f, char *out, size_t len)
{
	size_t i;

	if (!f || !fgets(out, (int)len, f)) {
		snprintf(out, len, "unknown");
		return;
	}
	out[strcspn(out, "\n")] = '\0';
	for (i = 0; out[i]; i++)
		if (out[i] == '"' || out[i] == '\\' || (unsigned char)out[i] < 0x20)
			out[i] = '\'';
}

#endif /* STRATA_BENCH_UTIL_H */
