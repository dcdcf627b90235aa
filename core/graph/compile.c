/* SPDX-License-Identifier: MIT */
/*
 * core/graph/compile.c — strata_graph_compile(): the passes in order, then
 * the kernels handed to a target (target.h) to be made runnable.
 *
 *   fold -> cse -> dce -> fuse -> plan -> place -> target: open, emit, build
 *
 * The passes know nothing of the target; without one (asked for, or the
 * CPU target finds no C compiler) the reference interpreter runs the
 * whole graph.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/core_int.h"
#include "core/graph/compile_int.h"
#include "core/graph/target.h"
#include "core/sched.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

int st_program_fail(struct strata_program *p, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
	st_debug("program: %s", p->error);
	return err;
}

/* fold, cse, dce; p->map from the caller's numbers to the last graph's. */
static int run_passes(struct strata_program *p)
{
	struct strata_graph *g = p->src;
	uint32_t *m1 = NULL, *m2 = NULL, id;
	int err;

	err = st_graph_fold(g, &p->stage[0], &p->owned, &p->nowned);
	if (err)
		return err;
	m1 = st_malloc(g->n * sizeof(*m1));
	m2 = st_malloc(g->n * sizeof(*m2));
	p->map = st_malloc(g->n * sizeof(*p->map));
	err = !m1 || !m2 || !p->map ? -ENOMEM : st_graph_cse(p->stage[0], &p->stage[1], m1);
	if (!err)
		err = st_graph_dce(p->stage[1], &p->stage[2], m2);
	for (id = 0; !err && id < g->n; id++)
		p->map[id] = m1[id] == ST_GRAPH_GONE ? ST_GRAPH_GONE : m2[m1[id]];
	st_free(m1);
	st_free(m2);
	return err;
}

/*
 * Element-wise kernels whose arguments and result together outgrow the
 * last-level cache, and whose result is not written over one of their
 * arguments, store it with streaming stores.
 * A normal store first reads the line it writes (read for ownership): for a
 * result that leaves the cache anyway that is a third more traffic on a
 * triad, and more on a chain of four inputs.  Written in place, the line
 * was just read and is in the cache already, so the plain store is kept.
 */
uint64_t (*st_graph_llc_bytes)(const struct strata_topo *topo) = strata_topo_llc_bytes;

/* Whether kernel @ker writes its result over one of its arguments. */
static bool writes_in_place(const struct strata_program *p, const struct st_kernel *ker)
{
	const struct st_value *v = p->plan.v, *r = &v[ker->root];
	unsigned i;

	for (i = 0; i < ker->nargs; i++)
		if (r->home == ST_HOME_ARENA && v[ker->args[i]].home == ST_HOME_ARENA &&
		    v[ker->args[i]].offset == r->offset)
			return true;
	return false;
}

static void choose_streaming(struct strata_program *p, const struct strata_topo *topo)
{
	uint64_t llc = st_graph_llc_bytes(topo);
	uint32_t k;

	for (k = 0; k < p->f.nk; k++) {
		struct st_kernel *ker = &p->f.k[k];

		ker->stream_bytes = 0;
		if (ker->kind != ST_KERNEL_ELEMWISE || p->plan.v[ker->root].home == ST_HOME_STATE)
			continue;
		/* The result's share of a cache-sized working set. */
		if (!writes_in_place(p, ker))
			ker->stream_bytes = (llc ? llc : (uint64_t)32 << 20) / (ker->nargs + 1);
	}
}

/*
 * The bytes the kernels bring into the caches at max_seq (fill_bytes):
 * their arguments, and the lines of a result written with ordinary stores
 * where the kernel had not just read them (a store to a line not in cache
 * reads it first).  Results going back to memory are left out: written
 * lines drain while the core waits on its reads.  On this project's
 * machine an in-place t = t + x over 1 GiB arrays ran at 23.6 GB/s counting
 * all three, the time of reading t and x alone (15.3 GB/s), where
 * y = t · x, which reads y's lines before writing them, ran at 13.7.
 * Streaming stores read nothing.
 */
