/* SPDX-License-Identifier: MIT */
/*
 * core/graph/plan.c — where every value lives while a program runs.
 *
 * Inputs stay in the caller's buffers and weights in theirs.  A view
 * (reshape, contiguous slice) is its source's memory at an offset.  Every
 * value a kernel writes gets a block of one arena, sized for max_seq and
 * alive from the kernel that writes it to the last that reads it (or the
 * end, for a result).
 *
 * A kernel may write its result over an argument that dies with it, when
 * it reads each element of that argument only at the index it writes (an
 * element-wise operand of the same shape): the two then share a block.
 *
 * Blocks get offsets greedily, each at the best-fitting gap among the
 * blocks already placed whose lifetimes overlap its own, in three orders
 * (largest first, longest-lived first, largest size × lifetime first);
 * the order that gives the smallest arena wins.  The plan reports its peak against the lower bound,
 * the most bytes alive at any one kernel.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "core/graph/compile_int.h"

#define ALIGN 64u

struct block {
	uint64_t size, offset;
	uint32_t def, last;
	bool placed;
};

static uint64_t round_up(uint64_t x)
{
	return (x + ALIGN - 1) & ~(uint64_t)(ALIGN - 1);
}

/* Byte offset of a slice view into its source. */
static uint64_t slice_offset(const struct strata_graph *g, const struct st_node *n)
{
	const struct st_node *x = &g->nodes[n->src[0]];
	uint64_t inner = 1;
	unsigned i;

	if (n->op != STRATA_OP_SLICE)
		return 0;
	for (i = (unsigned)n->p.slice.axis + 1; i < x->shape.ndim; i++)
		inner *= (uint64_t)x->shape.dim[i];
	return (uint64_t)n->p.slice.start * inner * 4;
}

/* Whether kernel @k reads argument @a only at the index it writes. */
static bool same_index(const struct strata_graph *g, const struct st_kernel *k, uint32_t a)
{
	if (!st_shape_equal(&g->nodes[a].shape, &g->nodes[k->root].shape))
		return false;
	switch (k->kind) {
	case ST_KERNEL_ELEMWISE:
	case ST_KERNEL_ROWS: return true;
	/* A matmul keeps partial sums in its result between passes over K
	 * (emit_matmul.c): an epilogue's argument there would be lost. */
	case ST_KERNEL_MATMUL:
	case ST_KERNEL_SINGLE: return false;
	}
	return false;
}

static int cmp_size_desc(const void *x, const void *y)
{
	const struct block *a = *(struct block *const *)x, *b = *(struct block *const *)y;

	return a->size < b->size ? 1 : a->size > b->size ? -1 : (a->def > b->def) - (a->def < b->def);
}

/* Longest lifetime first, then largest. */
static int cmp_life_desc(const void *x, const void *y)
{
	const struct block *a = *(struct block *const *)x, *b = *(struct block *const *)y;
	uint32_t la = a->last - a->def, lb = b->last - b->def;

	return la < lb ? 1 : la > lb ? -1 : cmp_size_desc(x, y);
}

/* Largest area (size × lifetime) first. */
static int cmp_area_desc(const void *x, const void *y)
{
	const struct block *a = *(struct block *const *)x, *b = *(struct block *const *)y;
	double ea = (double)a->size * (a->last - a->def + 1), eb = (double)b->size * (b->last - b->def + 1);

	return ea < eb ? 1 : ea > eb ? -1 : cmp_size_desc(x, y);
}

static int cmp_offset(const void *x, const void *y)
{
	const struct block *a = *(struct block *const *)x, *b = *(struct block *const *)y;

	return (a->offset > b->offset) - (a->offset < b->offset);
}

/* Place @b at the smallest gap it fits among the placed blocks alive with
 * it (@tmp has room for all of them). */
static void best_fit(struct block *b, struct block **all, uint32_t n, struct block **tmp)
{
	uint64_t at = 0, best = UINT64_MAX, best_gap = UINT64_MAX;
	uint32_t i, m = 0;

	for (i = 0; i < n; i++)
		if (all[i]->placed && all[i]->def <= b->last && b->def <= all[i]->last)
			tmp[m++] = all[i];
	qsort(tmp, m, sizeof(*tmp), cmp_offset);
	for (i = 0; i < m; i++) {
		if (tmp[i]->offset >= at + b->size && tmp[i]->offset - at < best_gap) {
			best = at;
			best_gap = tmp[i]->offset - at;
		}
		if (tmp[i]->offset + tmp[i]->size > at)
			at = tmp[i]->offset + tmp[i]->size;
	}
	b->offset = best != UINT64_MAX ? best : at;
	b->placed = true;
}

