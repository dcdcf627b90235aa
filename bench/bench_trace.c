/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_trace.c — the tracer's cost per event and a reader's drain
 * rate, against baselines in the same run.
 *
 *   trace.emit   ns per event: instant, instant with two arguments, span
 *                pair (begin + end); tracing disabled, enabled with no
 *                reader, enabled with a reader draining; 1 and 2 threads.
 *                Baselines: rdtsc + a 32-byte store into a per-thread ring,
 *                clock_gettime + the same store, and an LTTng-UST
 *                tracepoint recorded by a session in discard mode (when
 *                lttng-sessiond is running; tools/bench-trace.sh sets one
 *                up).
 *   trace.drain  events per second one reader drains: from full rings, and
 *                while a producer runs flat out (with the loss it saw).
 *
 * Medians of 7 repetitions, cases interleaved.  The 2-thread figure is the
 * throughput of two producers over that of one.
 */
#if HAVE_LTTNG_UST
#define TRACEPOINT_CREATE_PROBES
#define TRACEPOINT_DEFINE
#include "bench_trace_tp.h"
#endif

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <strata/strata.h>

#include "bench_util.h"

#define REPS 7
#define N 4000000L

static int ev_a, ev_span;

enum what { INSTANT, INSTANT_ARGS, SPAN, BASE_RDTSC, BASE_CLOCK, BASE_LTTNG, NWHAT };
static const char *const what_names[NWHAT] = { "instant", "instant_2args", "span_pair", "rdtsc_store",
					       "clock_gettime_store", "lttng_ust" };

struct rec32 {
	uint64_t ts, a, b, c;
};

static __thread struct rec32 ring[4096];

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

__attribute__((noinline)) static void run(enum what w, long n)
{
	long i;

	switch (w) {
	case INSTANT:
		for (i = 0; i < n; i++)
			strata_trace_instant(ev_a, 0, 0);
		break;
	case INSTANT_ARGS:
		for (i = 0; i < n; i++)
			strata_trace_instant(ev_a, (uint64_t)i, (uint64_t)n);
		break;
	case SPAN:
		for (i = 0; i < n; i++) {
			strata_trace_begin(ev_span, (uint64_t)i, 0);
			strata_trace_end(ev_span);
		}
		break;
	case BASE_RDTSC:
		for (i = 0; i < n; i++) {
			struct rec32 *r = &ring[i & 4095];

			r->ts = rdtsc();
			r->a = (uint64_t)i;
			r->b = (uint64_t)n;
			r->c = 1;
			__asm__ volatile("" ::: "memory");
		}
		break;
	case BASE_CLOCK:
		for (i = 0; i < n; i++) {
			struct rec32 *r = &ring[i & 4095];
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			r->ts = (uint64_t)ts.tv_nsec;
			r->a = (uint64_t)i;
			r->b = (uint64_t)n;
			r->c = 1;
			__asm__ volatile("" ::: "memory");
		}
		break;
	case BASE_LTTNG:
#if HAVE_LTTNG_UST
		for (i = 0; i < n; i++)
			tracepoint(strata_bench, ev, (uint64_t)i, (uint64_t)n);
#endif
		break;
	default:
		break;
	}
}

struct job {
	enum what w;
	int cpu;
	long n;
	double seconds;
	pthread_barrier_t *start;
};

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *thread_run(void *arg)
{
	struct job *j = arg;
	double t0;

	pin(j->cpu);
	pthread_barrier_wait(j->start);
	t0 = bench_now();
	run(j->w, j->n);
	j->seconds = bench_now() - t0;
	return NULL;
}