static void count_fills(struct strata_program *p)
{
	const struct strata_graph *g = st_program_graph(p);
	uint32_t k;

	for (k = 0; k < p->f.nk; k++) {
		const struct st_kernel *ker = &p->f.k[k];
		uint64_t root = st_node_bytes(&g->nodes[ker->root], g->max_seq);
		bool streamed = ker->stream_bytes && root >= ker->stream_bytes;

		p->info.fill_bytes += ker->bytes - root + (writes_in_place(p, ker) || streamed ? 0 : root);
	}
}

/* Bytes the plan and the fusion report. */
static void summarize(struct strata_program *p)
{
	uint32_t k;

	p->info.nodes = st_program_graph(p)->n;
	p->info.kernels = p->f.nk;
	p->info.arena_bytes = p->plan.arena_bytes;
	p->info.live_bound = p->plan.lower_bound;
	p->info.in_place = p->plan.in_place;
	for (k = 0; k < p->f.nk; k++)
		p->info.bytes_moved += p->f.k[k].bytes;
}

/* Zeroed buffers for the states, per node of the graph that runs. */
static int make_states(struct strata_program *p)
{
	const struct strata_graph *g = st_program_state_graph(p);
	uint32_t id;

	for (id = 0; id < g->n; id++) {
		if (g->nodes[id].op != STRATA_OP_STATE)
			continue;
		if (!p->state && !(p->state = st_calloc(g->n, sizeof(*p->state))))
			return -ENOMEM;
		p->state[id] = st_calloc(st_shape_elems(&g->nodes[id].shape, 1), sizeof(float));
		if (!p->state[id])
			return -ENOMEM;
	}
	return 0;
}

static bool has_output(const struct strata_graph *g)
{
	uint32_t id;

	for (id = 0; id < g->n; id++)
		if (g->nodes[id].output)
			return true;
	return false;
}

/* Each kernel's source and key from the target, then all made runnable. */
static int build_kernels(struct strata_program *p, const struct strata_compile_opts *opts)
{
	uint32_t k;
	int err = 0;

	for (k = 0; k < p->f.nk && !err; k++)
		err = p->target->emit(p, &p->f.k[k]);
	return err ? err : p->target->build(p, opts);
}

int strata_graph_compile(struct strata_graph *g, const struct strata_compile_opts *opts, struct strata_program **out)
{
	const bool interpret = opts && st_opts_valid(opts, sizeof(*opts)) &&
			       (ST_OPT(opts, flags, 0) & STRATA_COMPILE_INTERPRET);

	return st_graph_compile_on(g, opts, interpret ? NULL : &st_target_cpu, out);
}

