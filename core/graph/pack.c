/* SPDX-License-Identifier: MIT */
/*
 * core/graph/pack.c — which kernels read a block-quantized weight packed
 * sixteen rows to a block (emit_packed.c), and where the packed form
 * lives: a copy the program keeps, or, for a weight the caller lent
 * (strata_graph_weight_lend()) that nothing else reads but embeddings
 * gathering from it, the weight's own bytes.
 */
#include <errno.h>

#include "base/base.h"
#include "core/core_int.h"
#include "core/graph/compile_int.h"
#include "core/graph/kernels/packed.h"

bool st_weight_packable(const struct st_node *w)
{
	return w->op == STRATA_OP_WEIGHT &&
	       (w->dtype == STRATA_DTYPE_Q4_0 || w->dtype == STRATA_DTYPE_Q4_1 || w->dtype == STRATA_DTYPE_Q8_0) &&
	       w->shape.ndim == 2 && w->shape.dim[0] > 0 && w->shape.dim[0] % SK_GROUP_ROWS == 0 &&
	       w->shape.dim[1] % 32 == 0;
}

/* The position of node @id among kernel @k's args. */
static unsigned arg_index(const struct st_kernel *k, uint32_t id)
{
	unsigned i = 0;

	while (i < k->nargs && k->args[i] != id)
		i++;
	return i;
}

/* Whether node @a reads weight @w's bytes: @w itself, a view of it, or
 * another weight node on the same bytes (a folded reshape). */
static bool reads_bytes_of(const struct strata_program *p, uint32_t a, uint32_t w)
{
	const struct strata_graph *g = st_program_graph(p);
	const struct st_node *x, *y = &g->nodes[w];

	if (p->plan.v[a].home == ST_HOME_VIEW)
		a = p->plan.v[a].base;
	x = &g->nodes[a];
	return a == w || (x->op == STRATA_OP_WEIGHT && ((x->data && x->data == y->data) ||
							(x->stream && x->stream == y->stream)));
}

static bool any_packed(const struct st_node *w)
{
	int64_t t;

	for (t = 0; w->lent_tiles && t < (w->shape.dim[0] + SK_TILE_ROWS - 1) / SK_TILE_ROWS; t++)
		if (__atomic_load_n(&w->lent_tiles[t], __ATOMIC_ACQUIRE) != SK_TILE_STORED)
			return true;
	return false;
}

/* Whether kernel @j is an embedding gathering from node @w (it can read a
 * lent table's packed tiles too). */
static bool gathers_from(const struct strata_program *p, uint32_t j, uint32_t w)
{
	const struct strata_graph *g = st_program_graph(p);
	const struct st_node *c = &g->nodes[p->f.k[j].core];

	return c->op == STRATA_OP_EMBEDDING && c->src[0] == w && p->f.k[j].nmembers == 1;
}

/* The kernels other than @k, and other than embeddings gathering from it,
 * that read weight @w's bytes. */
static unsigned other_readers(const struct strata_program *p, uint32_t k, uint32_t w)
{
	unsigned n = 0, i;
	uint32_t j;

	for (j = 0; j < p->f.nk; j++)
		for (i = 0; j != k && !gathers_from(p, j, w) && i < p->f.k[j].nargs; i++)
			if (reads_bytes_of(p, p->f.k[j].args[i], w)) {
				n++;
				break;
			}
	return n;
}

/* Embeddings gathering from a lent table that is (or will be) packed in
 * place read each row in the layout its tile is in. */
static void gather_packed(struct strata_program *p)
{
	const struct strata_graph *g = st_program_graph(p);
	uint32_t j, k;

	for (j = 0; j < p->f.nk; j++) {
		const struct st_node *c = &g->nodes[p->f.k[j].core];
		const struct st_node *w = c->op == STRATA_OP_EMBEDDING ? &g->nodes[c->src[0]] : NULL;
		bool in_place = w && w->lent_tiles && any_packed(w);

		for (k = 0; w && w->lent_tiles && k < p->f.nk && !in_place; k++)
			in_place = p->f.k[k].packed && p->packed[k].in_place && p->packed[k].tiles == w->lent_tiles;
		if (!in_place || !gathers_from(p, j, c->src[0]))
			continue;
		p->f.k[j].packed = true;
		p->packed[j].in_place = true;
		p->packed[j].tiles = w->lent_tiles;
		p->packed[j].warg = arg_index(&p->f.k[j], c->src[0]);
	}
}

/*
 * Which matmuls read their block-quantized weight packed sixteen rows to a
 * block (emit_packed.c): wherever the CPU the kernels are built for has
 * AVX-512 VNNI, unless the caller said not to; and always where an earlier
 * program already packed a lent weight in place.  Then the copies and
 * tile states: a lent weight that only its matmul reads is packed in its
 * own bytes, any other into a copy (nothing is written until a run packs
 * a tile, so memory is taken as the weights are met).
 */
int st_choose_packing(struct strata_program *p, unsigned flags)
{
	const struct strata_graph *g = st_program_graph(p);
	uint64_t features = (flags & STRATA_COMPILE_NO_PACKING) ? 0 : st_cpu_features_detect();
	uint32_t k;

	p->packed = st_calloc(p->f.nk ? p->f.nk : 1, sizeof(*p->packed));
	if (!p->packed)
		return -ENOMEM;
	for (k = 0; k < p->f.nk; k++) {
		struct st_kernel *ker = &p->f.k[k];
		struct st_packed *pk = &p->packed[k];
		uint32_t wid = ker->kind == ST_KERNEL_MATMUL ? g->nodes[ker->core].src[1] : 0;
		const struct st_node *w = &g->nodes[wid];
		bool done = ker->kind == ST_KERNEL_MATMUL && any_packed(w);

		ker->packed = st_packs(g, ker, done ? ~0ull : features);
		ker->int8_activations = ker->packed && (flags & STRATA_COMPILE_INT8_ACTIVATIONS);
		if (!ker->packed) {
			if (done)
				return st_program_fail(p, -EINVAL, "weight %s was packed in place by an earlier program, "
						   "and kernel %u reads it as stored", w->name, k);
			continue;
		}
		pk->warg = arg_index(ker, wid);
		pk->bytes = st_node_bytes(w, 1);
		pk->in_place = w->lent_tiles && other_readers(p, k, wid) == 0;
		if (done && !pk->in_place)
			return st_program_fail(p, -EINVAL, "weight %s was packed in place by an earlier program, and "
					   "another kernel reads it", w->name);
		if (pk->in_place) {
			pk->tiles = w->lent_tiles;
			continue;
		}
		pk->raw = st_malloc(pk->bytes + 63);
		/* Every tile starts SK_TILE_STORED (0). */
		pk->tiles = st_calloc((size_t)(w->shape.dim[0] + SK_TILE_ROWS - 1) / SK_TILE_ROWS, sizeof(*pk->tiles));
		if (!pk->raw || !pk->tiles)
			return -ENOMEM;
		pk->data = (void *)(((uintptr_t)pk->raw + 63) & ~(uintptr_t)63);
		p->info.packed_bytes += pk->bytes;
	}
	gather_packed(p);
	return 0;
}