/* Lifetimes, views and in-place sharing; then offsets. */
int st_graph_plan(const struct strata_graph *g, const struct st_fusion *f, struct st_plan *p)
{
	uint32_t *block_of = NULL, nb = 0, id, k, i;
	struct block *blocks = NULL, **sorted = NULL, **tmp = NULL;
	int err = -ENOMEM;

	memset(p, 0, sizeof(*p));
	p->v = st_calloc(g->n ? g->n : 1, sizeof(*p->v));
	block_of = st_malloc((g->n ? g->n : 1) * sizeof(*block_of));
	blocks = st_calloc(f->nk ? f->nk : 1, sizeof(*blocks));
	sorted = st_calloc(f->nk ? f->nk : 1, sizeof(*sorted));
	tmp = st_calloc(f->nk ? f->nk : 1, sizeof(*tmp));
	if (!p->v || !block_of || !blocks || !sorted || !tmp)
		goto out;

	for (id = 0; id < g->n; id++) {
		const struct st_node *n = &g->nodes[id];
		struct st_value *v = &p->v[id];

		block_of[id] = UINT32_MAX;
		v->bytes = st_shape_elems(&n->shape, g->max_seq) * 4;
		if (n->op == STRATA_OP_INPUT) {
			v->home = ST_HOME_INPUT;
		} else if (n->op == STRATA_OP_WEIGHT) {
			v->home = ST_HOME_WEIGHT;
		} else if (n->op == STRATA_OP_STATE || n->op == STRATA_OP_WRITE_ROWS) {
			/* Written in place: a write's result is its state's memory. */
			v->home = ST_HOME_STATE;
			v->base = n->op == STRATA_OP_STATE ? id : p->v[n->src[0]].base;
		} else if (st_node_is_view(g, n)) {
			const struct st_value *s = &p->v[n->src[0]];

			v->home = ST_HOME_VIEW;
			v->base = s->home == ST_HOME_VIEW ? s->base : n->src[0];
			v->offset = (s->home == ST_HOME_VIEW ? s->offset : 0) + slice_offset(g, n);
		} else if (f->kernel_of[id] != ST_NO_KERNEL && f->k[f->kernel_of[id]].root == id) {
			v->home = ST_HOME_ARENA;
			v->def = v->last = f->kernel_of[id];
		}
	}
	/* Last reads, counted on the value a view shows. */
	for (k = 0; k < f->nk; k++)
		for (i = 0; i < f->k[k].nargs; i++) {
			struct st_value *v = &p->v[f->k[k].args[i]];
			struct st_value *b = v->home == ST_HOME_VIEW ? &p->v[v->base] : v;

			if (b->last < k)
				b->last = k;
		}
	for (id = 0; id < g->n; id++)
		if (g->nodes[id].output) {
			struct st_value *v = &p->v[id];

			(v->home == ST_HOME_VIEW ? &p->v[v->base] : v)->last = f->nk;
		}

	/* One block per arena value; a result written in place joins the block
	 * of the argument it overwrites. */
	for (k = 0; k < f->nk; k++) {
		const struct st_kernel *ker = &f->k[k];
		struct st_value *r = &p->v[ker->root];
		uint32_t b = UINT32_MAX;

		if (r->home != ST_HOME_ARENA)
			continue; /* a write into a state */
		for (i = 0; i < ker->nargs && b == UINT32_MAX; i++) {
			uint32_t a = ker->args[i];

			if (p->v[a].home == ST_HOME_ARENA && p->v[a].last == k && same_index(g, ker, a))
				b = block_of[a];
		}
		if (b == UINT32_MAX) {
			b = nb++;
			blocks[b].def = k;
			blocks[b].size = round_up(r->bytes);
		} else {
			p->in_place++;
		}
		blocks[b].last = r->last;
		block_of[ker->root] = b;
	}

	/* The lower bound: the most bytes of blocks alive at one kernel. */
	for (k = 0; k <= f->nk; k++) {
		uint64_t live = 0;

		for (i = 0; i < nb; i++)
			if (blocks[i].def <= k && k <= blocks[i].last)
				live += blocks[i].size;
		if (live > p->lower_bound)
			p->lower_bound = live;
	}
	/* Three orders of placement; the smallest arena wins. */
	{
		int (*const orders[])(const void *, const void *) = { cmp_size_desc, cmp_life_desc, cmp_area_desc };
		uint64_t *best = st_malloc((nb ? nb : 1) * sizeof(*best)), top = UINT64_MAX;
		unsigned o;

		if (!best)
			goto out;
		for (o = 0; o < ST_ARRAY_SIZE(orders); o++) {
			uint64_t peak = 0;

			for (i = 0; i < nb; i++) {
				sorted[i] = &blocks[i];
				blocks[i].placed = false;
			}
			qsort(sorted, nb, sizeof(*sorted), orders[o]);
			for (i = 0; i < nb; i++) {
				best_fit(sorted[i], sorted, nb, tmp);
				if (sorted[i]->offset + sorted[i]->size > peak)
					peak = sorted[i]->offset + sorted[i]->size;
			}
			if (peak < top) {
				top = peak;
				for (i = 0; i < nb; i++)
					best[i] = blocks[i].offset;
			}
		}
		for (i = 0; i < nb; i++)
			blocks[i].offset = best[i];
		p->arena_bytes = nb ? top : 0;
		st_free(best);
	}
	for (id = 0; id < g->n; id++)
		if (block_of[id] != UINT32_MAX)
			p->v[id].offset = blocks[block_of[id]].offset;
	err = 0;
out:
	st_free(block_of);
	st_free(blocks);
	st_free(sorted);
	st_free(tmp);
	if (err)
		st_plan_free(p);
	return err;
}

void st_plan_free(struct st_plan *p)
{
	st_free(p->v);
	memset(p, 0, sizeof(*p));
}
