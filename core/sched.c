/* SPDX-License-Identifier: MIT */
/*
 * core/sched.c — worker threads and the task graph they run (sched.h).
 *
 * One lock guards a run's ready lists and counters.  A chunk is claimed
 * and reported under it; the work itself runs outside it.  Chunks are
 * sized by the caller to be long next to that (a kernel's rows or column
 * blocks), so the lock is not where time goes.
 *
 * A thread with nothing to do spins for a short while (SPIN_NS) watching
 * a generation counter that every change which could give it work bumps,
 * and only then sleeps on the condition variable.  Waking a sleeping
 * thread costs a system call on both sides and, on a virtual machine, an
 * interrupt to a halted vCPU: tens of microseconds, longer than a decode
 * step's small kernels.  Spinning a little keeps back-to-back kernels and
 * back-to-back runs on warm threads, while an idle process still sleeps.
 *
 * The lock is an adaptive mutex (glibc's PTHREAD_MUTEX_ADAPTIVE_NP, where
 * there is one): a thread that finds it taken spins briefly before it
 * sleeps.  It is held for a fraction of a microsecond, and a plain mutex
 * put the loser to sleep in the kernel every time two workers met at it;
 * its wake-up then cost more than a decode kernel (SmolLM2 on 2 threads:
 * 4.1 ms a token with a plain mutex, 2.9 ms with an adaptive one).
 *
 * One scheduler serves a runtime (strata_rt): its programs share the
 * workers, so two programs never oversubscribe the cores.  Their runs
 * take turns (one at a time), and each uses as many workers as its
 * program asked for (its width); the others park until a run wants them.
 * A program that asks for more workers than the pool has grows it.
 *
 * What the workers do is counted per worker, in a cache line of each
 * worker's own, and exported at scrape time (strata_sched_*): tasks run,
 * chunks, time busy in chunks, and time waiting for work inside a run
 * (on dependencies or a streamed weight; idle time between runs is not
 * waiting).  A worker's place is its index in its scheduler, the caller's
 * thread being 0; the schedulers of several programs add up.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include <strata/metric_names.h>
#include <strata/metrics.h>

#include "core/core_int.h"
#include "core/sched.h"

struct worker {
	struct st_sched *s;
	pthread_t thread;
	unsigned index; /* in the pool; the caller of a run is 0 */
	unsigned node;
	unsigned place; /* its statistics' slot */
	int cpu; /* -1: not pinned */
};

struct task_state {
	int64_t next, done;
	unsigned deps;
	bool listed;
};

/* ---- statistics ------------------------------------------------------------- */

#define STAT_WORKERS 256 /* workers past this are counted in the last slot */

static struct {
	struct {
		_Alignas(64) _Atomic uint64_t chunks, busy_ns, wait_ns;
	} w[STAT_WORKERS];
	_Atomic uint64_t tasks;
	_Atomic unsigned live; /* workers of the schedulers that exist */
	_Atomic unsigned places; /* the most workers any scheduler had */
} S;

static void collect(void *user, struct strata_metric_writer *w)
{
	unsigned places = atomic_load_explicit(&S.places, memory_order_relaxed);

	(void)user;
	strata_metric_write(w, STRATA_MN_SCHED_WORKERS, "Worker threads of the schedulers running, the callers included",
			    STRATA_METRIC_GAUGE, NULL, atomic_load_explicit(&S.live, memory_order_relaxed));
	strata_metric_write(w, STRATA_MN_SCHED_TASKS_TOTAL, "Tasks (kernels) the schedulers ran to the end",
			    STRATA_METRIC_COUNTER, NULL, (double)atomic_load_explicit(&S.tasks, memory_order_relaxed));
	for (unsigned i = 0; i < places && i < STAT_WORKERS; i++) {
		char labels[32];

		snprintf(labels, sizeof(labels), "worker=\"%u\"", i);
		strata_metric_write(w, STRATA_MN_SCHED_CHUNKS_TOTAL, "Chunks of tasks a worker ran", STRATA_METRIC_COUNTER,
				    labels, (double)atomic_load_explicit(&S.w[i].chunks, memory_order_relaxed));
		strata_metric_write(w, STRATA_MN_SCHED_BUSY_SECONDS_TOTAL, "Time a worker spent running chunks",
				    STRATA_METRIC_COUNTER, labels,
				    (double)atomic_load_explicit(&S.w[i].busy_ns, memory_order_relaxed) * 1e-9);
		strata_metric_write(w, STRATA_MN_SCHED_WAIT_SECONDS_TOTAL,
				    "Time a worker waited for work inside a run (dependencies, streamed weights)",
				    STRATA_METRIC_COUNTER, labels,
				    (double)atomic_load_explicit(&S.w[i].wait_ns, memory_order_relaxed) * 1e-9);
	}
}

