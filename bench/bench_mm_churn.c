/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_mm_churn.c — small-object churn: strata pools against the
 * malloc peers (glibc, jemalloc, mimalloc), measured in the same run.
 *
 * Cases (ns per alloc+free pair):
 *   lifo/<size>/1t    alloc then free the same size, one thread
 *   random/16-4096/Nt 10k live slots per thread; each step frees a random
 *                     slot and allocates a random size (1 and 2 threads)
 *   xthread/2t        thread 0 allocates, thread 1 frees (SPSC ring)
 *
 * Without arguments the program is the driver: it runs itself once per
 * allocator per repetition, interleaved (strata, glibc, jemalloc,
 * mimalloc, strata, ...), the peers through LD_PRELOAD, and prints one JSON
 * line per case and peer with medians of the repetitions.  With --run=NAME
 * it measures one allocator and prints "case ns faults" lines.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <strata/strata.h>

#define REPS 5
#define LIFO_PAIRS 4000000
#define RANDOM_SLOTS 10000
#define RANDOM_STEPS 2000000
#define XT_OBJECTS 2000000
#define XT_RING 4096

struct alloc_ops {
	void *(*alloc)(size_t size);
	void (*release)(void *p);
};

static struct strata_pool *pool;

static void *pool_alloc(size_t size)
{
	void *p;

	return strata_pool_alloc(pool, size, 0, 0, &p) ? NULL : p;
}

static void pool_release(void *p)
{
	strata_pool_free(pool, p);
}

static void *libc_alloc(size_t size)
{
	return malloc(size);
}

static void libc_release(void *p)
{
	free(p);
}

static struct alloc_ops ops;
static _Atomic int errors;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double lifo(size_t size)
{
	double t0;
	unsigned i;
	void *p;

	for (i = 0; i < 1000; i++) { /* warm-up */
		p = ops.alloc(size);
		ops.release(p);
	}
	t0 = now_ns();
	for (i = 0; i < LIFO_PAIRS; i++) {
		p = ops.alloc(size);
		if (!p) {
			atomic_fetch_add(&errors, 1);
			return 0;
		}
		*(volatile char *)p = 1; /* the block is really used */
		ops.release(p);
	}
	return (now_ns() - t0) / LIFO_PAIRS;
}

struct random_arg {
	unsigned seed;
	double ns;
};

static void *random_churn(void *argp)
{
	struct random_arg *arg = argp;
	void **slot = calloc(RANDOM_SLOTS, sizeof(*slot));
	uint64_t rng = 0x9e3779b97f4a7c15ULL + arg->seed;
	double t0;
	unsigned i;

	for (i = 0; i < RANDOM_SLOTS; i++)
		slot[i] = ops.alloc(16 + (xorshift(&rng) % 4081));
	t0 = now_ns();
	for (i = 0; i < RANDOM_STEPS; i++) {
		unsigned s = (unsigned)(xorshift(&rng) % RANDOM_SLOTS);

		ops.release(slot[s]);
		slot[s] = ops.alloc(16 + (xorshift(&rng) % 4081));
		if (!slot[s]) {
			atomic_fetch_add(&errors, 1);
			break;
		}
		*(volatile char *)slot[s] = 1;
	}
	arg->ns = (now_ns() - t0) / RANDOM_STEPS;
	for (i = 0; i < RANDOM_SLOTS; i++)
		ops.release(slot[i]);
	free(slot);
	return NULL;
}

