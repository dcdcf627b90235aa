/* SPDX-License-Identifier: MIT */
/*
 * core/graph/program.c — running a compiled program: the caller's tensors
 * and the plan give every value an address, each kernel becomes a task
 * that waits for the kernels writing its arguments, and the scheduler
 * runs them in chunks of work items on its workers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/core_int.h"
#include "core/graph/compile_int.h"
#include "core/graph/target.h"
#include "core/graph/stream.h"
#include "core/sched.h"

/* A kernel moving fewer bytes than this runs as one chunk on one thread. */
#define SPLIT_BYTES (64u << 10)
#include <strata/trace.h>

/* Rows of @s (every dimension but the last) at @seq. */
static int64_t rows(const struct st_shape *s, uint32_t seq)
{
	int64_t last = s->dim[s->ndim - 1] == ST_DIM_SEQ ? (int64_t)seq : s->dim[s->ndim - 1];

	return (int64_t)st_shape_elems(s, seq) / (last ? last : 1);
}

/* Product of the first @n sizes of @s at @seq. */
static int64_t leading(const struct st_shape *s, unsigned n, uint32_t seq)
{
	int64_t p = 1;
	unsigned i;

	for (i = 0; i < n && i < s->ndim; i++)
		p *= s->dim[i] == ST_DIM_SEQ ? (int64_t)seq : s->dim[i];
	return p;
}

/* Rows of a matmul's a (M) at @seq. */
static int64_t matmul_rows(const struct strata_graph *g, const struct st_kernel *k, uint32_t seq)
{
	const struct st_shape *a = &g->nodes[g->nodes[k->core].src[0]].shape;

	return a->ndim < 2 ? 1 : a->dim[a->ndim - 2] == ST_DIM_SEQ ? (int64_t)seq : a->dim[a->ndim - 2];
}

/*
 * Work items a claim of kernel @ker takes, given its @items, the
 * elements of its result and the @bytes it moves at @seq, on @threads.
 */
static int64_t chunk_of(const struct strata_graph *g, const struct st_kernel *ker, uint64_t bytes, int64_t items,
			uint64_t elems, unsigned threads, uint32_t seq)
{
	const int64_t share = (items + threads - 1) / threads;
	/* Below a MiB, one chunk a worker: fewer claims. */
	const int64_t per = bytes < (1u << 20) ? 1 : 4, n = items / (int64_t)(threads * per);

	/* Attention's result is small, but each of its items (a block of
	 * query rows of a key-value head) reads that head's whole cache:
	 * share them out. */
	if (g->nodes[ker->core].op == STRATA_OP_ATTENTION)
		return share;
	if ((elems < 16384 && ker->kind != ST_KERNEL_MATMUL) || bytes < SPLIT_BYTES)
		return items ? items : 1;
	/* Prefill's matmuls (b transposed, from four rows of a on) prepare
	 * a's rows in each chunk (packed in tiles, rounded to bf16, or to a
	 * packed weight's digits): one chunk a worker, which prepares them
	 * once (four chunks a worker prepared a 2048-row prompt 8 times: a
	 * tenth of the multiply). */
	if (ker->kind == ST_KERNEL_MATMUL && (g->nodes[ker->core].p.flags & STRATA_MATMUL_TRANS_B) &&
	    matmul_rows(g, ker, seq) >= 4)
		return share;
	/* Four chunks a worker, unless the whole kernel is small.  The
	 * workers spin between kernels (sched.c), so handing one a chunk
	 * costs about a microsecond: worth it from a few tens of KiB. */
	return n > 1 ? n : 1;
}

/* Work items of a kernel alone by its op (ops.def's items column), @x its
 * first source. */
static int64_t items_rows(const struct strata_graph *g, const struct st_node *c, const struct st_node *x, uint32_t seq)
{
	(void)g, (void)x;
	return rows(&c->shape, seq);
}

static int64_t items_src_rows(const struct strata_graph *g, const struct st_node *c, const struct st_node *x,
			      uint32_t seq)
{
	(void)g, (void)c;
	return rows(&x->shape, seq);
}

static int64_t items_axis(const struct strata_graph *g, const struct st_node *c, const struct st_node *x, uint32_t seq)
{
	(void)g;
	return leading(&x->shape, (unsigned)c->p.axis, seq);
}

static int64_t items_slice(const struct strata_graph *g, const struct st_node *c, const struct st_node *x,
			   uint32_t seq)
{
	(void)g;
	return leading(&x->shape, (unsigned)c->p.slice.axis, seq);
}

