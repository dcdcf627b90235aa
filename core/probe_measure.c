/* SPDX-License-Identifier: MIT */
/*
 * core/probe_measure.c — STREAM-style bandwidth and pointer-chase latency
 * for one NUMA node.
 *
 * One thread per core of the node, each bound to the core's first hardware
 * thread, works on its own slice of three arrays bound to the node.  The
 * arrays are at least four times all last-level cache together (STREAM's
 * rule), use transparent huge pages, and are first touched by the threads
 * that later use them, so the timed loops see neither page faults nor
 * remote pages.  Each worker stamps its own start and end: the main thread
 * is not bound and may not even be running while the workers are (2 cores,
 * 3 threads), so an op lasts from the earliest start to the latest end.
 * The best repetition counts, as in STREAM.
 * Results are checked (array values, read sums) before they are believed.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "core/core_int.h"

#define MIN_ARRAY_BYTES (64ULL << 20)
#define MAX_ARRAY_BYTES (1ULL << 30)
#define TRIAD_SCALAR 3.0
#define MIN_REPS 3
#define MAX_REPS 8
/* The chain must touch far more distinct lines than any one core's cache
 * holds, or it measures L3: 4M lines = 256 MiB at most. */
#define CHASE_ENTRIES_MAX (1u << 22)
#define CHASE_HOPS (1u << 18)

enum op { OP_TOUCH, OP_READ, OP_COPY, OP_TRIAD, OP_CHASE, OP_STOP };

struct slot {
	double sum;
	double t0, t1; /* when this worker started and finished the op */
	char pad[64 - 3 * sizeof(double)]; /* one cache line per thread */
};

/* A barrier whose party count can shrink, so that a failed pthread_create()
 * can release the workers already waiting (pthread_barrier_t cannot). */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned parties, waiting, generation;
};

struct bench {
	hwloc_topology_t hw;
	double *a, *b, *c;
	size_t n, bytes;
	unsigned threads;
	hwloc_cpuset_t *cpus;
	struct gate start, done;
	enum op op;
	struct slot *slots;
	void *chase_head;
	double chase_ns;
};

struct worker_arg {
	struct bench *b;
	unsigned id;
};

static void gate_init(struct gate *g, unsigned parties)
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->parties = parties;
	g->waiting = 0;
	g->generation = 0;
}

