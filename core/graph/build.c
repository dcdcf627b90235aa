/* SPDX-License-Identifier: MIT */
/*
 * core/graph/build.c — the graph builder: graphs, their leaves (inputs,
 * weights, states) and the public op builders, each of which fills one
 * node for st_graph_add() to check by the op's shape rule (rules.c) and
 * append.  A refused op leaves the graph as it was and says why in the
 * graph's error text, naming the op and the shapes involved.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "core/core_int.h"
#include "core/graph/graph_int.h"
#include "core/graph/kernels/packed.h"
#include "core/graph/op.h"

#define DEFAULT_MAX_SEQ 2048u

int st_graph_fail(struct strata_graph *g, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->error, sizeof(g->error), fmt, ap);
	va_end(ap);
	st_debug("graph: %s", g->error);
	return err;
}

int strata_graph_create(struct strata_rt *rt, const struct strata_graph_opts *opts, struct strata_graph **out)
{
	struct strata_graph *g;

	if (!rt || !out || (opts && !st_opts_valid(opts, sizeof(*opts))))
		return -EINVAL;
	g = st_calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->rt = rt;
	g->max_seq = opts && opts->max_seq ? opts->max_seq : DEFAULT_MAX_SEQ;
	*out = g;
	return 0;
}

void strata_graph_destroy(struct strata_graph *g)
{
	if (!g)
		return;
	for (unsigned i = 0; i < g->nowned; i++)
		st_free(g->owned[i]);
	st_free(g->owned);
	st_free(g->nodes);
	st_free(g);
}

const char *strata_graph_error(const struct strata_graph *g)
{
	return g ? g->error : "no graph";
}

/* Start of every public call: no error yet. */
static bool begin(struct strata_graph *g, const uint32_t *out)
{
	if (!g)
		return false;
	g->error[0] = '\0';
	return out != NULL;
}

int st_graph_append(struct strata_graph *g, const struct st_node *n, uint32_t *out)
{
	if (g->n == g->cap) {
		uint32_t cap = g->cap ? g->cap * 2 : 64;
		struct st_node *nodes = st_realloc(g->nodes, (size_t)cap * sizeof(*nodes));

		if (!nodes)
			return st_graph_fail(g, -ENOMEM, "%s: out of memory for node %u", st_op_name(n->op), g->n);
		g->nodes = nodes;
		g->cap = cap;
	}
	g->nodes[g->n] = *n;
	*out = g->n++;
	return 0;
}

static void set_name(struct st_node *n, const char *name)
{
	st_fmt(n->name, sizeof(n->name), "%s", name ? name : "");
}

int strata_graph_input(struct strata_graph *g, const char *name, enum strata_dtype dtype, unsigned ndim,
		       const int64_t *shape, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_INPUT, .dtype = dtype };
	int err;

	if (!begin(g, out))
		return -EINVAL;
	if (dtype != STRATA_DTYPE_F32 && dtype != STRATA_DTYPE_I32)
		return st_graph_fail(g, -EINVAL, "input: %s is %s; inputs are f32, or i32 for ids", name ? name : "",
				     st_dtype_name(dtype));
	err = st_graph_shape_arg(g, n.op, ndim, shape, true, &n.shape);
	if (err)
		return err;
	set_name(&n, name);
	return st_graph_append(g, &n, out);
}

int strata_graph_weight(struct strata_graph *g, const char *name, enum strata_dtype dtype, unsigned ndim,
			const int64_t *shape, const void *data, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_WEIGHT, .dtype = dtype, .data = data };
	int err;

	if (!begin(g, out))
		return -EINVAL;
	if (!st_dtype_float(dtype))
		return st_graph_fail(g, -EINVAL, "weight: %s is %s; weights are f32, f16, bf16, Q8_0, Q4_0 or Q4_1",
				     name ? name : "", st_dtype_name(dtype));
	if (!data)
		return st_graph_fail(g, -EINVAL, "weight: %s has no data", name ? name : "");
	err = st_graph_shape_arg(g, n.op, ndim, shape, false, &n.shape);
	if (err)
		return err;
	if (st_dtype_block(dtype) && n.shape.dim[ndim - 1] % 32)
		return st_graph_fail(g, -EINVAL, "weight: %s is %s with rows of %lld; rows are whole blocks of 32",
				     name ? name : "", st_dtype_name(dtype), (long long)n.shape.dim[ndim - 1]);
	set_name(&n, name);
	return st_graph_append(g, &n, out);
}