static double random_case(unsigned threads)
{
	struct random_arg args[2];
	pthread_t tid[2];
	double sum = 0;
	unsigned i;

	for (i = 0; i < threads; i++) {
		args[i] = (struct random_arg){ .seed = i };
		pthread_create(&tid[i], NULL, random_churn, &args[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		sum += args[i].ns;
	}
	return sum / threads;
}

static void *xt_ring[XT_RING];
static _Atomic unsigned xt_head, xt_tail;

static void *xt_consumer(void *arg)
{
	unsigned n = 0;

	(void)arg;
	while (n < XT_OBJECTS) {
		unsigned t = atomic_load_explicit(&xt_tail, memory_order_relaxed);

		if (t == atomic_load_explicit(&xt_head, memory_order_acquire))
			continue;
		ops.release(xt_ring[t % XT_RING]);
		atomic_store_explicit(&xt_tail, t + 1, memory_order_release);
		n++;
	}
	return NULL;
}

static double xthread(void)
{
	pthread_t tid;
	double t0;
	unsigned i;

	atomic_store(&xt_head, 0);
	atomic_store(&xt_tail, 0);
	pthread_create(&tid, NULL, xt_consumer, NULL);
	t0 = now_ns();
	for (i = 0; i < XT_OBJECTS; i++) {
		void *p = ops.alloc(16 + (i * 37) % 1000);

		if (!p) {
			atomic_fetch_add(&errors, 1);
			break;
		}
		while (i - atomic_load_explicit(&xt_tail, memory_order_acquire) >= XT_RING)
			;
		xt_ring[i % XT_RING] = p;
		atomic_store_explicit(&xt_head, i + 1, memory_order_release);
	}
	pthread_join(tid, NULL);
	return (now_ns() - t0) / XT_OBJECTS;
}

/* One allocator, all cases: "case ns faults" lines on stdout. */
static int run_one(const char *name)
{
	static const size_t lifo_sizes[] = { 16, 64, 256, 1024, 4096 };
	struct strata_rt *rt = NULL;
	unsigned i;
	long f0;

	if (!strcmp(name, "strata")) {
		STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF);

		if (strata_rt_create(&opts, &rt) || strata_pool_create(rt, NULL, &pool))
			return 1;
		ops = (struct alloc_ops){ pool_alloc, pool_release };
	} else {
		ops = (struct alloc_ops){ libc_alloc, libc_release };
	}
	for (i = 0; i < sizeof(lifo_sizes) / sizeof(lifo_sizes[0]); i++) {
		double ns;

		f0 = minflt();
		ns = lifo(lifo_sizes[i]);
		printf("lifo/%zu/1t %.3f %ld\n", lifo_sizes[i], ns, minflt() - f0);
	}
	for (i = 1; i <= 2; i++) {
		double ns;

		f0 = minflt();
		ns = random_case(i);
		printf("random/16-4096/%ut %.3f %ld\n", i, ns, minflt() - f0);
	}
	f0 = minflt();
	printf("xthread/2t %.3f %ld\n", xthread(), minflt() - f0);
	strata_pool_destroy(pool);
	strata_rt_destroy(rt);
	return atomic_load(&errors) ? 1 : 0;
}

#define MAX_CASES 16
#define NPEERS 4

static const char *const peers[NPEERS] = { "strata", "glibc", "jemalloc", "mimalloc" };
static const char *const preload[NPEERS] = { NULL, NULL, "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
					      "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2" };

static char case_names[MAX_CASES][40];
static unsigned ncases;
static double results[NPEERS][MAX_CASES][REPS];
static long faults[NPEERS][MAX_CASES][REPS];

static int run_child(const char *self, unsigned peer, unsigned rep)
{
	char cmd[4096], name[40];
	double ns;
	long flt;
	unsigned c = 0;
	FILE *f;

	if (preload[peer] && access(preload[peer], R_OK))
		return -ENOENT;
	snprintf(cmd, sizeof(cmd), "%s%s %s --run=%s", preload[peer] ? "LD_PRELOAD=" : "",
		 preload[peer] ? preload[peer] : "", self, peers[peer]);
	f = popen(cmd, "r");
	if (!f)
		return -errno;
	while (c < MAX_CASES && fscanf(f, "%39s %lf %ld", name, &ns, &flt) == 3) {
		snprintf(case_names[c], sizeof(case_names[c]), "%s", name);
		results[peer][c][rep] = ns;
		faults[peer][c][rep] = flt;
		c++;
	}
	if (pclose(f) != 0)
		return -EIO;
	ncases = c;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, double *lo, double *hi)
{
	double s[REPS];

	memcpy(s, v, sizeof(s));
	qsort(s, REPS, sizeof(double), cmp);
	*lo = s[0];
	*hi = s[REPS - 1];
	return s[REPS / 2];
}

int main(int argc, char **argv)
{
	bool have[NPEERS] = { false };
	unsigned rep, p, c;
	int ok = 1;

	if (argc == 2 && !strncmp(argv[1], "--run=", 6))
		return run_one(argv[1] + 6);
	printf("{\"bench\":\"env\",\"strata\":\"%s\",\"compiler\":\"%s\",\"cpus\":%ld}\n", strata_version(),
	       __VERSION__, sysconf(_SC_NPROCESSORS_ONLN));
	for (rep = 0; rep < REPS; rep++) {
		for (p = 0; p < NPEERS; p++) {
			int err = run_child(argv[0], p, rep);

			if (err == -ENOENT && rep == 0) {
				printf("{\"bench\":\"mm.churn\",\"baseline\":\"%s\",\"skipped\":\"%s not installed\"}\n",
				       peers[p], preload[p]);
				continue;
			}
			if (err && err != -ENOENT) {
				fprintf(stderr, "bench_mm_churn: %s run failed\n", peers[p]);
				return 1;
			}
			have[p] = !err;
		}
	}
	for (c = 0; c < ncases; c++) {
		double lo, hi, v = median(results[0][c], &lo, &hi), best = 0;
		const char *best_name = NULL;

		for (p = 1; p < NPEERS; p++) {
			double blo, bhi, b;

			if (!have[p])
				continue;
			b = median(results[p][c], &blo, &bhi);
			if (!best_name || b < best) {
				best = b;
				best_name = peers[p];
			}
			printf("{\"bench\":\"mm.churn\",\"case\":\"%s\",\"metric\":\"ns_per_op\",\"unit\":\"ns\","
			       "\"value\":%.2f,\"baseline\":\"%s\",\"baseline_value\":%.2f,\"ratio\":%.3f,"
			       "\"better\":\"lower\",\"ok\":true,\"min\":%.2f,\"max\":%.2f,\"reps\":%d,"
			       "\"strata_faults\":%ld}\n",
			       case_names[c], v, peers[p], b, v / b, lo, hi, REPS, faults[0][c][REPS / 2]);
		}
		if (best_name)
			fprintf(stderr, "  %-20s strata %7.2f ns   best peer %-9s %7.2f ns   ratio %.2f\n", case_names[c],
				v, best_name, best, v / best);
	}
	return ok ? 0 : 1;
}
