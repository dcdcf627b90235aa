/* SPDX-License-Identifier: MIT */
/*
 * core/graph/graph_int.h — the graph IR shared by the builder, the shape
 * helpers and the reference interpreter.
 *
 * A graph is an array of nodes in the order they were added; every source
 * of a node has a smaller index, so array order is a topological order.
 * Shapes hold up to four sizes, ST_DIM_SEQ standing for the symbolic
 * sequence length.
 */
#ifndef STRATA_CORE_GRAPH_INT_H
#define STRATA_CORE_GRAPH_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <strata/graph.h>
#include <strata/io.h> /* streamed weights: models and loads */

#include "core/graph/kernels/format.h"
#include "core/graph/op.h"

#define ST_MAX_DIMS 4 /* the graph's own limit (strata/graph.h, "Shapes"), within STRATA_MAX_DIMS */
_Static_assert(ST_MAX_DIMS <= STRATA_MAX_DIMS, "graph shapes fit the API's arrays");
#define ST_DIM_SEQ STRATA_DIM_SEQ
#define ST_GRAPH_NAME 64
#define ST_GRAPH_ERROR 256

struct st_shape {
	unsigned ndim;
	int64_t dim[ST_MAX_DIMS];
};

struct st_node {
	enum strata_op op;
	enum strata_dtype dtype; /* of the values the node produces */
	struct st_shape shape;
	uint32_t src[4];
	unsigned nsrc;
	union {
		int axis; /* reductions, concat */
		float eps; /* rmsnorm, layernorm */
		unsigned flags; /* matmul */
		unsigned perm[ST_MAX_DIMS]; /* permute */
		struct {
			float theta;
			unsigned layout;
		} rope;
		struct {
			int axis;
			int64_t start, len;
		} slice;
		float scale; /* attention */
		float value; /* an element-wise op's number (softcap's cap) */
	} p;
	const void *data; /* weights: the caller's (NULL for a streamed one) */
	/* A lent weight that can be packed (strata_graph_weight_lend()): the
	 * states of its tiles of SK_TILE_ROWS rows (enum sk_tile_state,
	 * kernels/packed.h), shared by every program of the graph; owned by
	 * the graph that lent it.  NULL otherwise. */
	uint32_t *lent_tiles;
	uint32_t stream; /* a streamed weight: its model tensor + 1; else 0 */
	bool output;
	char name[ST_GRAPH_NAME];
};

struct strata_graph {
	struct strata_rt *rt;
	uint32_t max_seq;
	struct st_node *nodes;
	uint32_t n, cap;
	void **owned; /* weight data the graph made itself (text.c); freed with it */
	struct strata_load *load; /* where streamed weights' bytes come from */
	unsigned nowned;
	char error[ST_GRAPH_ERROR];
};

/* core/graph/shape.c */

/* Write @s as "[seq, 288]" into @buf. */
void st_shape_format(const struct st_shape *s, char *buf, size_t len);
/* Whether @s has the symbolic dimension. */
bool st_shape_symbolic(const struct st_shape *s);
/* Elements of @s with the sequence length bound to @seq. */
uint64_t st_shape_elems(const struct st_shape *s, uint32_t seq);
/* Bytes of @n's value at @seq, in its storage type (blocks included). */
uint64_t st_node_bytes(const struct st_node *n, uint32_t seq);

/* core/graph/pack.c: whether weight @w is one a matmul may read packed
 * sixteen rows to a block (Q8_0, Q4_0 or Q4_1, a matrix of whole groups of
 * 16 rows). */
bool st_weight_packable(const struct st_node *w);
/* Broadcast @a and @b (trailing-aligned, 1 stretches) into @out.
 * Return: 0, or -EINVAL when a pair of sizes is incompatible. */
int st_shape_broadcast(const struct st_shape *a, const struct st_shape *b, struct st_shape *out);
/* Whether shapes are equal, the symbolic dimension only equal to itself. */
bool st_shape_equal(const struct st_shape *a, const struct st_shape *b);

/* core/graph/passes.c.  Each builds a new graph in *@out (free with
 * strata_graph_destroy()) and fills @map (one entry per node of @g) with
 * each node's new number, ST_GRAPH_GONE where it was dropped.
 * Return: 0; -ENOMEM. */
#define ST_GRAPH_GONE UINT32_MAX
int st_graph_cse(const struct strata_graph *g, struct strata_graph **out, uint32_t *map);
int st_graph_dce(const struct strata_graph *g, struct strata_graph **out, uint32_t *map);

/* core/graph/interp.c: strata_graph_eval_reference() with states kept in
 * @state (per node: a state's buffer, read at the start and written back
 * by its write; NULL: states start from zeros and nothing is kept).  With
 * @state, every write runs, needed by the outputs or not. */
struct strata_graph_tensor;
int st_graph_eval(struct strata_graph *g, uint32_t seq, const struct strata_graph_tensor *inputs, unsigned n_inputs,
		  const struct strata_graph_tensor *outputs, unsigned n_outputs, void **state);

/* core/graph/build.c: record why the current call fails (and log it). */
int st_graph_fail(struct strata_graph *g, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* core/graph/build.c: append @n as it is.  Return: 0 and its number in
 * *@out; -ENOMEM. */
int st_graph_append(struct strata_graph *g, const struct st_node *n, uint32_t *out);

/* core/graph/rules.c: check node @n (its op, sources and parameters set)
 * by its op's shape rule, set its shape and type, and append it.
 * Return: 0 and its number in *@out; -EINVAL (and the graph's error text);
 * -ENOMEM. */
int st_graph_add(struct strata_graph *g, struct st_node *n, uint32_t *out);
/* core/graph/rules.c: @ndim sizes @dims as a shape of op @op into @s, the
 * symbolic one allowed once when @allow_seq.  Return: 0; -EINVAL. */
int st_graph_shape_arg(struct strata_graph *g, enum strata_op op, unsigned ndim, const int64_t *dims, bool allow_seq,
		       struct st_shape *s);
/* core/graph/rules.c: types for messages and checks. */
const char *st_dtype_name(enum strata_dtype t);
bool st_dtype_float(enum strata_dtype t); /* real numbers, whatever the storage */
bool st_dtype_block(enum strata_dtype t); /* GGUF blocks of 32 */
/* core/graph/rules.c: the kernels' name (kernels/format.h) for a weight
 * stored as @t; SK_F32 for f32 and anything that is not a weight type. */
enum sk_fmt st_dtype_fmt(enum strata_dtype t);

#endif /* STRATA_CORE_GRAPH_INT_H */