int strata_graph_weight_lend(struct strata_graph *g, uint32_t weight)
{
	struct st_node *n;
	void **grown;

	if (!g || weight >= g->n || g->nodes[weight].op != STRATA_OP_WEIGHT)
		return g ? st_graph_fail(g, -EINVAL, "weight_lend: node %u is not a weight", weight) : -EINVAL;
	n = &g->nodes[weight];
	if (n->lent_tiles || !st_weight_packable(n))
		return 0; /* no program would copy it */
	grown = st_realloc(g->owned, (g->nowned + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	g->owned = grown;
	/* Every tile starts SK_TILE_STORED (0). */
	n->lent_tiles = st_calloc((size_t)(n->shape.dim[0] + SK_TILE_ROWS - 1) / SK_TILE_ROWS, sizeof(*n->lent_tiles));
	if (!n->lent_tiles)
		return -ENOMEM;
	g->owned[g->nowned++] = n->lent_tiles;
	return 0;
}

int strata_graph_weight_streamed(struct strata_graph *g, struct strata_model *model, size_t tensor, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_WEIGHT };
	struct strata_tensor_info info;
	int64_t dims[ST_MAX_DIMS];
	unsigned i;
	int err;

	if (!begin(g, out))
		return -EINVAL;
	if (!model)
		return st_graph_fail(g, -EINVAL, "weight: no model");
	err = strata_model_tensor(model, tensor, &info);
	if (err)
		return st_graph_fail(g, err == -ENOMEM ? err : -ENOENT, "weight: the model has no tensor %zu", tensor);
	if (!st_dtype_float(info.dtype))
		return st_graph_fail(g, -EINVAL, "weight: %s is %s; weights are f32, f16, bf16, Q8_0, Q4_0 or Q4_1",
				     info.name, st_dtype_name(info.dtype));
	if (info.ndim < 1 || info.ndim > ST_MAX_DIMS || tensor >= UINT32_MAX)
		return st_graph_fail(g, -EINVAL, "weight: %s has %u dimensions (1 to 4 are graph shapes)", info.name,
				     info.ndim);
	for (i = 0; i < info.ndim; i++)
		dims[i] = (int64_t)info.shape[i];
	err = st_graph_shape_arg(g, n.op, info.ndim, dims, false, &n.shape);
	if (err)
		return err;
	if (st_dtype_block(info.dtype) && n.shape.dim[info.ndim - 1] % 32)
		return st_graph_fail(g, -EINVAL, "weight: %s is %s with rows of %lld; rows are whole blocks of 32", info.name,
				     st_dtype_name(info.dtype), (long long)n.shape.dim[info.ndim - 1]);
	n.dtype = info.dtype;
	n.stream = (uint32_t)tensor + 1;
	set_name(&n, info.name);
	return st_graph_append(g, &n, out);
}

int strata_graph_bind_load(struct strata_graph *g, struct strata_load *load)
{
	if (!g || !load)
		return -EINVAL;
	g->load = load;
	return 0;
}

int strata_graph_state(struct strata_graph *g, const char *name, unsigned ndim, const int64_t *shape, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_STATE, .dtype = STRATA_DTYPE_F32 };
	int err;

	if (!begin(g, out))
		return -EINVAL;
	err = st_graph_shape_arg(g, n.op, ndim, shape, false, &n.shape);
	if (err)
		return err;
	set_name(&n, name);
	return st_graph_append(g, &n, out);
}

/* The builders of ops: each fills a node and hands it to st_graph_add(),
 * which checks it by its shape rule (rules.c). */

/* Whether @op is in @fuse's class with @nsrc sources and parameter @param. */
static bool op_is(enum strata_op op, enum st_fuse fuse, unsigned nsrc, enum st_param param)
{
	const struct st_op_info *o = st_op(op);

	return o && o->fuse == fuse && o->hi == nsrc && o->param == param;
}

