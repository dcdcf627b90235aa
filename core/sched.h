/* SPDX-License-Identifier: MIT */
/*
 * core/sched.h — the task scheduler: worker threads pinned one per core
 * and grouped by NUMA node, running a graph of tasks whose work is split
 * into chunks.
 *
 * A task becomes ready when every task before it has finished (a task
 * that waits for a weight still loading waits inside its own function).
 * Ready tasks wait on the list of the node they are placed on; a worker
 * takes chunks from its own node's list first and from the others' when
 * its own is empty.  Workers with nothing to do sleep.  The thread that
 * calls st_sched_run() works too.
 *
 * A runtime has one scheduler (st_rt_sched()), which all its programs
 * share: their runs take turns, each on as many workers as it asks for.
 */
#ifndef STRATA_CORE_SCHED_H
#define STRATA_CORE_SCHED_H

#include <stdbool.h>
#include <stdint.h>

struct strata_topo;
struct st_sched;

struct st_task {
	/* Do items [lo, hi); 0 or a negative errno (the run then stops
	 * starting chunks and returns the first error). */
	int (*fn)(void *arg, int64_t lo, int64_t hi);
	void *arg;
	int64_t items; /* 0 is allowed: the task finishes at once */
	int64_t chunk; /* items per chunk, ≥ 1 */
	unsigned node; /* where it is placed (its data's node) */
	const uint32_t *succ; /* tasks that wait for this one */
	unsigned nsucc;
	unsigned ndeps; /* tasks this one waits for */
	/* It blocks on something outside the run (a weight still loading):
	 * while only such tasks run, idle workers sleep at once rather than
	 * spin, leaving the CPU to whatever the task waits for. */
	bool blocks;
};

#define ST_SCHED_MAX 256 /* workers in one pool at most */

/*
 * st_sched_create() - start @threads workers in all (0: one per core the
 * process may run on), the caller counting as one.  With @topo of this
 * machine, workers are pinned to cores; without, they float.
 * Return: 0; -ENOMEM; a pthread error.
 */
int st_sched_create(const struct strata_topo *topo, unsigned threads, struct st_sched **out);
void st_sched_destroy(struct st_sched *s);
/* The workers in the pool, the caller's place included. */
unsigned st_sched_threads(const struct st_sched *s);
/* Grow the pool to @threads workers (at most ST_SCHED_MAX).  Return: 0;
 * a pthread error (the workers started so far stay). */
int st_sched_reserve(struct st_sched *s, unsigned threads);

/* Run @n tasks to the end on at most @width workers, the caller one of
 * them.  Runs from several threads take turns.  Return: 0, or the first
 * error a task returned. */
int st_sched_run(struct st_sched *s, struct st_task *tasks, unsigned n, unsigned width);

/* The runtime's scheduler, started at the first call, grown to @threads
 * workers (0: one per core) when it has fewer (core/rt.c).  Return: 0;
 * -ENOMEM; a pthread error. */
struct strata_rt;
int st_rt_sched(struct strata_rt *rt, unsigned threads, struct st_sched **out);

#endif /* STRATA_CORE_SCHED_H */