static void stats_init(void)
{
	strata_metric_collector_add(collect, NULL, NULL);
}

static void count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* How long an idle thread watches for work before it sleeps. */
#define SPIN_NS 200000

struct st_sched {
	pthread_mutex_t run_lock; /* one run at a time: programs take turns */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* work to claim, or the run over */
	pthread_cond_t parked; /* a run started: workers outside the last one's width look again */
	atomic_uint gen; /* bumped (lock held) whenever a waiter may proceed */
	unsigned sleepers; /* threads in pthread_cond_wait */
	unsigned inflight; /* chunks claimed and not yet reported */
	unsigned blocked; /* of those, chunks of tasks that block (st_task.blocks) */
	struct worker *workers; /* [ST_SCHED_MAX]; [0] is the caller's place */
	unsigned nworkers, nnodes;
	unsigned width; /* the workers the run in progress may use */
	bool stop;
	unsigned capacity; /* tasks the buffers below hold */
	/* the run in progress */
	struct st_task *tasks;
	struct task_state *state;
	unsigned ntasks, nfinished;
	uint32_t *ready; /* per node: a list of task numbers, ntasks long */
	unsigned *nready;
	int err;
};

/* Something a waiter may be waiting for has happened (lock held). */
static void wake_waiters(struct st_sched *s)
{
	atomic_fetch_add_explicit(&s->gen, 1, memory_order_release);
	if (s->sleepers)
		pthread_cond_broadcast(&s->wake);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/*
 * Wait (lock held, and held again on return) until the generation moves
 * on from what it was when the caller last looked under the lock: spin
 * first, then sleep.  A wake-up may be spurious; callers look again.
 */
static void idle_wait(struct st_sched *s, const struct worker *w)
{
	unsigned seen = atomic_load_explicit(&s->gen, memory_order_relaxed);
	bool in_run = s->tasks && s->nfinished < s->ntasks && w->index < s->width;
	uint64_t t0 = in_run ? st_mono_ns() : 0, until;
	unsigned spins = 0;

	/* A run with nothing in flight but waits for outside events (a weight
	 * still loading), and nothing ready, can wait long, and spinning would
	 * take the CPU the load needs (on two cores a spinning worker and the
	 * loader's threads share them).  Sleep at once.  (A run whose tasks
	 * have all finished is not waiting: its caller is about to return,
	 * and the next run will want this thread warm.) */
	if (s->tasks && s->inflight == s->blocked && s->nfinished < s->ntasks) {
		s->sleepers++;
		pthread_cond_wait(&s->wake, &s->lock);
		s->sleepers--;
		count(&S.w[w->place].wait_ns, st_mono_ns() - t0);
		return;
	}
	pthread_mutex_unlock(&s->lock);
	until = (in_run ? t0 : st_mono_ns()) + SPIN_NS;
	while (atomic_load_explicit(&s->gen, memory_order_acquire) == seen) {
		cpu_relax();
		if (++spins % 64 == 0 && st_mono_ns() > until)
			break;
	}
	pthread_mutex_lock(&s->lock);
	if (atomic_load_explicit(&s->gen, memory_order_relaxed) == seen && !s->stop) {
		s->sleepers++;
		pthread_cond_wait(&s->wake, &s->lock);
		s->sleepers--;
	}
	if (in_run)
		count(&S.w[w->place].wait_ns, st_mono_ns() - t0);
}

/* Put task @t on its node's list (lock held). */
static void make_ready(struct st_sched *s, unsigned t)
{
	unsigned node = s->tasks[t].node < s->nnodes ? s->tasks[t].node : 0;

	s->ready[node * s->ntasks + s->nready[node]++] = t;
	s->state[t].listed = true;
	wake_waiters(s);
}

/* A task's last chunk is done, or it had none (lock held). */
static void finish(struct st_sched *s, unsigned t)
{
	unsigned i;

	s->nfinished++;
	count(&S.tasks, 1);
	for (i = 0; i < s->tasks[t].nsucc; i++) {
		unsigned u = s->tasks[t].succ[i];

		if (--s->state[u].deps == 0)
			make_ready(s, u);
	}
	if (s->nfinished == s->ntasks)
		wake_waiters(s);
}

/* Claim a chunk for a worker on @node: the first ready task of its own
 * node's list, else of another's (lock held).  Return: whether one was. */
static bool claim(struct st_sched *s, unsigned node, unsigned *task, int64_t *lo, int64_t *hi)
{
	unsigned k;

	for (k = 0; k < s->nnodes; k++) {
		unsigned nd = (node + k) % s->nnodes;
		uint32_t *list = &s->ready[nd * s->ntasks];

		while (s->nready[nd] > 0) {
			unsigned t = list[0];
			struct task_state *st = &s->state[t];
			const struct st_task *tk = &s->tasks[t];

			if (st->next >= tk->items || s->err) {
				/* Fully claimed (or the run failed): off the list. */
				memmove(list, list + 1, (--s->nready[nd]) * sizeof(*list));
				st->listed = false;
				if (tk->items == 0 || (s->err && st->done == st->next)) {
					st->next = st->done = tk->items;
					finish(s, t);
				}
				continue;
			}
			*task = t;
			*lo = st->next;
			*hi = st->next + tk->chunk < tk->items ? st->next + tk->chunk : tk->items;
			st->next = *hi;
			return true;
		}
	}
	return false;
}

/* Report a chunk done (lock held). */
static void report(struct st_sched *s, unsigned t, int64_t count, int err)
{
	struct task_state *st = &s->state[t];

	if (err && !s->err)
		s->err = err;
	st->done += count;
	if (s->err && !st->listed && st->done == st->next) {
		/* Nothing more will start: count the rest as done. */
		st->done = st->next = s->tasks[t].items;
	}
	if (st->done == s->tasks[t].items)
		finish(s, t);
}

/* Work until no chunk is left to claim; return with the lock held. */
static void work(struct st_sched *s, const struct worker *w)
{
	unsigned t;
	int64_t lo, hi;

	while (s->tasks && claim(s, w->node, &t, &lo, &hi)) {
		const struct st_task *tk = &s->tasks[t];
		uint64_t t0;
		int err;

		s->inflight++;
		s->blocked += tk->blocks;
		pthread_mutex_unlock(&s->lock);
		t0 = st_mono_ns();
		err = tk->fn(tk->arg, lo, hi);
		count(&S.w[w->place].busy_ns, st_mono_ns() - t0);
		count(&S.w[w->place].chunks, 1);
		pthread_mutex_lock(&s->lock);
		s->inflight--;
		s->blocked -= tk->blocks;
		report(s, t, hi - lo, err);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct st_sched *s = w->s;

	if (w->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		if (s->tasks && w->index >= s->width) {
			/* Not part of this run: park until the next one starts
			 * (not counted among the sleepers, so the run's own
			 * wake-ups never reach it). */
			pthread_cond_wait(&s->parked, &s->lock);
			continue;
		}
		work(s, w);
		if (!s->stop)
			idle_wait(s, w);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* One core per worker: the first hardware thread of each core the process
 * may run on, node by node. */
static unsigned pick_cores(const struct strata_topo *topo, struct worker *w, unsigned want)
{
	cpu_set_t allowed;
	unsigned n = 0, i;
	int depth;

	if (!topo || !topo->this_machine || sched_getaffinity(0, sizeof(allowed), &allowed))
		return 0;
	depth = hwloc_get_type_depth(topo->hw, HWLOC_OBJ_CORE);
	for (i = 0; depth >= 0 && i < (unsigned)hwloc_get_nbobjs_by_depth(topo->hw, (unsigned)depth) && n < want; i++) {
		hwloc_obj_t core = hwloc_get_obj_by_depth(topo->hw, (unsigned)depth, i);
		int cpu = hwloc_bitmap_first(core->cpuset);
		unsigned nd;

		if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed))
			continue;
		w[n].cpu = cpu;
		w[n].node = 0;
		for (nd = 0; nd < topo->n_nodes; nd++)
			if (hwloc_bitmap_isset(topo->nodes[nd].obj->cpuset, (unsigned)cpu))
				w[n].node = nd;
		n++;
	}
	return n;
}

/* Start workers [s->nworkers, @n) (lock held, or before any run).
 * Return: 0; a pthread error (the workers started so far stay). */
static int start_workers(struct st_sched *s, unsigned n)
{
	unsigned places;

	for (; s->nworkers < n; s->nworkers++) {
		struct worker *w = &s->workers[s->nworkers];
		int err;

		w->s = s;
		w->index = s->nworkers;
		w->place = w->index < STAT_WORKERS ? w->index : STAT_WORKERS - 1;
		if (w->index > 0 && (err = pthread_create(&w->thread, NULL, worker_main, w)))
			return -err; /* (index 0 is the caller's place: no thread) */
		atomic_fetch_add_explicit(&S.live, 1, memory_order_relaxed);
	}
	places = atomic_load_explicit(&S.places, memory_order_relaxed);
	while (places < s->nworkers &&
	       !atomic_compare_exchange_weak_explicit(&S.places, &places, s->nworkers, memory_order_relaxed,
						      memory_order_relaxed))
		;
	return 0;
}

int st_sched_create(const struct strata_topo *topo, unsigned threads, struct st_sched **out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct st_sched *s = st_calloc(1, sizeof(*s));
	unsigned cores, i, want;
	int err;

	if (!s)
		return -ENOMEM;
	pthread_once(&once, stats_init);
	cores = topo && topo->cores ? topo->cores : 1;
	want = threads ? threads : cores;
	want = want < ST_SCHED_MAX ? want : ST_SCHED_MAX;
	s->nnodes = topo && topo->n_nodes ? topo->n_nodes : 1;
	s->workers = st_calloc(ST_SCHED_MAX, sizeof(*s->workers));
	s->nready = st_calloc(s->nnodes, sizeof(*s->nready));
	if (!s->workers || !s->nready) {
		st_free(s->workers);
		st_free(s->nready);
		st_free(s);
		return -ENOMEM;
	}
	for (i = 0; i < ST_SCHED_MAX; i++)
		s->workers[i].cpu = -1;
	/* Helpers take the cores after the first, which the caller keeps;
	 * with more workers than cores, they float. */
	if (want > 1 && pick_cores(topo, s->workers, want) < want)
		for (i = 0; i < want; i++)
			s->workers[i].cpu = -1;
	{
		pthread_mutexattr_t attr;

		pthread_mutexattr_init(&attr);
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP /* the type is an enum: test its initializer */
		pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
		pthread_mutex_init(&s->lock, &attr);
		pthread_mutexattr_destroy(&attr);
	}
	pthread_mutex_init(&s->run_lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	pthread_cond_init(&s->parked, NULL);
	pthread_mutex_lock(&s->lock);
	err = start_workers(s, want);
	pthread_mutex_unlock(&s->lock);
	if (err) {
		st_sched_destroy(s);
		return err;
	}
	*out = s;
	return 0;
}

int st_sched_reserve(struct st_sched *s, unsigned threads)
{
	int err;

	if (threads > ST_SCHED_MAX)
		threads = ST_SCHED_MAX;
	pthread_mutex_lock(&s->lock);
	err = start_workers(s, threads);
	pthread_mutex_unlock(&s->lock);
	return err;
}

void st_sched_destroy(struct st_sched *s)
{
	unsigned i;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	wake_waiters(s);
	pthread_cond_broadcast(&s->wake);
	pthread_cond_broadcast(&s->parked);
	pthread_mutex_unlock(&s->lock);
	for (i = 1; i < s->nworkers; i++)
		pthread_join(s->workers[i].thread, NULL);
	atomic_fetch_sub_explicit(&S.live, s->nworkers, memory_order_relaxed);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->run_lock);
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->parked);
	st_free(s->state);
	st_free(s->ready);
	st_free(s->nready);
	st_free(s->workers);
	st_free(s);
}

unsigned st_sched_threads(const struct st_sched *s)
{
	return s->nworkers;
}

/* Buffers for a run of @n tasks, kept from run to run (lock held). */
static int reserve(struct st_sched *s, unsigned n)
{
	struct task_state *state;
	uint32_t *ready;

	if (n <= s->capacity)
		return 0;
	state = st_malloc((size_t)n * sizeof(*state));
	ready = st_malloc((size_t)n * s->nnodes * sizeof(*ready));
	if (!state || !ready) {
		st_free(state);
		st_free(ready);
		return -ENOMEM;
	}
	st_free(s->state);
	st_free(s->ready);
	s->state = state;
	s->ready = ready;
	s->capacity = n;
	return 0;
}

int st_sched_run(struct st_sched *s, struct st_task *tasks, unsigned n, unsigned width)
{
	unsigned i;
	int err;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&s->run_lock);
	pthread_mutex_lock(&s->lock);
	err = reserve(s, n);
	if (err) {
		pthread_mutex_unlock(&s->lock);
		pthread_mutex_unlock(&s->run_lock);
		return err;
	}
	s->width = width < 1 ? 1 : width < s->nworkers ? width : s->nworkers;
	pthread_cond_broadcast(&s->parked);
	memset(s->state, 0, (size_t)n * sizeof(*s->state));
	memset(s->nready, 0, s->nnodes * sizeof(*s->nready));
	s->tasks = tasks;
	s->ntasks = n;
	s->nfinished = 0;
	s->err = 0;
	for (i = 0; i < n; i++) {
		s->state[i].deps = tasks[i].ndeps;
		if (tasks[i].chunk < 1)
			tasks[i].chunk = 1;
	}
	for (i = 0; i < n; i++)
		if (s->state[i].deps == 0)
			make_ready(s, i);
	/* Every chunk is reported before its task can finish, so when all
	 * have finished no worker still holds one. */
	while (s->nfinished < s->ntasks) {
		work(s, &s->workers[0]);
		if (s->nfinished < s->ntasks)
			idle_wait(s, &s->workers[0]);
	}
	err = s->err;
	s->tasks = NULL;
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_unlock(&s->run_lock);
	return err;
}
