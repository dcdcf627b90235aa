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
	unsigned pasted; /* the headers of core/graph/kernels/ in the source so far (1 << enum st_kernel_text) */
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
/* Paste a header of core/graph/kernels/ into the kernel, once; those it
 * needs before it (format.h) must have been pasted. */
enum st_kernel_text {
	ST_TEXT_FORMAT, /* formats, SIMD level, sk_sweep() */
	ST_TEXT_UNPACK, /* sk_unpack() */
	ST_TEXT_DOT_F32, /* f32 dot products */
	ST_TEXT_DOT_HALF, /* f16 / bf16 decode */
	ST_TEXT_DOT_Q8, /* Q8_0 decode in f32 */
	ST_TEXT_DOT_DIGITS, /* block decode, AVX-512 VNNI */
	ST_TEXT_DOT_NIBBLE, /* 4-bit decode in f32 */
	ST_TEXT_DOT_QUANT, /* the choice between the last two */
	ST_TEXT_PACKED, /* the packed layout and its decode */
	ST_TEXT_GEMM_F32, /* prefill's register-blocked micro-kernel */
	ST_TEXT_GEMM_BF16, /* its AVX512_BF16 twin */
	ST_TEXT_GEMM_BLOCK, /* the blocked loop around both */
	ST_TEXT_GEMM_PACKED, /* prefill on packed weights, AVX-512 VNNI */
};
void st_emit_kernel_text(struct emitter *e, enum st_kernel_text which);

/* sk_unpack() and ST_FMT, the format of weights stored as @t
 * (emit_weights.c; the embedding gathers rows with it too). */
void st_emit_unpack(struct emitter *e, enum strata_dtype t);
/* That and decode's dot products on rows stored as @t (emit_weights.c). */
void st_emit_stored_dots(struct emitter *e, enum strata_dtype t);

/* kernels/packed.h and st_unpack_packed() for weights stored as @t
 * (emit_packed.c; after st_emit_unpack()). */
void st_emit_packed(struct emitter *e, enum strata_dtype t);

int st_emit_matmul(struct emitter *e);
int st_emit_single(struct emitter *e);

#endif /* STRATA_CORE_GRAPH_EMIT_INT_H */
