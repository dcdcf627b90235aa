/* SPDX-License-Identifier: MIT */
/*
 * core/graph/passes.c — graph-to-graph rewrites that change no value:
 *
 *   cse  common subexpressions, by hash-consing: a node equal to one seen
 *        before (same op, type, shape, parameters and — after renaming —
 *        sources) is replaced by it.  Inputs are never merged (each is a
 *        separate argument); weights with the same data, type and shape are.
 *   dce  dead code: nodes no output depends on are dropped; inputs stay,
 *        since callers pass them, and so do writes into a state, which
 *        the next run reads.
 *
 * Each pass builds a new graph and a map from the old node numbers to the
 * new (ST_GRAPH_GONE for a dropped node), so the caller's numbers keep
 * their meaning.  The order of nodes, and so of evaluation, is kept.
 */
#include <errno.h>
#include <string.h>

#include "base/base.h"
#include "core/graph/graph_int.h"

/* A copy of @g's settings with room for @cap nodes and none in it. */
static struct strata_graph *empty_like(const struct strata_graph *g, uint32_t cap)
{
	struct strata_graph *h = st_calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->rt = g->rt;
	h->max_seq = g->max_seq;
	h->cap = cap ? cap : 1;
	h->nodes = st_calloc(h->cap, sizeof(*h->nodes));
	if (!h->nodes) {
		st_free(h);
		return NULL;
	}
	return h;
}

/* Whether two nodes of one op have equal parameters, by the kind it has
 * (shapes, types and sources are compared apart). */
static bool params_equal(const struct st_node *a, const struct st_node *b)
{
	switch (st_op(a->op)->param) {
	case ST_PARAM_NONE:
	case ST_PARAM_DTYPE:
	case ST_PARAM_SHAPE: return true;
	case ST_PARAM_LEAF: return a->data == b->data && a->stream == b->stream; /* weights; inputs never merge */
	case ST_PARAM_AXIS: return a->p.axis == b->p.axis;
	case ST_PARAM_EPS: return a->p.eps == b->p.eps;
	case ST_PARAM_FLAGS: return a->p.flags == b->p.flags;
	case ST_PARAM_PERM: return !memcmp(a->p.perm, b->p.perm, sizeof(a->p.perm));
	case ST_PARAM_ROPE: return a->p.rope.theta == b->p.rope.theta && a->p.rope.layout == b->p.rope.layout;
	case ST_PARAM_SLICE: return a->p.slice.axis == b->p.slice.axis && a->p.slice.start == b->p.slice.start;
	case ST_PARAM_SCALE: return a->p.scale == b->p.scale;
	case ST_PARAM_VALUE: return a->p.value == b->p.value;
	}
	return false;
}

static bool same_node(const struct st_node *a, const struct st_node *b)
{
	unsigned i;

	if (a->op != b->op || a->dtype != b->dtype || a->nsrc != b->nsrc || !st_shape_equal(&a->shape, &b->shape))
		return false;
	for (i = 0; i < a->nsrc; i++)
		if (a->src[i] != b->src[i])
			return false;
	return params_equal(a, b);
}

static uint64_t node_hash(const struct st_node *n)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)n->op;
	unsigned i;

	for (i = 0; i < n->nsrc; i++)
		h = (h ^ n->src[i]) * 0x100000001b3ULL;
	for (i = 0; i < n->shape.ndim; i++)
		h = (h ^ (uint64_t)n->shape.dim[i]) * 0x100000001b3ULL;
	if (n->op == STRATA_OP_WEIGHT)
		h = ((h ^ (uint64_t)(uintptr_t)n->data) * 0x100000001b3ULL ^ n->stream) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

/* Inputs are separate arguments, states separate memory, and every write
 * happens: none of them is ever merged. */
static bool mergeable(const struct st_node *n)
{
	return n->op != STRATA_OP_INPUT && n->op != STRATA_OP_STATE && n->op != STRATA_OP_WRITE_ROWS;
}

int st_graph_cse(const struct strata_graph *g, struct strata_graph **out, uint32_t *map)
{
	uint32_t slots = 16, i, *table;
	struct strata_graph *h;

	while (slots < 2 * g->n)
		slots *= 2;
	h = empty_like(g, g->n);
	table = st_malloc(slots * sizeof(*table));
	if (!h || !table) {
		strata_graph_destroy(h);
		st_free(table);
		return -ENOMEM;
	}
	memset(table, 0xff, slots * sizeof(*table)); /* every slot ST_GRAPH_GONE: empty */
	for (i = 0; i < g->n; i++) {
		struct st_node n = g->nodes[i];
		uint32_t k, s;

		for (k = 0; k < n.nsrc; k++)
			n.src[k] = map[n.src[k]];
		/* Linear probing; an input, a state and a write are always new. */
		for (s = (uint32_t)node_hash(&n) & (slots - 1); mergeable(&n) && table[s] != ST_GRAPH_GONE;
		     s = (s + 1) & (slots - 1))
			if (same_node(&h->nodes[table[s]], &n))
				break;
		if (mergeable(&n) && table[s] != ST_GRAPH_GONE) {
			map[i] = table[s];
			h->nodes[table[s]].output |= n.output;
			continue;
		}
		map[i] = h->n;
		h->nodes[h->n++] = n;
		if (mergeable(&n))
			table[s] = map[i];
	}
	st_free(table);
	*out = h;
	return 0;
}

int st_graph_dce(const struct strata_graph *g, struct strata_graph **out, uint32_t *map)
{
	bool *live = st_calloc(g->n ? g->n : 1, sizeof(*live));
	struct strata_graph *h = empty_like(g, g->n);
	uint32_t i, k;

	if (!live || !h) {
		st_free(live);
		strata_graph_destroy(h);
		return -ENOMEM;
	}
	/* Sources have smaller numbers: one backward sweep finds them all. */
	for (i = g->n; i-- > 0;) {
		const struct st_node *n = &g->nodes[i];

		/* Writes to a state live on in the next run. */
		live[i] = live[i] || n->output || n->op == STRATA_OP_INPUT || n->op == STRATA_OP_WRITE_ROWS;
		for (k = 0; live[i] && k < n->nsrc; k++)
			live[n->src[k]] = true;
	}
	for (i = 0; i < g->n; i++) {
		struct st_node n = g->nodes[i];

		if (!live[i]) {
			map[i] = ST_GRAPH_GONE;
			continue;
		}
		for (k = 0; k < n.nsrc; k++)
			n.src[k] = map[n.src[k]];
		map[i] = h->n;
		h->nodes[h->n++] = n;
	}
	st_free(live);
	*out = h;
	return 0;
}