/* Attention: blocks of st_attention_rows() query rows, times the
 * key-value heads. */
static int64_t items_attention(const struct strata_graph *g, const struct st_node *c, const struct st_node *x,
			       uint32_t seq)
{
	const int64_t kvh = g->nodes[c->src[1]].shape.dim[1], per = st_attention_rows(c->shape.dim[1], kvh);

	return (leading(&x->shape, 1, seq) + per - 1) / per * kvh;
}

/* One per id. */
static int64_t items_ids(const struct strata_graph *g, const struct st_node *c, const struct st_node *x, uint32_t seq)
{
	(void)x;
	return (int64_t)st_shape_elems(&g->nodes[c->src[1]].shape, seq);
}

/* The value's rows. */
static int64_t items_value_rows(const struct strata_graph *g, const struct st_node *c, const struct st_node *x,
				uint32_t seq)
{
	(void)x;
	return leading(&g->nodes[c->src[1]].shape, 1, seq);
}

/* Ops never alone in a kernel: one item. */
static int64_t items_none(const struct strata_graph *g, const struct st_node *c, const struct st_node *x, uint32_t seq)
{
	(void)g, (void)c, (void)x, (void)seq;
	return 1;
}

int64_t st_kernel_items(const struct strata_graph *g, const struct st_kernel *k, uint32_t seq)
{
	const struct st_node *c = &g->nodes[k->core];
	const struct st_node *x = c->nsrc ? &g->nodes[c->src[0]] : c;

	switch (k->kind) {
	case ST_KERNEL_ELEMWISE: return rows(&g->nodes[k->root].shape, seq);
	case ST_KERNEL_ROWS: return rows(&x->shape, seq);
	case ST_KERNEL_MATMUL: {
		const struct st_node *b = &g->nodes[c->src[1]];
		int64_t n = b->shape.dim[b->shape.ndim - ((c->p.flags & STRATA_MATMUL_TRANS_B) ? 2 : 1)];

		if (n == ST_DIM_SEQ)
			n = seq;
		return leading(&x->shape, x->shape.ndim - 2, seq) * ((n + 31) / 32);
	}
	case ST_KERNEL_SINGLE: break;
	}
	switch (c->op) {
#define ST_OP(E, name, lo, hi, fuse, param, shape, eval, ref, kern, rows, emit, items, ...) \
	case STRATA_OP_##E: return items(g, c, x, seq);
#include "core/graph/ops.def"
	}
	return 1;
}

/* One chunk of a kernel: a trace span (arg0 the kernel, arg1 its items),
 * and the kernel's first start and last end for its wall time. */
