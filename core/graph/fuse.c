/* SPDX-License-Identifier: MIT */
/*
 * core/graph/fuse.c — group nodes into kernels so that intermediate values
 * never travel to memory and back.
 *
 * One pass in graph order.  A node starts a kernel of its own unless it can
 * join the kernel of one of its sources:
 *
 *   - an element-wise node joins the kernel that computes a source of the
 *     same shape (an element-wise chain, or the epilogue of a reduction,
 *     norm or matmul);
 *   - a last-axis reduction, softmax or norm joins the element-wise chain
 *     that computes its input (the chain becomes its prologue, evaluated
 *     again in each pass over a row).
 *
 * Only a source read by nothing else (and not a result of the graph) can
 * disappear into its consumer, so every kernel has one value leaving it,
 * its root.  Each join is taken only when the estimated bytes moved by the
 * joined kernel are fewer than those of the two apart: a prologue whose
 * rows no longer fit in cache is read once per pass, and may cost more
 * than it saves.
 */
#include <errno.h>
#include <string.h>

#include "base/base.h"
#include "core/graph/compile_int.h"

/* A row re-read within this many bytes comes from cache. */
#define CACHED_ROW_BYTES (256u << 10)

/* Reductions over the last axis, softmax and the norms: one row at a time. */
static bool rows_op(const struct st_node *n)
{
	const struct st_op_info *o = st_op(n->op);

	return o->fuse == ST_FUSE_ROWS || (o->fuse == ST_FUSE_REDUCE && n->p.axis == (int)n->shape.ndim - 1);
}

bool st_node_is_view(const struct strata_graph *g, const struct st_node *n)
{
	const struct st_node *x;
	int i;

	if (st_op(n->op)->fuse == ST_FUSE_VIEW)
		return true;
	if (st_op(n->op)->fuse != ST_FUSE_SLICE)
		return false;
	/* Contiguous when every dimension before the axis is 1, and at a fixed
	 * offset when none after it is the symbolic one. */
	x = &g->nodes[n->src[0]];
	for (i = 0; i < (int)x->shape.ndim; i++) {
		if (i < n->p.slice.axis && x->shape.dim[i] != 1)
			return false;
		if (i > n->p.slice.axis && x->shape.dim[i] == ST_DIM_SEQ)
			return false;
	}
	return true;
}

/* Bytes of @n's value at max_seq, in its storage type. */
static uint64_t value_bytes(const struct strata_graph *g, const struct st_node *n)
{
	return st_node_bytes(n, g->max_seq);
}

struct fuser {
	const struct strata_graph *g;
	bool fuse; /* false: every op alone */
	struct st_fusion *f;
	uint32_t *uses; /* per node: reads by other nodes, plus one for a result */
	uint32_t cap;
};

/* Estimated bytes a kernel moves: its arguments once (those of a prologue
 * once per pass when a row does not stay in cache), and its result. */
static uint64_t kernel_bytes(const struct fuser *fz, const struct st_kernel *k)
{
	const struct strata_graph *g = fz->g;
	uint64_t total = value_bytes(g, &g->nodes[k->root]);
	unsigned i;

	for (i = 0; i < k->nargs; i++) {
		const struct st_node *a = &g->nodes[k->args[i]];
		uint64_t b = value_bytes(g, a);

		if (k->kind == ST_KERNEL_ROWS) {
			const struct st_node *c = &g->nodes[k->core];
			const struct st_node *x = &g->nodes[c->src[0]];
			int64_t row = x->shape.dim[x->shape.ndim - 1];

			if (row == ST_DIM_SEQ)
				row = g->max_seq;
			if ((uint64_t)row * 4 * k->nargs > CACHED_ROW_BYTES && st_shape_equal(&a->shape, &x->shape))
				b *= st_op(c->op)->reads;
		}
		total += b;
	}
	return total;
}

static bool has_arg(const struct st_kernel *k, uint32_t id)
{
	unsigned i;

	for (i = 0; i < k->nargs; i++)
		if (k->args[i] == id)
			return true;
	return false;
}

/* Add @n's sources that @k does not compute to its arguments.
 * Return: false when they do not fit. */
