/* SPDX-License-Identifier: MIT */
/*
 * core/graph/stream.c — running while the weights still stream in.
 *
 * A streamed weight's bytes come from the load bound to the graph.  When a
 * run starts, each one already loaded gets its address; for each one not
 * yet loaded the run adds a wait task, which blocks in
 * strata_load_wait_tensor() and then gives the kernels that read the
 * weight its address before they start (they depend on the wait task, so
 * nothing reads the address early).  The wait tasks are chained in model
 * order, so at most one worker waits at a time and the others run every
 * kernel whose weights are there.
 *
 * That pays only where the loader has a CPU to itself: it completes the
 * reads and checks each tensor (the serving example scans every value for
 * NaN), and on a VM with two vCPUs and two compute threads the overlapped
 * start took as long as loading first (base-1b bf16, a 32-token prompt,
 * same run: 1.45-2.6 s against 1.5-2.6 s).  So a run of as many threads as
 * the process has CPUs waits for its weights first, and says so once.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "core/core_int.h"
#include "core/graph/compile_int.h"
#include "core/graph/stream.h"
#include "core/sched.h"

/* The node whose memory argument @a of a kernel is (a view's base). */
static uint32_t base_of(const struct strata_program *p, uint32_t a)
{
	return p->plan.v[a].home == ST_HOME_VIEW ? p->plan.v[a].base : a;
}

/* Streamed weight @n's bytes once loaded: wait (no timeout), then its
 * address.  Return: 0; the load's error for it. */
static int await_weight(const struct strata_program *p, const struct st_node *n, void **data)
{
	int err = strata_load_wait_tensor(p->src->load, n->stream - 1, -1);

	return err ? err : strata_load_tensor_data(p->src->load, n->stream - 1, data);
}