int strata_graph_binary(struct strata_graph *g, enum strata_op op, uint32_t a, uint32_t b, uint32_t *out)
{
	struct st_node n = { .op = op, .src = { a, b }, .nsrc = 2 };

	if (!begin(g, out))
		return -EINVAL;
	if (!op_is(op, ST_FUSE_ELEMWISE, 2, ST_PARAM_NONE))
		return st_graph_fail(g, -EINVAL, "binary: %s (%d) is not a binary element-wise op", st_op_name(op), op);
	return st_graph_add(g, &n, out);
}

int strata_graph_unary(struct strata_graph *g, enum strata_op op, uint32_t a, uint32_t *out)
{
	struct st_node n = { .op = op, .src = { a }, .nsrc = 1 };

	if (!begin(g, out))
		return -EINVAL;
	if (op_is(op, ST_FUSE_ELEMWISE, 1, ST_PARAM_VALUE))
		return st_graph_fail(g, -EINVAL, "unary: %s takes a number: strata_graph_unary_value()", st_op_name(op));
	if (!op_is(op, ST_FUSE_ELEMWISE, 1, ST_PARAM_NONE))
		return st_graph_fail(g, -EINVAL, "unary: %s (%d) is not a unary element-wise op", st_op_name(op), op);
	return st_graph_add(g, &n, out);
}

int strata_graph_unary_value(struct strata_graph *g, enum strata_op op, uint32_t a, float value, uint32_t *out)
{
	struct st_node n = { .op = op, .src = { a }, .nsrc = 1, .p.value = value };

	if (!begin(g, out))
		return -EINVAL;
	if (!op_is(op, ST_FUSE_ELEMWISE, 1, ST_PARAM_VALUE))
		return st_graph_fail(g, -EINVAL, "unary_value: %s (%d) is not a unary element-wise op with a number",
				     st_op_name(op), op);
	return st_graph_add(g, &n, out);
}

int strata_graph_reduce(struct strata_graph *g, enum strata_op op, uint32_t a, int axis, uint32_t *out)
{
	struct st_node n = { .op = op, .src = { a }, .nsrc = 1, .p.axis = axis };

	if (!begin(g, out))
		return -EINVAL;
	if (!op_is(op, ST_FUSE_REDUCE, 1, ST_PARAM_AXIS))
		return st_graph_fail(g, -EINVAL, "reduce: %s (%d) is not a reduction", st_op_name(op), op);
	return st_graph_add(g, &n, out);
}

int strata_graph_softmax(struct strata_graph *g, uint32_t a, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_SOFTMAX, .src = { a }, .nsrc = 1 };

	return begin(g, out) ? st_graph_add(g, &n, out) : -EINVAL;
}

int strata_graph_rmsnorm(struct strata_graph *g, uint32_t x, uint32_t weight, float eps, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_RMSNORM, .src = { x, weight }, .nsrc = 2, .p.eps = eps };

	return begin(g, out) ? st_graph_add(g, &n, out) : -EINVAL;
}

int strata_graph_layernorm(struct strata_graph *g, uint32_t x, uint32_t weight, uint32_t bias, float eps,
			   uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_LAYERNORM, .src = { x, weight, bias },
			     .nsrc = bias == STRATA_GRAPH_NONE ? 2 : 3, .p.eps = eps };

	return begin(g, out) ? st_graph_add(g, &n, out) : -EINVAL;
}

int strata_graph_rope(struct strata_graph *g, uint32_t x, uint32_t pos, float theta, unsigned layout, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_ROPE, .src = { x, pos }, .nsrc = 2 };

	n.p.rope.theta = theta;
	n.p.rope.layout = layout;
	return begin(g, out) ? st_graph_add(g, &n, out) : -EINVAL;
}

int strata_graph_matmul(struct strata_graph *g, uint32_t a, uint32_t b, unsigned flags, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_MATMUL, .src = { a, b }, .nsrc = 2, .p.flags = flags };

	return begin(g, out) ? st_graph_add(g, &n, out) : -EINVAL;
}

