/* SPDX-License-Identifier: MIT */
/*
 * core/graph/emit_packed.c — which matmuls read block-quantized weights
 * packed sixteen rows to a block, and the source that binds them to
 * kernels/packed.h (the layout, packing, and its decode).
 *
 * In GGUF's layout a row's blocks follow each other, so a dot product
 * lays one row's nibbles along a vector register, and every block ends in
 * a horizontal step that mixes lanes and converts its scale (about 19
 * vector instructions for 64 weights on AVX-512 VNNI, which bound a
 * SmolLM2 decode step).  Packed (kernels/packed.h describes the layout),
 * 16 rows' weights sit side by side and that step goes.
 *
 * The program keeps the packed copy (the caller's weight stays as it is,
 * for the embedding, the interpreter and other programs), or, for a weight
 * the caller lent (strata_graph_weight_lend()) and nothing else reads,
 * rewrites the weight in its own bytes.  Each tile of 32 rows is packed by
 * the first chunk that meets it, at the first run.
 */
#include <strata/topo.h>

#include "core/graph/emit_int.h"

bool st_packs(const struct strata_graph *g, const struct st_kernel *k, uint64_t cpu_features)
{
	const uint64_t need = 1ull << STRATA_CPU_AVX512F | 1ull << STRATA_CPU_AVX512BW | 1ull << STRATA_CPU_AVX512VL |
			      1ull << STRATA_CPU_AVX512VNNI | 1ull << STRATA_CPU_F16C;
	const struct st_node *c = &g->nodes[k->core], *b;

	if (k->kind != ST_KERNEL_MATMUL || !(c->p.flags & STRATA_MATMUL_TRANS_B) || (cpu_features & need) != need)
		return false;
	b = &g->nodes[c->src[1]];
	return st_weight_packable(b);
}

/* kernels/packed.h: the layout, packing a tile, reading a row back for
 * the prefill path, and on AVX-512 VNNI the 16-row dot product. */
void st_emit_packed(struct emitter *e, enum strata_dtype t)
{
	st_emit_kernel_text(e, ST_TEXT_PACKED);
	st_text_add(&e->t, "#define ST_PBS %d /* bytes of a row's block */\n#define ST_PGB (16 * ST_PBS)\n",
		    sk_block_bytes(st_dtype_fmt(t)));
}