/* CPUs this process may run on. */
static unsigned cpus_allowed(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		return (unsigned)CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* Wait for every pending weight of @sr and bind it: the run then computes
 * on loaded weights only. */
static int load_first(struct strata_program *p, unsigned threads, void **ptr, struct st_stream_run *sr)
{
	const struct strata_graph *g = st_program_graph(p);
	static bool said;
	unsigned i;

	for (i = 0; i < sr->n; i++) {
		const struct st_node *n = &g->nodes[sr->nodes[i]];
		int err = await_weight(p, n, &ptr[sr->nodes[i]]);

		if (err)
			return st_program_fail(p, err, "run: weight %s did not load: %s", n->name, strata_strerror(err));
	}
	if (!__atomic_exchange_n(&said, true, __ATOMIC_RELAXED))
		st_log(STRATA_LOG_INFO, "streamed weights: %u compute threads on %u CPUs leave the loader none, so runs "
		       "wait for their weights before computing (STRATA_COMPILE_STREAM_OVERLAP overlaps anyway)",
		       threads, cpus_allowed());
	__atomic_fetch_add(&p->info.stream_loaded_first, 1, __ATOMIC_RELAXED);
	sr->n = 0;
	return 0;
}

int st_stream_bind(struct strata_program *p, unsigned threads, void **ptr, struct st_stream_run *sr)
{
	const struct strata_graph *g = st_program_graph(p);
	uint32_t id;

	memset(sr, 0, sizeof(*sr));
	for (id = 0; id < g->n; id++) {
		const struct st_node *n = &g->nodes[id];
		void *data;
		int err;

		if (n->op != STRATA_OP_WEIGHT || !n->stream)
			continue;
		if (!p->src->load)
			return st_program_fail(p, -EINVAL, "weight %s is streamed, and no load is bound (strata_graph_bind_load)",
					       n->name);
		err = strata_load_tensor_data(p->src->load, n->stream - 1, &data);
		if (err == 0) {
			ptr[id] = data;
			continue;
		}
		if (err != -EAGAIN)
			return st_program_fail(p, err, "weight %s did not load: %s", n->name, strata_strerror(err));
		if (!sr->nodes && !(sr->nodes = st_calloc(g->n, sizeof(*sr->nodes))))
			return -ENOMEM;
		sr->nodes[sr->n++] = id;
	}
	if (sr->n && !p->stream_overlap && threads >= cpus_allowed())
		return load_first(p, threads, ptr, sr);
	return 0;
}

bool st_stream_pending(const struct st_stream_run *sr, uint32_t node)
{
	for (unsigned i = 0; i < sr->n; i++)
		if (sr->nodes[i] == node)
			return true;
	return false;
}

/* Wait task: block until the weight is loaded, then hand its address to
 * the kernels that read it (and, packed in place, as their packed form). */
static int wait_weight(void *arg, int64_t lo, int64_t hi)
{
	struct st_stream_wait *w = arg;
	struct strata_program *p = w->p;
	const struct st_node *n = &st_program_graph(p)->nodes[w->node];
	void *data;
	uint32_t k;
	unsigned i;
	int err;

	(void)lo, (void)hi;
	err = await_weight(p, n, &data);
	if (err)
		return w->err = err;
	__atomic_fetch_add(&p->info.stream_waits, 1, __ATOMIC_RELAXED);
	for (k = 0; k < p->f.nk; k++)
		for (i = 0; i < p->f.k[k].nargs; i++) {
			uint32_t a = p->f.k[k].args[i];

			if (base_of(p, a) != w->node)
				continue;
			p->calls[k].t[1 + i] = (char *)data + (a == w->node ? 0 : p->plan.v[a].offset);
			/* A lent weight packed in its own bytes: the packed form's
			 * address is the weight's (program.c binds it so when the
			 * weight is there at the start). */
			if (p->f.k[k].packed && p->packed[k].in_place && p->packed[k].warg == i)
				p->calls[k].t[1 + p->f.k[k].nargs] = p->calls[k].t[1 + i];
		}
	w->data = data;
	return 0;
}

int st_stream_tasks(struct strata_program *p, struct st_stream_run *sr)
{
	uint32_t nk = p->f.nk, k, total = 0, at = 0;
	unsigned i, j;

	sr->tasks = st_calloc(nk + sr->n, sizeof(*sr->tasks));
	sr->waits = st_calloc(sr->n, sizeof(*sr->waits));
	if (!sr->tasks || !sr->waits)
		return -ENOMEM;
	memcpy(sr->tasks, p->tasks, nk * sizeof(*sr->tasks));
	/* Successors of each wait task: the kernels reading its weight, and the next wait. */
	for (i = 0; i < sr->n; i++)
		for (k = 0; k < nk; k++)
			for (j = 0; j < p->f.k[k].nargs; j++)
				if (base_of(p, p->f.k[k].args[j]) == sr->nodes[i]) {
					total++;
					break;
				}
	sr->succ = st_calloc(total + sr->n, sizeof(*sr->succ));
	if (!sr->succ)
		return -ENOMEM;
	for (i = 0; i < sr->n; i++) {
		struct st_task *t = &sr->tasks[nk + i];

		sr->waits[i] = (struct st_stream_wait){ .p = p, .node = sr->nodes[i] };
		*t = (struct st_task){ .fn = wait_weight, .arg = &sr->waits[i], .items = 1, .chunk = 1, .succ = sr->succ + at,
				       .ndeps = i > 0, .blocks = true };
		for (k = 0; k < nk; k++)
			for (j = 0; j < p->f.k[k].nargs; j++)
				if (base_of(p, p->f.k[k].args[j]) == sr->nodes[i]) {
					sr->succ[at++] = k;
					sr->tasks[k].ndeps++;
					break;
				}
		if (i + 1 < sr->n)
			sr->succ[at++] = nk + i + 1;
		t->nsucc = (unsigned)(sr->succ + at - t->succ);
	}
	return 0;
}

const struct st_stream_wait *st_stream_failed(const struct st_stream_run *sr)
{
	for (unsigned i = 0; sr->waits && i < sr->n; i++)
		if (sr->waits[i].err)
			return &sr->waits[i];
	return NULL;
}

void st_stream_done(struct st_stream_run *sr)
{
	st_free(sr->nodes);
	st_free(sr->tasks);
	st_free(sr->waits);
	st_free(sr->succ);
	memset(sr, 0, sizeof(*sr));
}
