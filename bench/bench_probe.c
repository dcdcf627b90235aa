/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_probe.c — is the bandwidth probe right, and is it quick?
 *
 * The probe's triad and copy figures are compared with a STREAM-style
 * baseline built from this file with the library's own compiler flags:
 * OpenMP, static schedule, arrays of the probe's size allocated with malloc
 * and first touched in parallel, best of ten timings, result checked as
 * STREAM checks it.  Probe and baseline alternate (A B A B ...) and the
 * medians are compared; a triad more than 10% off STREAM's is a failure.
 * The probe's wall time is reported against its budget of one second.
 *
 * Output: JSON lines on stdout (shared/bench-method.md); a table on stderr.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include <strata/strata.h>

#define REPS 7
#define STREAM_NTIMES 10
#define TOLERANCE 0.10

struct stream {
	double *a, *b, *c;
	size_t n;
	double copy_gbps, triad_gbps;
	int ok;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

static double median(double *v, int n, double *min, double *max)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	*min = v[0];
	*max = v[n - 1];
	return v[n / 2];
}

/* Pin OpenMP thread i to the i-th CPU of @cpus (one per core of node 0). */
static void pin_threads(const int *cpus, int threads)
{
#pragma omp parallel num_threads(threads)
	{
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpus[omp_get_thread_num()], &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
}

/* One STREAM run: copy (c = a) and triad (a = b + s*c), best of NTIMES. */
static void stream_run(struct stream *s, int threads)
{
	const double scalar = 3.0;
	double best_copy = 1e30, best_triad = 1e30, t, want_a = 1.0, want_c = 0.0;
	size_t j, n = s->n;
	int k;

#pragma omp parallel for schedule(static) num_threads(threads)
	for (j = 0; j < n; j++) {
		s->a[j] = 1.0;
		s->b[j] = 2.0;
		s->c[j] = 0.0;
	}
	for (k = 0; k < STREAM_NTIMES; k++) {
		t = now_s();
#pragma omp parallel for schedule(static) num_threads(threads)
		for (j = 0; j < n; j++)
			s->c[j] = s->a[j];
		t = now_s() - t;
		if (k > 0 && t < best_copy)
			best_copy = t;
		t = now_s();
#pragma omp parallel for schedule(static) num_threads(threads)
		for (j = 0; j < n; j++)
			s->a[j] = s->b[j] + scalar * s->c[j];
		t = now_s() - t;
		if (k > 0 && t < best_triad)
			best_triad = t;
		/* What every element must hold, for STREAM's check below. */
		want_c = want_a;
		want_a = 2.0 + scalar * want_c;
	}
	s->ok = 1;
	for (j = 0; j < n; j += n / 1024 + 1)
		if (fabs(s->a[j] - want_a) > 1e-12 * want_a || fabs(s->c[j] - want_c) > 1e-12 * want_c)
			s->ok = 0;
	s->copy_gbps = 2.0 * 8.0 * (double)n / best_copy / 1e9;
	s->triad_gbps = 3.0 * 8.0 * (double)n / best_triad / 1e9;
}

static void print_env(const struct strata_rt *rt)
{
	const struct strata_topo *t = strata_rt_topo(rt);
	struct utsname u;

	uname(&u);
	printf("{\"bench\":\"env\",\"cpu\":\"%s\",\"cores\":%d,\"pus\":%d,\"nodes\":%d,\"kernel\":\"%s\","
	       "\"compiler\":\"%s\",\"strata\":\"%s\",\"omp_max_threads\":%d}\n",
	       strata_topo_cpu_model(t), strata_topo_count(t, STRATA_TOPO_CORES),
	       strata_topo_count(t, STRATA_TOPO_PUS), strata_topo_count(t, STRATA_TOPO_NODES), u.release,
	       __VERSION__, strata_version(), omp_get_max_threads());
}

static int report(const char *metric, const char *unit, double *v, double *base, const char *better,
		  int extra_ok, const char *baseline, int threads)
{
	double vmin, vmax, bmin, bmax, value = median(v, REPS, &vmin, &vmax);
	double bval = median(base, REPS, &bmin, &bmax), ratio = value / bval;
	int ok = extra_ok;

	printf("{\"bench\":\"core.probe\",\"case\":\"node0/%dt\",\"metric\":\"%s\",\"unit\":\"%s\",\"value\":%.3f,"
	       "\"baseline\":\"%s\",\"baseline_value\":%.3f,\"ratio\":%.3f,\"better\":\"%s\",\"ok\":%s,"
	       "\"min\":%.3f,\"max\":%.3f,\"baseline_min\":%.3f,\"baseline_max\":%.3f,\"reps\":%d}\n",
	       threads, metric, unit, value, baseline, bval, ratio, better, ok ? "true" : "false", vmin, vmax, bmin,
	       bmax, REPS);
	fprintf(stderr, "  %-14s %10.2f %-5s  %-14s %10.2f  ratio %.3f  %s\n", metric, value, unit, baseline, bval,
		ratio, ok ? "ok" : "NOT OK");
	return ok;
}

int main(void)
{
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF);
	double p_triad[REPS], p_copy[REPS], p_secs[REPS], s_triad[REPS], s_copy[REPS], budget[REPS];
	struct strata_probe_node p = { .sz = sizeof(p) };
	struct stream s = { 0 };
	struct strata_rt *rt;
	int r, ok = 1, cpus[1024], ncpu = 0, stream_ok = 1;
	char list[4096], *tok, *save;
	int err;

	err = strata_rt_create(&opts, &rt);
	if (err) {
		fprintf(stderr, "bench_probe: %s\n", strata_strerror(err));
		return 1;
	}
	print_env(rt);

	/* One pass to learn the probe's array size and thread count. */
	err = strata_probe_refresh(rt);
	if (err || strata_probe_node(rt, 0, &p)) {
		printf("{\"bench\":\"core.probe\",\"skipped\":\"probe failed: %s\"}\n", strata_strerror(err));
		strata_rt_destroy(rt);
		return 1;
	}
	/* The STREAM threads use the first hardware thread of each core of
	 * node 0, as the probe does; on machines without SMT that is the
	 * node's CPU list. */
	strata_topo_node_cpulist(strata_rt_topo(rt), 0, list, sizeof(list));
	for (tok = strtok_r(list, ",", &save); tok && ncpu < 1024; tok = strtok_r(NULL, ",", &save)) {
		int lo, hi;

		if (sscanf(tok, "%d-%d", &lo, &hi) != 2)
			hi = lo = atoi(tok);
		for (; lo <= hi && ncpu < 1024; lo++)
			cpus[ncpu++] = lo;
	}
	if (ncpu > (int)p.threads)
		ncpu = (int)p.threads; /* approximate on SMT machines; exact otherwise */
	s.n = p.array_bytes / sizeof(double);
	s.a = malloc(s.n * sizeof(double));
	s.b = malloc(s.n * sizeof(double));
	s.c = malloc(s.n * sizeof(double));
	if (!s.a || !s.b || !s.c) {
		fprintf(stderr, "bench_probe: out of memory\n");
		return 1;
	}
	pin_threads(cpus, ncpu);
	stream_run(&s, ncpu); /* warm-up */

	fprintf(stderr, "probe vs STREAM, %d thread(s), arrays of %.0f MiB, %d interleaved reps\n", ncpu,
		(double)p.array_bytes / (1 << 20), REPS);
	for (r = 0; r < REPS; r++) {
		double t0 = now_s();

		err = strata_probe_refresh(rt);
		p_secs[r] = now_s() - t0;
		if (err || strata_probe_node(rt, 0, &p)) {
			fprintf(stderr, "bench_probe: probe failed: %s\n", strata_strerror(err));
			return 1;
		}
		p_triad[r] = p.triad_gbps;
		p_copy[r] = p.copy_gbps;
		budget[r] = 1.0;
		stream_run(&s, ncpu);
		stream_ok &= s.ok;
		s_triad[r] = s.triad_gbps;
		s_copy[r] = s.copy_gbps;
	}
	{
		double tmp[REPS], lo, hi, ratio;

		memcpy(tmp, p_triad, sizeof(tmp));
		ratio = median(tmp, REPS, &lo, &hi);
		memcpy(tmp, s_triad, sizeof(tmp));
		ratio /= median(tmp, REPS, &lo, &hi);
		ok &= report("triad_gbps", "GB/s", p_triad, s_triad, "higher",
			     stream_ok && fabs(ratio - 1.0) <= TOLERANCE, "stream_triad", ncpu);
	}
	ok &= report("copy_gbps", "GB/s", p_copy, s_copy, "higher", stream_ok, "stream_copy", ncpu);
	{
		double tmp[REPS], lo, hi;

		memcpy(tmp, p_secs, sizeof(tmp));
		ok &= report("probe_seconds", "s", p_secs, budget, "lower", median(tmp, REPS, &lo, &hi) < 1.0, "budget",
			     ncpu);
	}
	free(s.a);
	free(s.b);
	free(s.c);
	strata_rt_destroy(rt);
	return ok ? 0 : 1;
}
