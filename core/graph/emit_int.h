/* SPDX-License-Identifier: MIT */
/*
 * core/graph/emit_int.h — helpers shared by the C emitters (emit.c,
 * emit_matmul.c, emit_weights.c, emit_packed.c, emit_single.c).
 *
 * Generated kernels see shapes padded to four dimensions on the left; a
 * size is a constant or the variable `seq`.  Arguments are t[1 + i] (the
 * i-th of the kernel's args) and the result t[0].
 */
#ifndef STRATA_CORE_GRAPH_EMIT_INT_H
#define STRATA_CORE_GRAPH_EMIT_INT_H

#include "base/base.h"
#include "core/graph/compile_int.h"

struct emitter {
	const struct strata_graph *g;
	const struct st_kernel *k;
	struct st_text t;
};

/* A shape padded on the left to four dimensions. */
struct pad4 {
	int64_t d[ST_MAX_DIMS];
};

struct pad4 st_emit_pad(const struct st_shape *s);

/* The C expression of a product of sizes: "768", "seq", "(3*seq)".  @buf
 * holds 48 bytes. */
const char *st_emit_product(const int64_t *dims, unsigned n, char *buf);

/* Split row variable @row of shape @ref (rows are all but the last
 * dimension) into indices <prefix>0, <prefix>1, <prefix>2. */
void st_emit_split_row(struct emitter *e, const struct pad4 *ref, const char *row, const char *prefix);

/* Declare `const float *<name>` at argument @arg's element for the row
 * split by @prefix of shape @ref (broadcast where the argument has 1).
 * Return: whether the argument moves along the last axis (else it is
 * read at [0]). */
bool st_emit_arg_row(struct emitter *e, unsigned arg, const struct pad4 *ref, const char *prefix, const char *name);

/* @v as a C float constant ("1.0f", "1e-05f", "-2.5f"): exact enough to
 * read back the same float.  @buf holds 32 bytes. */
const char *st_emit_float(float v, char *buf);

/* The index of node @id among the kernel's args, or -1. */
int st_emit_arg_index(const struct st_kernel *k, uint32_t id);
/* The position of node @id among the kernel's members (its value is
 * v<position> in the source), or -1. */
int st_emit_member_index(const struct st_kernel *k, uint32_t id);

/* Emit `const float v<id> = ...;` for each member of the kernel in
 * [@from, @to) of its member list that is element-wise; an argument is
 * read through pointer <ptr><arg index> at [@idx] (or [0] where it does
 * not move along the last axis: @moves is indexed by argument). */
void st_emit_chain(struct emitter *e, unsigned from, unsigned to, const char *ptr, const bool *moves, const char *idx);

/* The generated file's head: the helpers of kernels/convert.h and
 * kernels/elementwise.h. */
void st_emit_prelude(struct emitter *e);
/* Paste another header of core/graph/kernels/ into the kernel. */
enum st_kernel_text {
	ST_TEXT_PACKED, /* kernels/packed.h */
};
void st_emit_kernel_text(struct emitter *e, enum st_kernel_text which);

/* st_unpack(p, w, K): a row of K elements stored as @t widened to f32
 * (emit_weights.c; the embedding gathers rows with it too). */
void st_emit_unpack(struct emitter *e, enum strata_dtype t);
/* st_unpack() and decode's dot products on rows stored as @t (emit_weights.c). */
void st_emit_stored_dots(struct emitter *e, enum strata_dtype t);
/* st_sweep(p, from, len): the prefetch of decode's dot products. */
void st_emit_sweep(struct emitter *e);

/* st_pack_tile(), st_ensure_packed(), st_unpack_packed() and, on AVX-512
 * VNNI, st_prep_packed() and st_pdot16() for weights stored as @t
 * (emit_packed.c). */
void st_emit_packed(struct emitter *e, enum strata_dtype t);
/* The layout part alone, for the embedding of a table packed in place. */
void st_emit_packed_rows(struct emitter *e, enum strata_dtype t);

int st_emit_matmul(struct emitter *e);
int st_emit_single(struct emitter *e);

#endif /* STRATA_CORE_GRAPH_EMIT_INT_H */