int st_graph_compile_on(struct strata_graph *g, const struct strata_compile_opts *opts,
			const struct st_target *target, struct strata_program **out)
{
	struct strata_program *p;
	double t0 = now_ms(), t[4];
	char why[sizeof(p->info.reason)];
	int err;

	if (!g || !out || (opts && !st_opts_valid(opts, sizeof(*opts))))
		return -EINVAL;
	g->error[0] = '\0';
	if (!has_output(g))
		return st_graph_fail(g, -EINVAL, "compile: no node is marked as an output");
	p = st_calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->src = g;
	p->info.sz = sizeof(p->info);
	err = run_passes(p);
	if (err) {
		if (err != -ENOMEM && strncmp(g->error, "weight ", 7))
			st_graph_fail(g, err, "compile: folding constants failed: %s", g->error);
		goto fail;
	}
	p->info.backend = STRATA_BACKEND_INTERPRETER;
	if (!target) {
		st_fmt(p->info.reason, sizeof(p->info.reason), "asked for (STRATA_COMPILE_INTERPRET)");
	} else if ((err = target->open(p, opts, why, sizeof(why))) == -ENOENT) {
		/* Not here: the whole graph through the interpreter. */
		target->close(p);
		st_fmt(p->info.reason, sizeof(p->info.reason), "%s", why);
		st_warn("graph: %s", p->info.reason);
	} else if (err) {
		target->close(p);
		if (p->error[0])
			st_graph_fail(g, err, "compile: %s", p->error);
		goto fail;
	} else {
		p->target = target;
		if (target == &st_target_cpu)
			p->info.backend = STRATA_BACKEND_C;
	}
	t[0] = now_ms();
	p->stream_overlap = ST_OPT(opts, flags, 0) & STRATA_COMPILE_STREAM_OVERLAP;
	err = st_graph_fuse(st_program_graph(p), !(ST_OPT(opts, flags, 0) & STRATA_COMPILE_NO_FUSION), &p->f);
	for (uint32_t k = 0; !err && k < p->f.nk; k++) {
		const struct st_node *core = &st_program_graph(p)->nodes[p->f.k[k].core];

		p->f.k[k].bf16_activations = (ST_OPT(opts, flags, 0) & STRATA_COMPILE_BF16_ACTIVATIONS) &&
					     p->f.k[k].kind == ST_KERNEL_MATMUL &&
					     st_program_graph(p)->nodes[core->src[1]].dtype == STRATA_DTYPE_BF16;
	}
	t[1] = now_ms();
	if (!err)
		err = st_graph_plan(st_program_graph(p), &p->f, &p->plan);
	if (!err) {
		p->place = st_calloc(p->f.nk ? p->f.nk : 1, sizeof(*p->place));
		err = p->place ? st_graph_place(st_program_graph(p), &p->f, g->rt->topo, p->place) : -ENOMEM;
	}
	t[2] = t[3] = now_ms();
	if (err)
		goto fail;
	summarize(p);
	err = make_states(p);
	if (err)
		goto fail;
	if (p->target) {
		choose_streaming(p, g->rt->topo);
		count_fills(p);
		if (p->target->packs_weights)
			err = st_choose_packing(p, ST_OPT(opts, flags, 0));
		if (!err)
			err = build_kernels(p, opts);
		t[3] = now_ms();
		if (!err && p->plan.arena_bytes) {
			p->arena_raw = st_malloc(p->plan.arena_bytes + 63);
			p->arena = (void *)(((uintptr_t)p->arena_raw + 63) & ~(uintptr_t)63);
			err = p->arena_raw ? 0 : -ENOMEM;
		}
		/* The runtime's workers, shared with its other programs; this
		 * one's runs use as many as it asked for (0: one per core). */
		if (!err)
			err = st_rt_sched(g->rt, ST_OPT(opts, threads, 0), &p->sched);
		if (!err) {
			unsigned want = ST_OPT(opts, threads, 0);

			want = want ? want : g->rt->topo->cores ? g->rt->topo->cores : 1;
			p->info.threads = want < st_sched_threads(p->sched) ? want : st_sched_threads(p->sched);
		}
		if (!err)
			err = st_program_tasks(p);
		if (err) {
			if (p->error[0])
				st_graph_fail(g, err, "compile: %s", p->error);
			goto fail;
		}
	} else {
		p->info.threads = 1;
	}
	p->info.compile_ms = now_ms() - t0;
	st_debug("graph: compiled %u nodes into %u kernels for %s in %.1f ms (passes %.1f, fuse %.1f, plan %.1f, "
		 "build %.1f, tasks %.1f)",
		 p->info.nodes, p->info.kernels, p->target ? p->target->name : "the interpreter", p->info.compile_ms,
		 t[0] - t0, t[1] - t[0], t[2] - t[1], t[3] - t[2], now_ms() - t[3]);
	*out = p;
	return 0;
fail:
	strata_program_destroy(p);
	return err;
}