static bool add_args(const struct st_fusion *f, struct st_kernel *k, uint32_t kid, const struct st_node *n)
{
	unsigned i;

	for (i = 0; i < n->nsrc; i++) {
		uint32_t s = n->src[i];

		if (f->kernel_of[s] == kid || has_arg(k, s))
			continue;
		if (k->nargs == ST_KERNEL_MAX_ARGS)
			return false;
		k->args[k->nargs++] = s;
	}
	return true;
}

/* Remove @id from @k's arguments (it is now computed inside). */
static void drop_arg(struct st_kernel *k, uint32_t id)
{
	unsigned i;

	for (i = 0; i < k->nargs; i++)
		if (k->args[i] == id) {
			memmove(&k->args[i], &k->args[i + 1], (k->nargs - i - 1) * sizeof(k->args[0]));
			k->nargs--;
			return;
		}
}

static int new_kernel(struct fuser *fz, uint32_t id, enum st_kernel_kind kind)
{
	struct st_fusion *f = fz->f;
	struct st_kernel *k = &f->k[f->nk];

	memset(k, 0, sizeof(*k));
	k->kind = kind;
	k->root = k->core = id;
	f->kernel_of[id] = f->nk;
	if (!add_args(f, k, f->nk, &fz->g->nodes[id]))
		return -E2BIG; /* no op has more than four sources */
	k->bytes = kernel_bytes(fz, k);
	f->nk++;
	return 0;
}

/* Whether source @s of node @n may disappear into @n's kernel. */
static bool absorbable(const struct fuser *fz, uint32_t s)
{
	const struct st_fusion *f = fz->f;
	uint32_t kid = f->kernel_of[s];

	return kid != ST_NO_KERNEL && f->k[kid].root == s && fz->uses[s] == 1;
}

/* Try moving node @id into kernel @kid (whose root is one of its sources):
 * as its new core, making it a rows kernel (@as_core), or else at the end
 * of its chain.  Keep the change only when it moves fewer bytes. */
static bool try_join(struct fuser *fz, uint32_t id, uint32_t kid, bool as_core)
{
	struct st_fusion *f = fz->f;
	struct st_kernel *k = &f->k[kid], saved = *k, alone;
	const struct st_node *n = &fz->g->nodes[id];
	uint64_t before, after;

	/* The cost of @n in a kernel of its own. */
	memset(&alone, 0, sizeof(alone));
	alone.kind = as_core ? ST_KERNEL_ROWS : ST_KERNEL_ELEMWISE;
	alone.root = alone.core = id;
	for (unsigned i = 0; i < n->nsrc; i++)
		if (!has_arg(&alone, n->src[i]))
			alone.args[alone.nargs++] = n->src[i];
	before = k->bytes + kernel_bytes(fz, &alone);

	f->kernel_of[id] = kid;
	drop_arg(k, k->root);
	if (as_core) {
		k->kind = ST_KERNEL_ROWS;
		k->core = id;
	}
	k->root = id;
	if (add_args(f, k, kid, n) && (after = kernel_bytes(fz, k)) < before) {
		k->bytes = after;
		return true;
	}
	*k = saved;
	f->kernel_of[id] = ST_NO_KERNEL;
	return false;
}

static int place(struct fuser *fz, uint32_t id)
{
	const struct strata_graph *g = fz->g;
	const struct st_node *n = &g->nodes[id];
	struct st_fusion *f = fz->f;
	unsigned i;

	if (st_op(n->op)->fuse == ST_FUSE_LEAF || st_node_is_view(g, n))
		return 0;
	if (st_op_elementwise(n->op)) {
		for (i = 0; fz->fuse && i < n->nsrc; i++) {
			uint32_t s = n->src[i], kid;

			if (!absorbable(fz, s) || !st_shape_equal(&g->nodes[s].shape, &n->shape))
				continue;
			kid = f->kernel_of[s];
			if (f->k[kid].kind != ST_KERNEL_SINGLE && try_join(fz, id, kid, false))
				return 0;
		}
		return new_kernel(fz, id, ST_KERNEL_ELEMWISE);
	}
	if (rows_op(n)) {
		uint32_t s = n->src[0];

		if (fz->fuse && absorbable(fz, s) && f->k[f->kernel_of[s]].kind == ST_KERNEL_ELEMWISE &&
		    try_join(fz, id, f->kernel_of[s], true))
			return 0;
		return new_kernel(fz, id, ST_KERNEL_ROWS);
	}
	return new_kernel(fz, id, st_op(n->op)->fuse == ST_FUSE_MATMUL ? ST_KERNEL_MATMUL : ST_KERNEL_SINGLE);
}