static void gate_destroy(struct gate *g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

static void gate_open_locked(struct gate *g)
{
	g->waiting = 0;
	g->generation++;
	pthread_cond_broadcast(&g->cond);
}

static void gate_wait(struct gate *g)
{
	unsigned gen;

	pthread_mutex_lock(&g->lock);
	gen = g->generation;
	if (++g->waiting >= g->parties)
		gate_open_locked(g);
	else
		while (gen == g->generation)
			pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

static void gate_resize(struct gate *g, unsigned parties)
{
	pthread_mutex_lock(&g->lock);
	g->parties = parties;
	if (g->waiting && g->waiting >= parties)
		gate_open_locked(g);
	pthread_mutex_unlock(&g->lock);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void chase(struct bench *b)
{
	void *const *p = b->chase_head;
	double t0 = now_s();
	unsigned i;

	for (i = 0; i < CHASE_HOPS; i++)
		p = *p;
	b->chase_ns = (now_s() - t0) * 1e9 / CHASE_HOPS;
	/* Keep the chain walk observable so it cannot be removed. */
	b->slots[0].sum = (double)(uintptr_t)p;
}

static void run_op(struct bench *b, unsigned id)
{
	size_t lo = b->n * id / b->threads, hi = b->n * (id + 1) / b->threads, i;
	double *restrict a = b->a, *restrict bb = b->b, *restrict c = b->c;
	double s0 = 0, s1 = 0, s2 = 0, s3 = 0;

	switch (b->op) {
	case OP_TOUCH:
		for (i = lo; i < hi; i++) {
			a[i] = 1.0;
			bb[i] = 2.0;
			c[i] = 0.0;
		}
		break;
	case OP_READ:
		/* Four accumulators: one would be bound by add latency. */
		for (i = lo; i + 4 <= hi; i += 4) {
			s0 += a[i];
			s1 += a[i + 1];
			s2 += a[i + 2];
			s3 += a[i + 3];
		}
		for (; i < hi; i++)
			s0 += a[i];
		b->slots[id].sum = s0 + s1 + s2 + s3;
		break;
	case OP_COPY:
		for (i = lo; i < hi; i++)
			c[i] = a[i];
		break;
	case OP_TRIAD:
		for (i = lo; i < hi; i++)
			a[i] = bb[i] + TRIAD_SCALAR * c[i];
		break;
	case OP_CHASE:
		if (id == 0)
			chase(b);
		break;
	case OP_STOP:
		break;
	}
}

static void *worker(void *p)
{
	struct worker_arg *arg = p;
	struct bench *b = arg->b;

	/* Best effort: a container may forbid the CPU; figures are then less
	 * precise but still real. */
	hwloc_set_cpubind(b->hw, b->cpus[arg->id], HWLOC_CPUBIND_THREAD);
	for (;;) {
		gate_wait(&b->start);
		if (b->op == OP_STOP)
			break;
		b->slots[arg->id].t0 = now_s();
		run_op(b, arg->id);
		b->slots[arg->id].t1 = now_s();
		gate_wait(&b->done);
	}
	return NULL;
}

/* Run @op on all workers; return its wall time in seconds. */
static double timed(struct bench *b, enum op op)
{
	double t0, t1;
	unsigned i;

	b->op = op;
	gate_wait(&b->start);
	gate_wait(&b->done);
	t0 = b->slots[0].t0;
	t1 = b->slots[0].t1;
	for (i = 1; i < b->threads; i++) {
		t0 = ST_MIN(t0, b->slots[i].t0);
		t1 = ST_MAX(t1, b->slots[i].t1);
	}
	return t1 - t0;
}

/* The node whose CPUs measure @idx: itself, or for a memory-only node (CXL,
 * HBM), the nearest node that has CPUs. */
static unsigned cpu_node_for(const struct strata_topo *t, unsigned idx)
{
	unsigned i, best = idx;
	int best_d = 0;

	if (t->nodes[idx].info.cpus)
		return idx;
	for (i = 0; i < t->n_nodes; i++) {
		int d = t->distances[idx * t->n_nodes + i];

		if (t->nodes[i].info.cpus && (best == idx || (d > 0 && d < best_d))) {
			best = i;
			best_d = d;
		}
	}
	return best;
}

static int pick_cpus(struct bench *b, const struct strata_topo *t, unsigned idx)
{
	hwloc_obj_t node = t->nodes[cpu_node_for(t, idx)].obj;
	int ncores = hwloc_get_nbobjs_inside_cpuset_by_type(t->hw, node->cpuset, HWLOC_OBJ_CORE);
	unsigned i;

	if (ncores <= 0)
		return -ENODEV;
	b->cpus = st_calloc((size_t)ncores, sizeof(*b->cpus));
	if (!b->cpus)
		return -ENOMEM;
	for (i = 0; i < (unsigned)ncores; i++) {
		hwloc_obj_t core = hwloc_get_obj_inside_cpuset_by_type(t->hw, node->cpuset, HWLOC_OBJ_CORE, i);

		b->cpus[i] = hwloc_bitmap_dup(core->cpuset);
		if (!b->cpus[i])
			return -ENOMEM;
		hwloc_bitmap_singlify(b->cpus[i]);
		b->threads++;
	}
	return 0;
}

static void *alloc_on_node(const struct strata_topo *t, unsigned idx, size_t bytes)
{
	void *p = hwloc_alloc_membind(t->hw, bytes, t->nodes[idx].obj->nodeset, HWLOC_MEMBIND_BIND,
				      HWLOC_MEMBIND_BYNODESET);

	/* Binding may be refused (no NUMA in the kernel, seccomp); on a single
	 * node there is nothing to bind to anyway. */
	if (!p && t->n_nodes == 1)
		p = hwloc_alloc(t->hw, bytes);
	if (p)
		madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

static size_t array_bytes(const struct strata_topo *t, unsigned idx)
{
	uint64_t want = ST_MAX(4 * t->llc_bytes, MIN_ARRAY_BYTES);
	uint64_t mem = t->nodes[idx].info.memory_bytes;

	want = ST_MIN(want, MAX_ARRAY_BYTES);
	/* Three arrays must leave most of the node free. */
	if (mem && want > mem / 16)
		want = mem / 16;
	return (size_t)(want & ~((2ULL << 20) - 1));
}

/* Build a random cyclic chain through cache lines spread over array a. */
static int build_chase(struct bench *b)
{
	unsigned k = (unsigned)ST_MIN(b->bytes / 64, CHASE_ENTRIES_MAX), i;
	size_t block = b->bytes / k, lines = ST_MAX(block / 64, 1);
	uint32_t *order = st_malloc(k * sizeof(*order));
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	char *base = (char *)b->a;

	if (!order)
		return -ENOMEM;
	for (i = 0; i < k; i++)
		order[i] = i;
	/* Sattolo's shuffle: a single cycle through all k entries. */
	for (i = k - 1; i > 0; i--) {
		uint32_t j, tmp;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		j = (uint32_t)(rng % i);
		tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	for (i = 0; i < k; i++) {
		size_t from = order[i] * block + (order[i] * 7 % lines) * 64;
		size_t to = order[(i + 1) % k] * block + (order[(i + 1) % k] * 7 % lines) * 64;

		*(void **)(base + from) = base + to;
	}
	b->chase_head = base + order[0] * block + (order[0] * 7 % lines) * 64;
	st_free(order);
	return 0;
}

/* STREAM's check: after copy (c = a = 1) and triads (a = b + s*c), every
 * element of a is 2 + 3 * 1 = 5 and of c is 1. */
static bool results_ok(const struct bench *b, double read_sum)
{
	size_t i, step = ST_MAX(b->n / 4096, 1);

	if (fabs(read_sum - (double)b->n) > 1e-6 * (double)b->n)
		return false;
	for (i = 0; i < b->n; i += step)
		if (b->a[i] != 2.0 + TRIAD_SCALAR * 1.0 || b->c[i] != 1.0)
			return false;
	return true;
}

/* Best time of up to MAX_REPS repetitions (after one warm-up), stopping
 * early once @deadline has passed and MIN_REPS are done. */
static double best_time(struct bench *b, enum op op, double deadline, double *read_sum)
{
	double best = timed(b, op), t;
	unsigned r;

	for (r = 0; r < MAX_REPS; r++) {
		t = timed(b, op);
		if (t < best || r == 0)
			best = t;
		if (r + 1 >= MIN_REPS && now_s() > deadline)
			break;
	}
	if (read_sum) {
		unsigned i;

		*read_sum = 0;
		for (i = 0; i < b->threads; i++)
			*read_sum += b->slots[i].sum;
	}
	return best;
}

static void stop_workers(struct bench *b, pthread_t *tid, unsigned started)
{
	unsigned i;

	b->op = OP_STOP;
	gate_wait(&b->start);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
}

static int measure(struct bench *b, double budget_s, struct strata_probe_node *out)
{
	struct worker_arg *args;
	pthread_t *tid;
	double deadline, t_read, t_copy, t_triad, read_sum;
	unsigned i, started = 0;
	int err = 0;

	tid = st_calloc(b->threads, sizeof(*tid));
	args = st_calloc(b->threads, sizeof(*args));
	if (!tid || !args) {
		err = -ENOMEM;
		goto out_free;
	}
	gate_init(&b->start, b->threads + 1);
	gate_init(&b->done, b->threads + 1);
	for (i = 0; i < b->threads; i++) {
		args[i] = (struct worker_arg){ .b = b, .id = i };
		if (pthread_create(&tid[i], NULL, worker, &args[i])) {
			err = -EAGAIN;
			/* Only the started workers and this thread will arrive. */
			gate_resize(&b->start, started + 1);
			break;
		}
		started++;
	}
	if (err)
		goto out_stop;

	deadline = now_s() + budget_s * 0.2;
	timed(b, OP_TOUCH);
	t_read = best_time(b, OP_READ, deadline, &read_sum);
	deadline = now_s() + budget_s * 0.25;
	t_copy = best_time(b, OP_COPY, deadline, NULL);
	deadline = now_s() + budget_s * 0.25;
	t_triad = best_time(b, OP_TRIAD, deadline, NULL);
	if (!results_ok(b, read_sum)) {
		err = -EIO;
		goto out_stop;
	}
	err = build_chase(b);
	if (err)
		goto out_stop;
	timed(b, OP_CHASE);
	out->read_gbps = (double)b->bytes / t_read / 1e9;
	out->copy_gbps = 2.0 * (double)b->bytes / t_copy / 1e9;
	out->triad_gbps = 3.0 * (double)b->bytes / t_triad / 1e9;
	out->latency_ns = b->chase_ns;
	out->threads = b->threads;
	out->array_bytes = b->bytes;

out_stop:
	stop_workers(b, tid, started);
	gate_destroy(&b->done);
	gate_destroy(&b->start);
out_free:
	st_free(args);
	st_free(tid);
	return err;
}

int st_probe_measure_node(const struct strata_topo *t, unsigned idx, double budget_s,
			  struct strata_probe_node *out)
{
	struct bench b = { .hw = t->hw };
	struct strata_probe_node r = { .sz = sizeof(r), .node = idx };
	unsigned i;
	int err;

	if (!t->this_machine)
		return -STRATA_ENOTHERE;
	if (idx >= t->n_nodes)
		return -ENOENT;
	b.bytes = array_bytes(t, idx);
	b.n = b.bytes / sizeof(double);
	if (b.n < 1024)
		return -ENOMEM;
	err = pick_cpus(&b, t, idx);
	if (err)
		goto out_cpus;
	b.slots = st_calloc(b.threads, sizeof(*b.slots));
	if (!b.slots) {
		err = -ENOMEM;
		goto out_cpus;
	}
	b.a = alloc_on_node(t, idx, b.bytes);
	b.b = alloc_on_node(t, idx, b.bytes);
	b.c = alloc_on_node(t, idx, b.bytes);
	if (!b.a || !b.b || !b.c) {
		err = -ENOMEM;
		goto out_arrays;
	}
	err = measure(&b, budget_s, &r);
	if (!err) {
		r.measured_at = (int64_t)time(NULL);
		*out = r;
	}

out_arrays:
	if (b.c)
		hwloc_free(t->hw, b.c, b.bytes);
	if (b.b)
		hwloc_free(t->hw, b.b, b.bytes);
	if (b.a)
		hwloc_free(t->hw, b.a, b.bytes);
	st_free(b.slots);
out_cpus:
	for (i = 0; i < b.threads; i++)
		hwloc_bitmap_free(b.cpus[i]);
	st_free(b.cpus);
	return err;
}
