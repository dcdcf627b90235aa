/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_mm_pretouch.c — populating a node-bound pool, against the
 * fastest way to populate the same bytes measured in the same run.
 *
 * strata: strata_pool_create() with prefill_bytes (reserve, mbind, THP,
 * MADV_POPULATE_WRITE from threads bound to the node), 1 and 2 threads.
 * Baselines, each with 1 and 2 threads on the same node: plain first touch
 * (one write per 4 KiB page), MADV_POPULATE_WRITE, and THP +
 * MADV_POPULATE_WRITE.  Repetitions alternate strata and baselines; the
 * ratio is strata's GiB/s over the fastest baseline at the same thread
 * count, and strata 2t over 1t is reported as the scaling.  Each
 * measurement is preceded by the same priming pass (see settle()).
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <strata/strata.h>

#include "bench_util.h"

#define REPS 7

enum method { TOUCH, POPULATE, THP_POPULATE, NMETHODS };
static const char *const method_names[NMETHODS] = { "first_touch", "populate_write", "thp_populate_write" };

struct share {
	char *addr;
	size_t bytes;
	int cpu;
	enum method m;
};

static void *fill(void *p)
{
	struct share *s = p;
	cpu_set_t set;
	size_t off;

	CPU_ZERO(&set);
	CPU_SET(s->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (s->m == TOUCH)
		for (off = 0; off < s->bytes; off += 4096)
			s->addr[off] = 1;
	else
		madvise(s->addr, s->bytes, MADV_POPULATE_WRITE);
	return NULL;
}

/* mmap, bind to OS node 0, then populate with @threads threads. */
static double baseline(size_t bytes, enum method m, unsigned threads)
{
	unsigned long mask = 1;
	struct share sh[2];
	pthread_t tid[2];
	double t0, t;
	char *a;
	unsigned i;

	t0 = bench_now();
	a = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a == MAP_FAILED)
		return -1;
	syscall(SYS_mbind, a, bytes, 2 /* MPOL_BIND */, &mask, 65UL, 0UL);
	if (m == THP_POPULATE)
		madvise(a, bytes, MADV_HUGEPAGE);
	for (i = 0; i < threads; i++) {
		sh[i] = (struct share){ a + bytes / threads * i, bytes / threads, (int)i, m };
		pthread_create(&tid[i], NULL, fill, &sh[i]);
	}
	for (i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	t = bench_now() - t0;
	munmap(a, bytes);
	return t;
}

static double strata_fill(struct strata_rt *rt, size_t bytes, unsigned threads)
{
	STRATA_POOL_OPTS(opts, .place = STRATA_PLACE_NODE, .node = 0, .flags = STRATA_POOL_HUGEPAGES,
			 .prefill_bytes = bytes, .decay_ms = STRATA_DECAY_NEVER, .populate_threads = threads,
			 .grow_bytes = bytes);
	struct strata_pool *pool;
	double t0 = bench_now(), t;

	if (strata_pool_create(rt, &opts, &pool))
		return -1;
	t = bench_now() - t0;
	strata_pool_destroy(pool);
	return t;
}

static double med(double *v)
{
	return bench_median(v, REPS);
}

int main(int argc, char **argv)
{
	size_t bytes = (argc > 1 ? strtoull(argv[1], NULL, 0) : 4ULL) << 30;
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF);
	double s[3][REPS], b[NMETHODS][3][REPS], map_populate[REPS], ratio[3], gib = (double)bytes / (1 << 30);
	struct strata_rt *rt;
	unsigned t, m, r, cores;
	int ok = 1;

	if (strata_rt_create(&ropts, &rt))
		return 1;
	cores = (unsigned)strata_topo_count(strata_rt_topo(rt), STRATA_TOPO_CORES);
	if (cores < 2) {
		printf("{\"bench\":\"mm.pretouch\",\"skipped\":\"needs 2 cores\"}\n");
		return 0;
	}
	for (r = 0; r < REPS; r++) {
		double t0;
		char *mp_map;

		bench_settle(bytes);
		t0 = bench_now();
		mp_map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		map_populate[r] = bench_now() - t0;
		if (mp_map == MAP_FAILED)
			ok = 0;
		else
			munmap(mp_map, bytes);
		for (t = 1; t <= 2; t++) {
			bench_settle(bytes);
			s[t][r] = strata_fill(rt, bytes, t);
			for (m = 0; m < NMETHODS; m++) {
				bench_settle(bytes);
				b[m][t][r] = baseline(bytes, (enum method)m, t);
			}
			if (s[t][r] < 0)
				ok = 0;
		}
	}
	for (t = 1; t <= 2; t++) {
		double v = gib / med(s[t]), best = 0, paired[REPS];
		const char *best_name = "";
		unsigned best_m = 0;

		for (m = 0; m < NMETHODS; m++) {
			double bv = gib / med(b[m][t]);

			fprintf(stderr, "    %ut %-20s %.2f GiB/s\n", t, method_names[m], bv);
			if (bv > best) {
				best = bv;
				best_name = method_names[m];
				best_m = m;
			}
		}
		/* The host behind this kind of VM backs memory lazily, so speeds
		 * drift between repetitions; the ratio is the median of ratios
		 * taken within one repetition, where both sides saw the same state. */
		for (r = 0; r < REPS; r++)
			paired[r] = b[best_m][t][r] / s[t][r];
		ratio[t] = bench_median(paired, REPS);
		printf("{\"bench\":\"mm.pretouch\",\"case\":\"%.0fGiB/node0/%ut\",\"metric\":\"populate_gibps\","
		       "\"unit\":\"GiB/s\",\"value\":%.2f,\"baseline\":\"%s\",\"baseline_value\":%.2f,\"ratio\":%.3f,"
		       "\"better\":\"higher\",\"ok\":%s,\"reps\":%d}\n",
		       gib, t, v, best_name, best, ratio[t], ok ? "true" : "false", REPS);
		fprintf(stderr, "  pretouch %.0f GiB %ut: strata %.2f GiB/s, fastest baseline %s %.2f GiB/s, ratio %.2f\n",
			gib, t, v, best_name, best, ratio[t]);
	}
	{
		double mp = gib / med(map_populate), scaling[REPS], ceiling[REPS], two_over_mp[REPS];

		for (r = 0; r < REPS; r++) {
			double raw1 = b[0][1][r], raw2 = b[0][2][r];

			for (m = 1; m < NMETHODS; m++) {
				raw1 = b[m][1][r] < raw1 ? b[m][1][r] : raw1;
				raw2 = b[m][2][r] < raw2 ? b[m][2][r] : raw2;
			}
			scaling[r] = s[1][r] / s[2][r];
			ceiling[r] = raw1 / raw2;
			two_over_mp[r] = map_populate[r] / s[2][r];
		}

		/* shared/research/mm.md (B3) states the speed-up against one thread
		 * of mmap(MAP_POPULATE) with 4 KiB pages; report that reading too. */
		printf("{\"bench\":\"mm.pretouch\",\"case\":\"%.0fGiB/2t-vs-map_populate-1t\",\"metric\":\"speedup\","
		       "\"unit\":\"x\",\"value\":%.3f,\"baseline\":\"map_populate_1t\",\"baseline_value\":%.2f,"
		       "\"ratio\":%.3f,\"better\":\"higher\",\"ok\":%s,\"reps\":%d}\n",
		       gib, bench_median(two_over_mp, REPS), mp, bench_median(two_over_mp, REPS), ok ? "true" : "false",
		       REPS);
		fprintf(stderr, "  pretouch 2 threads over one-thread MAP_POPULATE (%.2f GiB/s): %.2fx\n", mp,
			bench_median(two_over_mp, REPS));

		/* The fastest raw method's own 2-over-1 speed-up is the ceiling any
		 * populator can reach on this machine (kernel zeroing is bound by
		 * memory write bandwidth); it is reported beside strata's. */
		printf("{\"bench\":\"mm.pretouch\",\"case\":\"%.0fGiB/node0/2t-vs-1t\",\"metric\":\"speedup\","
		       "\"unit\":\"x\",\"value\":%.3f,\"baseline\":\"raw_fastest_2t_vs_1t\",\"baseline_value\":%.3f,"
		       "\"ratio\":%.3f,\"better\":\"higher\",\"ok\":%s,\"reps\":%d}\n",
		       gib, bench_median(scaling, REPS), bench_median(ceiling, REPS),
		       bench_median(scaling, REPS) / bench_median(ceiling, REPS), ok ? "true" : "false", REPS);
		fprintf(stderr, "  pretouch 2 threads over 1: strata %.2fx, fastest raw method %.2fx\n",
			bench_median(scaling, REPS), bench_median(ceiling, REPS));
	}
	strata_rt_destroy(rt);
	return ok ? 0 : 1;
}