static int call_kernel(void *arg, int64_t lo, int64_t hi)
{
	struct st_call *c = arg;
	uint64_t t0 = st_mono_ns(), seen = __atomic_load_n(&c->start_ns, __ATOMIC_RELAXED), t1;
	int err;

	while ((seen == 0 || t0 < seen) &&
	       !__atomic_compare_exchange_n(&c->start_ns, &seen, t0, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	strata_trace_begin(c->trace_id, c->kernel, (uint64_t)(hi - lo));
	err = c->launch(c, lo, hi);
	strata_trace_end(c->trace_id);
	t1 = st_mono_ns();
	seen = __atomic_load_n(&c->end_ns, __ATOMIC_RELAXED);
	while (t1 > seen && !__atomic_compare_exchange_n(&c->end_ns, &seen, t1, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return err;
}

/* Bytes node @id takes at @seq, in its storage type. */
static uint64_t bytes_at(const struct strata_graph *g, uint32_t id, uint32_t seq)
{
	return st_node_bytes(&g->nodes[id], seq);
}

/* The arena bytes node @node is read from or written to: [*lo, *hi), or
 * false when it is not in the arena. */
static bool arena_range(const struct strata_program *p, uint32_t node, uint64_t *lo, uint64_t *hi)
{
	const struct st_value *v = &p->plan.v[node];
	const struct st_value *b = v->home == ST_HOME_VIEW ? &p->plan.v[v->base] : v;

	if (b->home != ST_HOME_ARENA)
		return false;
	*lo = b->offset;
	*hi = b->offset + b->bytes;
	return true;
}

static bool overlaps(const struct strata_program *p, uint32_t node, uint64_t lo, uint64_t hi)
{
	uint64_t a, b;

	return arena_range(p, node, &a, &b) && a < hi && lo < b;
}

/* Whether kernel @k must wait for the earlier kernel @j: it reads what j
 * writes, or writes memory j reads or writes (the plan reuses memory in
 * kernel order; workers must not run ahead of that). */
static bool must_follow(const struct strata_program *p, uint32_t j, uint32_t k)
{
	const struct st_kernel *kj = &p->f.k[j], *kk = &p->f.k[k];
	uint64_t lo, hi;
	unsigned i;

	for (i = 0; i < kk->nargs; i++)
		if (p->f.kernel_of[p->plan.v[kk->args[i]].home == ST_HOME_VIEW ? p->plan.v[kk->args[i]].base
										 : kk->args[i]] == j)
			return true;
	/* A lent weight's matmul rewrites it in place; a gather from it must
	 * not read a tile while it is rewritten. */
	if (p->packed && p->packed[j].in_place && p->packed[k].in_place && p->packed[j].tiles == p->packed[k].tiles)
		return true;
	if (!arena_range(p, kk->root, &lo, &hi))
		return false;
	if (overlaps(p, kj->root, lo, hi))
		return true;
	for (i = 0; i < kj->nargs; i++)
		if (overlaps(p, kj->args[i], lo, hi))
			return true;
	return false;
}

int st_program_tasks(struct strata_program *p)
{
	uint32_t nk = p->f.nk, k, j, total = 0, *fill;
	size_t at = 0;

	p->tasks = st_calloc(nk ? nk : 1, sizeof(*p->tasks));
	p->calls = st_calloc(nk ? nk : 1, sizeof(*p->calls));
	p->ptr = st_calloc(st_program_graph(p)->n ? st_program_graph(p)->n : 1, sizeof(*p->ptr));
	fill = st_calloc(nk ? nk : 1, sizeof(*fill));
	if (!p->tasks || !p->calls || !p->ptr || !fill) {
		st_free(fill);
		return -ENOMEM;
	}
	for (k = 0; k < nk; k++)
		for (j = 0; j < k; j++)
			if (must_follow(p, j, k)) {
				p->tasks[j].nsucc++;
				p->tasks[k].ndeps++;
				total++;
			}
	p->succ = st_calloc(total ? total : 1, sizeof(*p->succ));
	if (!p->succ) {
		st_free(fill);
		return -ENOMEM;
	}
	for (k = 0; k < nk; k++) {
		p->tasks[k].succ = p->succ + at;
		at += p->tasks[k].nsucc;
	}
	for (k = 0; k < nk; k++)
		for (j = 0; j < k; j++)
			if (must_follow(p, j, k))
				p->succ[(size_t)(p->tasks[j].succ - p->succ) + fill[j]++] = k;
	for (k = 0; k < nk; k++) {
		p->tasks[k].fn = call_kernel;
		p->tasks[k].arg = &p->calls[k];
		p->tasks[k].node = p->place ? p->place[k].node : 0;
		p->calls[k].fn = p->f.k[k].fn;
		p->calls[k].ctx = p->f.k[k].ctx;
		p->calls[k].launch = p->target->launch;
		p->calls[k].kernel = k;
	}
	st_free(fill);
	st_graph_obs_init(p);
	return 0;
}

static bool symbolic(const struct strata_graph *g)
{
	uint32_t id;

	for (id = 0; id < g->n; id++)
		if (st_shape_symbolic(&g->nodes[id].shape))
			return true;
	return false;
}

/* A caller's tensor for node @node: in range, right size. */
static int check_tensor(struct strata_program *p, const char *what, const struct strata_graph_tensor *t,
			uint32_t seq)
{
	const struct strata_graph *g = p->src;
	uint64_t want;
	char s[64];

	if (t->node >= g->n)
		return st_program_fail(p, -EINVAL, "%s for node %u, but the graph has %u nodes", what, t->node, g->n);
	want = st_shape_elems(&g->nodes[t->node].shape, seq) * 4;
	if (t->data && t->bytes == want)
		return 0;
	st_shape_format(&g->nodes[t->node].shape, s, sizeof(s));
	return st_program_fail(p, -EINVAL, "%s for node %u (%s, seq %u) has %zu bytes%s; it needs %llu", what, t->node,
			       s, seq, t->bytes, t->data ? "" : " and no data", (unsigned long long)want);
}

/* Every value's address for this run (inputs already set in @ptr).  A
 * result the caller asked for is written straight into the caller's
 * buffer (@direct[i] set), not into the arena and copied: a copy would be
 * two more passes over it. */
static int bind(struct strata_program *p, void **ptr, const struct strata_graph_tensor *outputs, unsigned n_outputs,
		bool *direct, const struct st_stream_run *sr)
{
	const struct strata_graph *g = st_program_graph(p);
	uint32_t id, k;
	unsigned i;

	for (id = 0; id < g->n; id++) {
		const struct st_value *v = &p->plan.v[id];

		if (v->home == ST_HOME_WEIGHT && !g->nodes[id].stream)
			ptr[id] = (void *)(uintptr_t)g->nodes[id].data; /* kernels only read it */
		else if (v->home == ST_HOME_ARENA)
			ptr[id] = (char *)p->arena + v->offset;
		else if (v->home == ST_HOME_STATE)
			ptr[id] = p->state[v->base];
	}
	for (i = 0; i < n_outputs; i++) {
		uint32_t to = p->map[outputs[i].node];

		direct[i] = p->plan.v[to].home == ST_HOME_ARENA && ptr[to] == (char *)p->arena + p->plan.v[to].offset;
		if (direct[i])
			ptr[to] = outputs[i].data;
	}
	for (id = 0; id < g->n; id++) {
		const struct st_value *v = &p->plan.v[id];

		if (v->home == ST_HOME_VIEW)
			ptr[id] = ptr[v->base] ? (char *)ptr[v->base] + v->offset : NULL;
	}
	for (k = 0; k < p->f.nk; k++)
		for (i = 0; i < p->f.k[k].nargs; i++) {
			uint32_t a = p->f.k[k].args[i];

			if (!ptr[a] && !st_stream_pending(sr, p->plan.v[a].home == ST_HOME_VIEW ? p->plan.v[a].base : a))
				return st_program_fail(p, -EINVAL, "input %s was not given",
						       g->nodes[p->plan.v[a].home == ST_HOME_VIEW ? p->plan.v[a].base : a]
							       .name);
		}
	return 0;
}

static int run_compiled(struct strata_program *p, uint32_t seq, const struct strata_graph_tensor *inputs,
			unsigned n_inputs, const struct strata_graph_tensor *outputs, unsigned n_outputs)
{
	const struct strata_graph *g = st_program_graph(p);
	unsigned threads = p->info.threads, i;
	void **ptr = p->ptr; /* made with the tasks: no allocation per run */
	bool *direct = st_calloc(n_outputs ? n_outputs : 1, sizeof(*direct));
	struct st_stream_run sr = { 0 };
	uint32_t k;
	int err = 0;

	if (!direct)
		return -ENOMEM;
	memset(ptr, 0, (g->n ? g->n : 1) * sizeof(*ptr));
	for (i = 0; i < n_inputs; i++) {
		uint32_t to = p->map[inputs[i].node];

		if (to != ST_GRAPH_GONE && g->nodes[to].op == STRATA_OP_INPUT)
			ptr[to] = inputs[i].data;
	}
	err = st_stream_bind(p, threads, ptr, &sr);
	if (!err)
		err = bind(p, ptr, outputs, n_outputs, direct, &sr);
	for (k = 0; k < p->f.nk && !err; k++) {
		const struct st_kernel *ker = &p->f.k[k];
		struct st_call *c = &p->calls[k];
		int64_t items = st_kernel_items(g, ker, seq);
		uint64_t elems = st_shape_elems(&g->nodes[ker->root].shape, seq);

		c->seq = seq;
		c->t[0] = ptr[ker->root];
		c->start_ns = c->end_ns = 0;
		c->bytes = bytes_at(g, ker->root, seq);
		for (i = 0; i < ker->nargs; i++) {
			c->t[1 + i] = ptr[ker->args[i]];
			c->bytes += bytes_at(g, ker->args[i], seq);
		}
		if (ker->packed) {
			const struct st_packed *pk = &p->packed[k];

			c->t[1 + ker->nargs] = pk->in_place ? c->t[1 + pk->warg] : pk->data;
			c->t[2 + ker->nargs] = pk->tiles;
		}
		p->tasks[k].items = items;
		p->tasks[k].chunk = chunk_of(g, ker, c->bytes, items, elems, threads, seq);
	}
	if (!err) {
		const struct st_stream_wait *failed;
		uint64_t t0 = st_mono_ns();

		strata_trace_begin(p->trace_run, p->f.nk, seq);
		if (sr.n == 0) {
			err = st_sched_run(p->sched, p->tasks, p->f.nk, threads);
		} else {
			/* Some weights are still on their way: the run waits for each
			 * where it is needed. */
			err = st_stream_tasks(p, &sr);
			if (!err)
				err = st_sched_run(p->sched, sr.tasks, p->f.nk + sr.n, threads);
		}
		strata_trace_end(p->trace_run);
		if (!err)
			st_graph_obs_run(p, st_mono_ns() - t0);
		if (err == -EINVAL)
			st_program_fail(p, err, "run: an embedding id is outside its table");
		else if (err == -ERANGE)
			err = st_program_fail(p, -EINVAL, "run: a position is outside its cache (write_rows or attention)");
		else if (err && (failed = st_stream_failed(&sr)))
			st_program_fail(p, err, "run: weight %s did not load: %s", g->nodes[failed->node].name,
					strata_strerror(failed->err));
		else if (err)
			st_program_fail(p, err, "run: a kernel failed: %s", strata_strerror(err));
	}
	/* A result that is a streamed weight itself: its bytes, now. */
	for (i = 0; i < sr.n && !err; i++)
		ptr[sr.nodes[i]] = sr.waits ? sr.waits[i].data : NULL;
	for (i = 0; i < n_outputs && !err; i++) {
		uint32_t to = p->map[outputs[i].node];

		if (!direct[i] && ptr[to] != outputs[i].data)
			memcpy(outputs[i].data, ptr[to], outputs[i].bytes);
	}
	st_free(direct);
	st_stream_done(&sr);
	return err;
}

int strata_program_run(struct strata_program *p, uint32_t seq, const struct strata_graph_tensor *inputs,
		       unsigned n_inputs, const struct strata_graph_tensor *outputs, unsigned n_outputs)
{
	unsigned i;
	int err;

	if (!p || (n_inputs && !inputs) || (n_outputs && !outputs))
		return -EINVAL;
	p->error[0] = '\0';
	if (!symbolic(p->src))
		seq = 1;
	else if (seq < 1 || seq > p->src->max_seq)
		return st_program_fail(p, -EINVAL, "run: seq is %u; this graph takes 1 to %u", seq, p->src->max_seq);
	for (i = 0; i < n_inputs; i++) {
		err = check_tensor(p, "the input", &inputs[i], seq);
		if (err)
			return err;
	}
	for (i = 0; i < n_outputs; i++) {
		err = check_tensor(p, "the output", &outputs[i], seq);
		if (err)
			return err;
		if (!p->src->nodes[outputs[i].node].output)
			return st_program_fail(p, -EINVAL, "node %u (%s) is not marked as an output", outputs[i].node,
					       p->src->nodes[outputs[i].node].name[0]
						       ? p->src->nodes[outputs[i].node].name
						       : st_op_name(p->src->nodes[outputs[i].node].op));
	}
	if (p->target)
		return run_compiled(p, seq, inputs, n_inputs, outputs, n_outputs);
	err = st_graph_eval(p->src, seq, inputs, n_inputs, outputs, n_outputs, p->state);
	if (err)
		st_program_fail(p, err, "%s", strata_graph_error(p->src));
	return err;
}

void strata_program_reset(struct strata_program *p)
{
	const struct strata_graph *g;
	uint32_t id;

	if (!p || !p->state)
		return;
	g = st_program_state_graph(p);
	for (id = 0; id < g->n; id++)
		if (p->state[id])
			memset(p->state[id], 0, st_shape_elems(&g->nodes[id].shape, 1) * 4);
}

const char *strata_program_error(const struct strata_program *p)
{
	return p ? p->error : "";
}

int strata_program_info(const struct strata_program *p, struct strata_program_info *out)
{
	if (!p)
		return -EINVAL;
	return st_copy_out(out, &p->info, sizeof(p->info));
}

void strata_program_destroy(struct strata_program *p)
{
	unsigned i;

	if (!p)
		return;
	/* (p->sched is the runtime's: it stays) */
	if (p->target)
		p->target->close(p);
	st_free(p->tasks);
	st_free(p->succ);
	st_free(p->calls);
	st_free(p->ptr);
	st_free(p->arena_raw);
	for (i = 0; p->packed && i < p->f.nk; i++) {
		if (p->packed[i].in_place)
			continue; /* the tiles are the graph's */
		st_free(p->packed[i].raw);
		st_free(p->packed[i].tiles);
	}
	st_free(p->packed);
	for (i = 0; p->state && i < st_program_state_graph(p)->n; i++)
		st_free(p->state[i]);
	st_free(p->state);
	st_plan_free(&p->plan);
	st_free(p->place);
	st_fusion_free(&p->f);
	for (i = 0; i < 3; i++)
		strata_graph_destroy(p->stage[i]);
	for (i = 0; i < p->nowned; i++)
		st_free(p->owned[i]);
	st_free(p->owned);
	st_free(p->map);
	st_free(p->dump);
	st_free(p);
}