/* ns per event per thread, and events per second over all threads. */
static void measure(enum what w, int threads, double *ns, double *rate)
{
	pthread_barrier_t b;
	pthread_t t[2];
	struct job j[2];
	double worst = 0, ops = (double)N * (w == SPAN ? 2 : 1);
	int i;

	pthread_barrier_init(&b, NULL, (unsigned)threads);
	for (i = 0; i < threads; i++) {
		j[i] = (struct job){ .w = w, .cpu = i, .n = N, .start = &b };
		pthread_create(&t[i], NULL, thread_run, &j[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		if (j[i].seconds > worst)
			worst = j[i].seconds;
	}
	pthread_barrier_destroy(&b);
	*ns = worst * 1e9 / ops;
	*rate = ops * threads / worst;
}

/* ---- a reader draining -------------------------------------------------------------- */

static _Atomic bool drain_stop;
static _Atomic uint64_t drained;

static void discard(void *user, const struct strata_trace_event *e)
{
	(void)e;
	(*(uint64_t *)user)++;
}

static void *drain_thread(void *arg)
{
	struct strata_trace_session *s = arg;
	uint64_t n = 0;

	pin(1); /* beside a single producer on CPU 0 */
	while (!atomic_load_explicit(&drain_stop, memory_order_relaxed))
		if (strata_trace_read(s, discard, &n, 0) == 0)
			usleep(50);
	strata_trace_read(s, discard, &n, 0);
	atomic_store(&drained, n);
	return NULL;
}

static void print(const char *cas, const char *metric, const char *unit, double v, const char *base, double bv,
		  const char *better, double lo, double hi, const char *extra)
{
	printf("{\"bench\":\"trace.emit\",\"case\":\"%s\",\"metric\":\"%s\",\"unit\":\"%s\",\"value\":%.3f,"
	       "\"baseline\":\"%s\",\"baseline_value\":%.3f,\"ratio\":%.3f,\"better\":\"%s\",\"ok\":true,"
	       "\"min\":%.3f,\"max\":%.3f,\"reps\":%d%s%s}\n",
	       cas, metric, unit, v, base, bv, bv ? v / bv : 0, better, lo, hi, REPS, extra ? "," : "", extra ? extra : "");
}

static bool lttng_recording(void)
{
	/* The tracepoint's state flag is set only while a session enables it. */
#if HAVE_LTTNG_UST
	return tracepoint_enabled(strata_bench, ev);
#else
	return false;
#endif
}

int main(int argc, char **argv)
{
	/* --lttng: only the LTTng baseline and the rdtsc one, run while an LTTng
	 * session records (its daemons would disturb the other cases). */
	bool only_lttng = argc > 1 && strcmp(argv[1], "--lttng") == 0;
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF);
	static const char *const mode_names[3] = { "disabled", "enabled_no_reader", "enabled_reader_draining" };
	double ns[3][NWHAT][3][REPS], rate[3][NWHAT][3][REPS];
	struct strata_trace_session *s = NULL;
	struct strata_rt *rt;
	int mode, w, t, r;
	bool lttng;

	unsetenv("STRATA_TRACE"); /* the bench switches tracing itself */
	if (strata_rt_create(&ropts, &rt))
		return 1;
	ev_a = strata_trace_name("bench.event");
	ev_span = strata_trace_name("bench.span");
	lttng = lttng_recording();
	if (!only_lttng)
		printf("{\"bench\":\"trace\",\"cpu\":\"%s\",\"cores\":%d,\"lttng_recording\":%s}\n",
		       strata_topo_cpu_model(strata_rt_topo(rt)), strata_topo_count(strata_rt_topo(rt), STRATA_TOPO_CORES),
		       lttng ? "true" : "false");
	if (only_lttng) {
		double l[REPS], b[REPS], rate_unused;

		if (!lttng) {
			printf("{\"bench\":\"trace.emit\",\"case\":\"baseline/lttng_ust\",\"skipped\":\"no LTTng session "
			       "is recording strata_bench:ev\"}\n");
			return 0;
		}
		for (r = 0; r < REPS; r++) {
			measure(BASE_RDTSC, 1, &b[r], &rate_unused);
			measure(BASE_LTTNG, 1, &l[r], &rate_unused);
		}
		print("baseline/lttng_ust/1t", "ns_per_event", "ns", bench_median(l, REPS), "rdtsc_store",
		      bench_median(b, REPS), "lower", l[0], l[REPS - 1], "\"mode\":\"discard\"");
		fprintf(stderr, "  %-48s %7.2f ns (rdtsc + store %.2f ns in the same run)\n", "baseline/lttng_ust/1t",
			bench_median(l, REPS), bench_median(b, REPS));
		strata_rt_destroy(rt);
		return 0;
	}
	lttng = false; /* measured in its own run (--lttng) */
	memset(ns, 0, sizeof(ns));
	for (r = 0; r < REPS; r++)
		for (mode = 0; mode < 3; mode++) {
			pthread_t reader;

			/* disabled: the flag is 0; no reader: on without anyone attached;
			 * draining: attached to ourselves, a thread reading all along. */
			__atomic_store_n(&strata_trace_enabled, mode != 0, __ATOMIC_RELAXED);
			if (mode == 2) {
				if (strata_trace_attach(getpid(), &s)) {
					fprintf(stderr, "cannot attach to ourselves\n");
					return 1;
				}
				atomic_store(&drain_stop, false);
				pthread_create(&reader, NULL, drain_thread, s);
			}
			for (w = 0; w < NWHAT; w++) {
				if (mode && w >= BASE_RDTSC)
					continue; /* the baselines do not depend on the mode */
				if (w == BASE_LTTNG && !lttng)
					continue;
				for (t = 1; t <= 2; t++)
					measure((enum what)w, t, &ns[mode][w][t][r], &rate[mode][w][t][r]);
			}
			if (mode == 2) {
				atomic_store(&drain_stop, true);
				pthread_join(reader, NULL);
				strata_trace_detach(s);
				usleep(20000);
			}
		}
	__atomic_store_n(&strata_trace_enabled, 0, __ATOMIC_RELAXED);
	{
		double base = bench_median(ns[0][BASE_RDTSC][1], REPS);

		for (mode = 0; mode < 3; mode++)
			for (w = INSTANT; w <= SPAN; w++)
				for (t = 1; t <= 2; t++) {
					double v = bench_median(ns[mode][w][t], REPS), lo = ns[mode][w][t][0],
					       hi = ns[mode][w][t][REPS - 1];
					double bv = w == SPAN ? 2 * base : base;
					char cas[96], extra[96];

					snprintf(cas, sizeof(cas), "%s/%s/%dt", what_names[w], mode_names[mode], t);
					snprintf(extra, sizeof(extra), "\"events_per_second\":%.0f",
						 bench_median(rate[mode][w][t], REPS));
					print(cas, w == SPAN ? "ns_per_span_pair" : "ns_per_event", "ns", w == SPAN ? 2 * v : v,
					      mode == 0 ? "none" : "rdtsc_store", mode == 0 ? 0 : bv, "lower", w == SPAN ? 2 * lo : lo,
					      w == SPAN ? 2 * hi : hi, extra);
					fprintf(stderr, "  %-48s %7.2f ns%s\n", cas, w == SPAN ? 2 * v : v,
						mode ? "" : "  (disabled)");
				}
		for (w = BASE_RDTSC; w <= BASE_LTTNG; w++) {
			if (w == BASE_LTTNG)
				continue; /* its own run: bench_trace --lttng */
			for (t = 1; t <= 2; t++) {
				char cas[64];

				snprintf(cas, sizeof(cas), "baseline/%s/%dt", what_names[w], t);
				double v = bench_median(ns[0][w][t], REPS);

				print(cas, "ns_per_event", "ns", v, "rdtsc_store", base, "lower", ns[0][w][t][0],
				      ns[0][w][t][REPS - 1], NULL);
				fprintf(stderr, "  %-48s %7.2f ns\n", cas, bench_median(ns[0][w][t], REPS));
			}
		}
		/* Scaling: two producers against one, enabled (on 2 cores a draining
		 * reader would be a third thread: reported too, for information). */
		for (w = INSTANT; w <= SPAN * 2 + 1; w++) {
			int m = w > SPAN ? 2 : 1, ww = w > SPAN ? w - SPAN - 1 : w;
			double one = bench_median(rate[m][ww][1], REPS), two = bench_median(rate[m][ww][2], REPS);
			char cas[96];

			if (ww > SPAN)
				continue;
			snprintf(cas, sizeof(cas), "%s/%s/2t-vs-1t", what_names[ww], mode_names[m]);
			printf("{\"bench\":\"trace.emit\",\"case\":\"%s\",\"metric\":\"speedup\",\"unit\":\"x\",\"value\":%.3f,"
			       "\"baseline\":\"1_thread\",\"baseline_value\":1,\"ratio\":%.3f,\"better\":\"higher\",\"ok\":true,"
			       "\"reps\":%d}\n",
			       cas, two / one, two / one, REPS);
			fprintf(stderr, "  %-48s %7.2fx\n", cas, two / one);
		}
	}

	/* ---- drain ---- */
	{
		struct strata_trace_thread_stats st[64];
		double full[REPS], live[REPS];
		uint64_t lost = 0;
		size_t n;

		for (r = 0; r < REPS; r++) {
			uint64_t got = 0;
			pthread_t reader;
			double t0;
			long i;

			/* From full rings: one ring per thread of this process holds 16,384. */
			__atomic_store_n(&strata_trace_enabled, 1, __ATOMIC_RELAXED);
			if (strata_trace_attach(getpid(), &s))
				return 1;
			strata_trace_read(s, discard, &got, 0);
			for (i = 0; i < 16000; i++)
				strata_trace_instant(ev_a, (uint64_t)i, 0);
			got = 0;
			t0 = bench_now();
			strata_trace_read(s, discard, &got, 0);
			full[r] = (double)got / (bench_now() - t0);
			/* Live: a producer flat out, a reader thread draining. */
			atomic_store(&drain_stop, false);
			pthread_create(&reader, NULL, drain_thread, s);
			t0 = bench_now();
			run(INSTANT_ARGS, N);
			atomic_store(&drain_stop, true);
			pthread_join(reader, NULL);
			live[r] = (double)atomic_load(&drained) / (bench_now() - t0);
			n = 64;
			strata_trace_thread_stats(s, st, &n);
			for (i = 0; i < (long)n; i++)
				lost += r == REPS - 1 ? st[i].dropped : 0;
			strata_trace_detach(s);
			usleep(20000);
		}
		__atomic_store_n(&strata_trace_enabled, 0, __ATOMIC_RELAXED);
		printf("{\"bench\":\"trace.drain\",\"case\":\"full_rings\",\"metric\":\"events_per_second\",\"unit\":\"1/s\","
		       "\"value\":%.0f,\"baseline\":\"goal\",\"baseline_value\":20000000,\"ratio\":%.3f,\"better\":\"higher\","
		       "\"ok\":true,\"reps\":%d}\n",
		       bench_median(full, REPS), bench_median(full, REPS) / 2e7, REPS);
		printf("{\"bench\":\"trace.drain\",\"case\":\"live_producer\",\"metric\":\"events_per_second\",\"unit\":\"1/s\","
		       "\"value\":%.0f,\"baseline\":\"goal\",\"baseline_value\":20000000,\"ratio\":%.3f,\"better\":\"higher\","
		       "\"ok\":true,\"reps\":%d,\"dropped_last_rep\":%llu}\n",
		       bench_median(live, REPS), bench_median(live, REPS) / 2e7, REPS, (unsigned long long)lost);
		fprintf(stderr, "  drain from full rings %.1f M events/s; with a producer flat out %.1f M/s delivered "
				"(%llu dropped in the last repetition)\n",
			bench_median(full, REPS) / 1e6, bench_median(live, REPS) / 1e6, (unsigned long long)lost);
	}
	strata_rt_destroy(rt);
	return 0;
}