/* Each kernel's members, in graph order, from kernel_of. */
static int collect_members(const struct strata_graph *g, struct st_fusion *f)
{
	uint32_t id, *next;
	unsigned i;

	f->member_pool = st_calloc(g->n ? g->n : 1, sizeof(uint32_t));
	next = st_calloc(f->nk ? f->nk : 1, sizeof(uint32_t));
	if (!f->member_pool || !next) {
		st_free(next);
		return -ENOMEM;
	}
	for (id = 0; id < g->n; id++)
		if (f->kernel_of[id] != ST_NO_KERNEL)
			f->k[f->kernel_of[id]].nmembers++;
	for (i = 0, id = 0; i < f->nk; i++) {
		f->k[i].members = f->member_pool + id;
		id += f->k[i].nmembers;
	}
	for (id = 0; id < g->n; id++)
		if (f->kernel_of[id] != ST_NO_KERNEL) {
			uint32_t kid = f->kernel_of[id];

			f->k[kid].members[next[kid]++] = id;
		}
	st_free(next);
	return 0;
}

/* Kernels in the order of their roots: every argument is the root of an
 * earlier kernel (or needs none), so this order respects dependencies. */
static void order_by_root(const struct strata_graph *g, struct st_fusion *f)
{
	uint32_t id, nk = 0;
	struct st_kernel tmp;

	for (id = 0; id < g->n; id++) {
		uint32_t kid = f->kernel_of[id];

		if (kid == ST_NO_KERNEL || f->k[kid].root != id)
			continue;
		/* Kernels before nk are placed; swap this one into place. */
		if (kid != nk) {
			uint32_t m;

			tmp = f->k[nk];
			f->k[nk] = f->k[kid];
			f->k[kid] = tmp;
			for (m = 0; m < g->n; m++) {
				if (f->kernel_of[m] == kid)
					f->kernel_of[m] = nk;
				else if (f->kernel_of[m] == nk)
					f->kernel_of[m] = kid;
			}
		}
		nk++;
	}
}

int st_graph_fuse(const struct strata_graph *g, bool fuse, struct st_fusion *f)
{
	struct fuser fz = { .g = g, .f = f, .fuse = fuse };
	uint32_t id;
	unsigned i;
	int err = 0;

	memset(f, 0, sizeof(*f));
	f->k = st_calloc(g->n ? g->n : 1, sizeof(*f->k));
	f->kernel_of = st_malloc((g->n ? g->n : 1) * sizeof(uint32_t));
	fz.uses = st_calloc(g->n ? g->n : 1, sizeof(uint32_t));
	if (!f->k || !f->kernel_of || !fz.uses) {
		err = -ENOMEM;
		goto out;
	}
	for (id = 0; id < g->n; id++) {
		f->kernel_of[id] = ST_NO_KERNEL;
		/* A consumer counts once, however many of its operands it is. */
		for (i = 0; i < g->nodes[id].nsrc; i++) {
			unsigned j;

			for (j = 0; j < i && g->nodes[id].src[j] != g->nodes[id].src[i]; j++)
				;
			if (j == i)
				fz.uses[g->nodes[id].src[i]]++;
		}
		if (g->nodes[id].output)
			fz.uses[id]++;
	}
	for (id = 0; id < g->n && !err; id++)
		err = place(&fz, id);
	if (!err) {
		order_by_root(g, f);
		err = collect_members(g, f);
	}
out:
	st_free(fz.uses);
	if (err)
		st_fusion_free(f);
	return err;
}

void st_fusion_free(struct st_fusion *f)
{
	uint32_t i;

	for (i = 0; f->k && i < f->nk; i++)
		st_free(f->k[i].source);
	st_free(f->k);
	st_free(f->kernel_of);
	st_free(f->member_pool);
	memset(f, 0, sizeof(*f));
}