int strata_graph_reshape(struct strata_graph *g, uint32_t a, unsigned ndim, const int64_t *shape, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_RESHAPE, .src = { a }, .nsrc = 1 };
	int err;

	if (!begin(g, out))
		return -EINVAL;
	err = st_graph_shape_arg(g, n.op, ndim, shape, true, &n.shape);
	return err ? err : st_graph_add(g, &n, out);
}

int strata_graph_permute(struct strata_graph *g, uint32_t a, const unsigned *perm, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_PERMUTE, .src = { a }, .nsrc = 1 };
	unsigned i;

	if (!begin(g, out))
		return -EINVAL;
	if (!perm)
		return st_graph_fail(g, -EINVAL, "permute: no permutation");
	/* As many entries as a has dimensions (the rule checks a exists). */
	for (i = 0; a < g->n && i < g->nodes[a].shape.ndim; i++)
		n.p.perm[i] = perm[i];
	return st_graph_add(g, &n, out);
}

int strata_graph_slice(struct strata_graph *g, uint32_t a, int axis, int64_t start, int64_t len, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_SLICE, .src = { a }, .nsrc = 1 };

	n.p.slice.axis = axis;
	n.p.slice.start = start;
	n.p.slice.len = len;
	return begin(g, out) ? st_graph_add(g, &n, out) : -EINVAL;
}

int strata_graph_concat(struct strata_graph *g, uint32_t a, uint32_t b, int axis, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_CONCAT, .src = { a, b }, .nsrc = 2, .p.axis = axis };

	return begin(g, out) ? st_graph_add(g, &n, out) : -EINVAL;
}

int strata_graph_argmax(struct strata_graph *g, uint32_t a, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_ARGMAX, .src = { a }, .nsrc = 1 };

	return begin(g, out) ? st_graph_add(g, &n, out) : -EINVAL;
}

int strata_graph_embedding(struct strata_graph *g, uint32_t table, uint32_t ids, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_EMBEDDING, .src = { table, ids }, .nsrc = 2 };

	return begin(g, out) ? st_graph_add(g, &n, out) : -EINVAL;
}

int strata_graph_write_rows(struct strata_graph *g, uint32_t state, uint32_t value, uint32_t pos, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_WRITE_ROWS, .src = { state, value, pos }, .nsrc = 3 };

	return begin(g, out) ? st_graph_add(g, &n, out) : -EINVAL;
}

int strata_graph_attention(struct strata_graph *g, uint32_t q, uint32_t k, uint32_t v, uint32_t pos, float scale,
			   uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_ATTENTION, .src = { q, k, v, pos }, .nsrc = 4, .p.scale = scale };

	return begin(g, out) ? st_graph_add(g, &n, out) : -EINVAL;
}

int strata_graph_cast(struct strata_graph *g, uint32_t a, enum strata_dtype dtype, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_CAST, .dtype = dtype, .src = { a }, .nsrc = 1 };

	return begin(g, out) ? st_graph_add(g, &n, out) : -EINVAL;
}

int strata_graph_output(struct strata_graph *g, uint32_t node)
{
	if (!g)
		return -EINVAL;
	g->error[0] = '\0';
	if (node >= g->n)
		return st_graph_fail(g, -EINVAL, "output: node %u, but the graph has %u nodes", node, g->n);
	g->nodes[node].output = true;
	return 0;
}

int strata_graph_shape(const struct strata_graph *g, uint32_t node, unsigned *ndim, int64_t *shape)
{
	if (!g || node >= g->n || !ndim || !shape)
		return -EINVAL;
	*ndim = g->nodes[node].shape.ndim;
	memcpy(shape, g->nodes[node].shape.dim, sizeof(int64_t) * ST_MAX_DIMS);
	return 0;
}

uint32_t strata_graph_nodes(const struct strata_graph *g)
{
	return g ? g->n : 0;
}

int strata_graph_node_info(const struct strata_graph *g, uint32_t node, enum strata_op *op, enum strata_dtype *dtype,
			   bool *is_output, const char **name)
{
	if (!g || node >= g->n)
		return -EINVAL;
	if (op)
		*op = g->nodes[node].op;
	if (dtype)
		*dtype = g->nodes[node].dtype;
	if (is_output)
		*is_output = g->nodes[node].output;
	if (name)
		*name = g->nodes[node].name;
	return 0;
}
