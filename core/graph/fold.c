/* SPDX-License-Identifier: MIT */
/*
 * core/graph/fold.c — constant folding and storage widening, before
 * fusion.
 *
 * A node computed only from weights has the same value at every run: it is
 * evaluated once, by the reference interpreter, and becomes an f32 weight
 * (the nodes it came from are left for dead-code elimination).  A reshape
 * of a weight keeps the weight's data and storage type, so a quantized
 * matrix viewed in another shape is still read in its blocks.
 *
 * Kernels read f16, bf16 and the GGUF block formats in two places only: b
 * of a transposed matmul with a 2-D b (a linear layer's weight), and an
 * embedding table.  A weight in such a type that anything else reads (a
 * norm's scale in f16, say) is widened to f32 here; it is small.
 */
#include <errno.h>
#include <string.h>

#include "base/base.h"
#include "core/graph/compile_int.h"

struct folder {
	struct strata_graph *g; /* the interpreter writes its error text */
	struct strata_graph *h;
	void **owned;
	unsigned nowned;
};

static bool is_block(enum strata_dtype t)
{
	return t == STRATA_DTYPE_Q8_0 || t == STRATA_DTYPE_Q4_0 || t == STRATA_DTYPE_Q4_1;
}

/* Whether node @user reads weight @w in the storage type it has. */
static bool reads_natively(const struct st_node *user, uint32_t w, const struct st_node *wn)
{
	if (user->op == STRATA_OP_EMBEDDING)
		return user->src[0] == w && user->src[1] != w;
	if (user->op == STRATA_OP_MATMUL)
		return user->src[1] == w && user->src[0] != w && (user->p.flags & STRATA_MATMUL_TRANS_B) &&
		       wn->shape.ndim == 2;
	return false;
}

/* Evaluate @id of the caller's graph into an f32 (or i32) buffer and make
 * it a weight of the folded graph. */
static int evaluate(struct folder *fo, uint32_t id)
{
	struct st_node *n = &fo->h->nodes[id];
	size_t bytes = (size_t)st_shape_elems(&n->shape, 1) * 4;
	struct strata_graph_tensor out = { .node = id, .bytes = bytes };
	void **grown;
	int err;

	out.data = st_malloc(bytes ? bytes : 1);
	grown = st_realloc(fo->owned, (fo->nowned + 1) * sizeof(*fo->owned));
	if (!out.data || !grown) {
		st_free(out.data);
		if (grown)
			fo->owned = grown;
		return -ENOMEM;
	}
	fo->owned = grown;
	fo->owned[fo->nowned++] = out.data;
	/* The interpreter writes only the graph's error text. */
	err = strata_graph_eval_reference(fo->g, 1, NULL, 0, &out, 1);
	if (err)
		return err;
	n->op = STRATA_OP_WEIGHT;
	n->dtype = n->dtype == STRATA_DTYPE_I32 ? STRATA_DTYPE_I32 : STRATA_DTYPE_F32;
	n->nsrc = 0;
	n->data = out.data;
	n->lent_tiles = NULL; /* a widened copy of its own now */
	return 0;
}

static struct strata_graph *copy_graph(const struct strata_graph *g)
{
	struct strata_graph *h = st_calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	*h = *g;
	h->cap = g->n ? g->n : 1;
	h->nodes = st_malloc(h->cap * sizeof(*h->nodes));
	if (!h->nodes) {
		st_free(h);
		return NULL;
	}
	memcpy(h->nodes, g->nodes, g->n * sizeof(*h->nodes));
	h->owned = NULL; /* the data stays the caller's graph's */
	h->nowned = 0;
	h->error[0] = '\0';
	return h;
}

int st_graph_fold(struct strata_graph *g, struct strata_graph **out, void ***owned, unsigned *nowned)
{
	struct folder fo = { .g = g };
	bool *is_const = NULL, *needed = NULL;
	uint32_t id, u;
	unsigned i;
	int err = -ENOMEM;

	fo.h = copy_graph(g);
	is_const = st_calloc(g->n ? g->n : 1, sizeof(bool));
	needed = st_calloc(g->n ? g->n : 1, sizeof(bool));
	if (!fo.h || !is_const || !needed)
		goto fail;
	/* Constants, and the constants a non-constant node (or the caller)
	 * reads: those are the ones worth a value of their own. */
	for (id = 0; id < g->n; id++) {
		const struct st_node *n = &g->nodes[id];

		is_const[id] = n->op == STRATA_OP_WEIGHT && !n->stream; /* a streamed one is not there yet */
		if (n->op != STRATA_OP_INPUT && n->nsrc > 0) {
			is_const[id] = true;
			for (i = 0; i < n->nsrc; i++)
				is_const[id] = is_const[id] && is_const[n->src[i]];
		}
		for (i = 0; !is_const[id] && i < n->nsrc; i++)
			needed[n->src[i]] = true;
		if (n->output)
			needed[id] = true;
	}
	for (id = 0, err = 0; id < g->n && !err; id++) {
		struct st_node *n = &fo.h->nodes[id];
		const struct st_node *s;

		if (!is_const[id] || !needed[id] || n->op == STRATA_OP_WEIGHT)
			continue;
		s = &fo.h->nodes[n->src[0]];
		if (n->op == STRATA_OP_RESHAPE && s->op == STRATA_OP_WEIGHT &&
		    (!is_block(s->dtype) || n->shape.dim[n->shape.ndim - 1] % 32 == 0)) {
			n->op = STRATA_OP_WEIGHT;
			n->dtype = s->dtype;
			n->data = s->data;
			n->nsrc = 0;
			continue;
		}
		err = evaluate(&fo, id);
	}
	/* Widen what is read in a type its reader cannot unpack. */
	for (id = 0; id < g->n && !err; id++) {
		struct st_node *n = &fo.h->nodes[id];
		bool widen = false;

		if (n->op != STRATA_OP_WEIGHT || n->dtype == STRATA_DTYPE_F32 || n->dtype == STRATA_DTYPE_I32)
			continue;
		widen = n->output;
		for (u = id + 1; u < g->n && !widen; u++) {
			const struct st_node *user = &fo.h->nodes[u];

			if (is_const[u] && !needed[u])
				continue; /* folded away with what it fed */
			for (i = 0; i < user->nsrc && !widen; i++)
				widen = user->src[i] == id && !reads_natively(user, id, n);
		}
		if (widen && n->stream)
			err = st_graph_fail(g, -EINVAL,
					    "weight %s is streamed as %s, and a reader other than a transposed matmul or an "
					    "embedding needs it widened, which a streamed weight cannot be",
					    n->name, n->dtype == STRATA_DTYPE_F16	 ? "f16"
						     : n->dtype == STRATA_DTYPE_BF16 ? "bf16"
										     : "GGUF blocks");
		else if (widen)
			err = evaluate(&fo, id);
	}
	if (err)
		goto fail;
	st_free(is_const);
	st_free(needed);
	*out = fo.h;
	*owned = fo.owned;
	*nowned = fo.nowned;
	return 0;
fail:
	if (fo.h) {
		/* The caller's graph holds the reason, if the interpreter gave one. */
		st_free(fo.h->nodes);
		st_free(fo.h);
	}
	for (i = 0; i < fo.nowned; i++)
		st_free(fo.owned[i]);
	st_free(fo.owned);
	st_free(is_const);
	st_free(needed);
	return err;
}
