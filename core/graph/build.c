/* SPDX-License-Identifier: MIT */
/*
 * core/graph/build.c — the graph builder: each public op checks its
 * operands (that they exist, their types, their shapes) and appends one
 * node.  A refused op leaves the graph as it was and says why in the
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

static int append(struct strata_graph *g, const struct st_node *n, uint32_t *out)
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

/* Operand @id of op @op, called @role in messages ("a", "x"). */
static const struct st_node *operand(struct strata_graph *g, enum strata_op op, const char *role, uint32_t id)
{
	if (id >= g->n) {
		st_graph_fail(g, -EINVAL, "%s: %s is node %u, but the graph has %u nodes", st_op_name(op), role, id, g->n);
		return NULL;
	}
	return &g->nodes[id];
}

static const char *dtype_name(enum strata_dtype t)
{
	struct strata_dtype_info info;

	return strata_dtype_info(t, &info) ? "an unknown type" : info.name;
}

static bool is_block(enum strata_dtype t)
{
	return t == STRATA_DTYPE_Q8_0 || t == STRATA_DTYPE_Q4_0 || t == STRATA_DTYPE_Q4_1;
}

/* Values that are real numbers, whatever their storage. */
static bool is_float(enum strata_dtype t)
{
	return t == STRATA_DTYPE_F32 || t == STRATA_DTYPE_F16 || t == STRATA_DTYPE_BF16 || is_block(t);
}

/* A float operand, or a message saying it is not. */
static const struct st_node *float_operand(struct strata_graph *g, enum strata_op op, const char *role, uint32_t id)
{
	const struct st_node *n = operand(g, op, role, id);

	if (n && !is_float(n->dtype)) {
		st_graph_fail(g, -EINVAL, "%s: %s (node %u, %s) holds %s values, not floating point", st_op_name(op),
			      role, id, n->name[0] ? n->name : st_op_name(n->op), dtype_name(n->dtype));
		return NULL;
	}
	return n;
}

/* Most ops take one float operand @a and start from its shape: set @n's
 * source and shape from it.  Return: the operand, or NULL after saying why. */
static const struct st_node *over(struct strata_graph *g, struct st_node *n, uint32_t a)
{
	const struct st_node *x = float_operand(g, n->op, "a", a);

	if (x) {
		n->src[0] = a;
		n->nsrc = 1;
		n->shape = x->shape;
	}
	return x;
}

static int shape_arg(struct strata_graph *g, enum strata_op op, unsigned ndim, const int64_t *dims, bool allow_seq,
		     struct st_shape *s)
{
	unsigned i, seqs = 0;

	if (!dims || ndim < 1 || ndim > ST_MAX_DIMS)
		return st_graph_fail(g, -EINVAL, "%s: a shape has 1 to %d dimensions, not %u", st_op_name(op), ST_MAX_DIMS,
				     ndim);
	s->ndim = ndim;
	for (i = 0; i < ndim; i++) {
		s->dim[i] = dims[i];
		if (dims[i] == ST_DIM_SEQ && allow_seq && !seqs++)
			continue;
		if (dims[i] <= 0 || dims[i] > (INT64_C(1) << 40))
			return st_graph_fail(g, -EINVAL, "%s: dimension %u is %lld%s", st_op_name(op), i, (long long)dims[i],
					     dims[i] == ST_DIM_SEQ ? (allow_seq ? " (seq a second time)" : " (seq not allowed here)") :
								     " (sizes are 1 to 2^40)");
	}
	return 0;
}

/* A 1-D @role as long as @x's last dimension (rmsnorm, layernorm). */
static int row_vector(struct strata_graph *g, enum strata_op op, const char *role, const struct st_node *x,
		      const struct st_node *v)
{
	char sx[64], sv[64];

	if (v->shape.ndim == 1 && v->shape.dim[0] == x->shape.dim[x->shape.ndim - 1] && v->shape.dim[0] != ST_DIM_SEQ)
		return 0;
	st_shape_format(&x->shape, sx, sizeof(sx));
	st_shape_format(&v->shape, sv, sizeof(sv));
	return st_graph_fail(g, -EINVAL, "%s: x is %s and %s is %s: %s must be 1-D and as long as x's last dimension",
			     st_op_name(op), sx, role, sv, role);
}

/* @axis of @x as an index, or -1 after saying why not. */
static int axis_of(struct strata_graph *g, enum strata_op op, const struct st_node *x, int axis)
{
	int nd = (int)x->shape.ndim;
	char sx[64];

	if (axis >= -nd && axis < nd)
		return axis < 0 ? axis + nd : axis;
	st_shape_format(&x->shape, sx, sizeof(sx));
	st_graph_fail(g, -EINVAL, "%s: axis %d of a, which is %s", st_op_name(op), axis, sx);
	return -1;
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
				     dtype_name(dtype));
	err = shape_arg(g, n.op, ndim, shape, true, &n.shape);
	if (err)
		return err;
	set_name(&n, name);
	return append(g, &n, out);
}

int strata_graph_weight(struct strata_graph *g, const char *name, enum strata_dtype dtype, unsigned ndim,
			const int64_t *shape, const void *data, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_WEIGHT, .dtype = dtype, .data = data };
	int err;

	if (!begin(g, out))
		return -EINVAL;
	if (!is_float(dtype))
		return st_graph_fail(g, -EINVAL, "weight: %s is %s; weights are f32, f16, bf16, Q8_0, Q4_0 or Q4_1",
				     name ? name : "", dtype_name(dtype));
	if (!data)
		return st_graph_fail(g, -EINVAL, "weight: %s has no data", name ? name : "");
	err = shape_arg(g, n.op, ndim, shape, false, &n.shape);
	if (err)
		return err;
	if (is_block(dtype) && n.shape.dim[ndim - 1] % 32)
		return st_graph_fail(g, -EINVAL, "weight: %s is %s with rows of %lld; rows are whole blocks of 32",
				     name ? name : "", dtype_name(dtype), (long long)n.shape.dim[ndim - 1]);
	set_name(&n, name);
	return append(g, &n, out);
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
	n->lent_tiles = st_calloc((size_t)(n->shape.dim[0] + 31) / 32, sizeof(*n->lent_tiles));
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
	if (!is_float(info.dtype))
		return st_graph_fail(g, -EINVAL, "weight: %s is %s; weights are f32, f16, bf16, Q8_0, Q4_0 or Q4_1",
				     info.name, dtype_name(info.dtype));
	if (info.ndim < 1 || info.ndim > ST_MAX_DIMS || tensor >= UINT32_MAX)
		return st_graph_fail(g, -EINVAL, "weight: %s has %u dimensions (1 to 4 are graph shapes)", info.name,
				     info.ndim);
	for (i = 0; i < info.ndim; i++)
		dims[i] = (int64_t)info.shape[i];
	err = shape_arg(g, n.op, info.ndim, dims, false, &n.shape);
	if (err)
		return err;
	if (is_block(info.dtype) && n.shape.dim[info.ndim - 1] % 32)
		return st_graph_fail(g, -EINVAL, "weight: %s is %s with rows of %lld; rows are whole blocks of 32", info.name,
				     dtype_name(info.dtype), (long long)n.shape.dim[info.ndim - 1]);
	n.dtype = info.dtype;
	n.stream = (uint32_t)tensor + 1;
	set_name(&n, info.name);
	return append(g, &n, out);
}

int strata_graph_bind_load(struct strata_graph *g, struct strata_load *load)
{
	if (!g || !load)
		return -EINVAL;
	g->load = load;
	return 0;
}

int strata_graph_binary(struct strata_graph *g, enum strata_op op, uint32_t a, uint32_t b, uint32_t *out)
{
	struct st_node n = { .op = op, .dtype = STRATA_DTYPE_F32, .src = { a, b }, .nsrc = 2 };
	const struct st_node *x, *y;

	if (!begin(g, out))
		return -EINVAL;
	if (op < STRATA_OP_ADD || op > STRATA_OP_MAX)
		return st_graph_fail(g, -EINVAL, "binary: %s (%d) is not a binary element-wise op", st_op_name(op), op);
	x = float_operand(g, op, "a", a);
	y = x ? float_operand(g, op, "b", b) : NULL;
	if (!y)
		return -EINVAL;
	if (st_shape_broadcast(&x->shape, &y->shape, &n.shape)) {
		char sa[64], sb[64];

		st_shape_format(&x->shape, sa, sizeof(sa));
		st_shape_format(&y->shape, sb, sizeof(sb));
		return st_graph_fail(g, -EINVAL, "%s: a is %s and b is %s: the shapes do not broadcast", st_op_name(op), sa,
				     sb);
	}
	return append(g, &n, out);
}

int strata_graph_unary(struct strata_graph *g, enum strata_op op, uint32_t a, uint32_t *out)
{
	struct st_node n = { .op = op, .dtype = STRATA_DTYPE_F32 };

	if (!begin(g, out))
		return -EINVAL;
	if (op < STRATA_OP_EXP || op > STRATA_OP_GELU)
		return st_graph_fail(g, -EINVAL, "unary: %s (%d) is not a unary element-wise op", st_op_name(op), op);
	if (!over(g, &n, a))
		return -EINVAL;
	return append(g, &n, out);
}

int strata_graph_reduce(struct strata_graph *g, enum strata_op op, uint32_t a, int axis, uint32_t *out)
{
	struct st_node n = { .op = op, .dtype = STRATA_DTYPE_F32 };
	const struct st_node *x;

	if (!begin(g, out))
		return -EINVAL;
	if (op != STRATA_OP_SUM && op != STRATA_OP_REDUCE_MAX && op != STRATA_OP_MEAN)
		return st_graph_fail(g, -EINVAL, "reduce: %s (%d) is not a reduction", st_op_name(op), op);
	x = over(g, &n, a);
	if (!x || (n.p.axis = axis_of(g, op, x, axis)) < 0)
		return -EINVAL;
	n.shape.dim[n.p.axis] = 1;
	return append(g, &n, out);
}

int strata_graph_softmax(struct strata_graph *g, uint32_t a, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_SOFTMAX, .dtype = STRATA_DTYPE_F32 };

	if (!begin(g, out) || !over(g, &n, a))
		return -EINVAL;
	return append(g, &n, out);
}

int strata_graph_rmsnorm(struct strata_graph *g, uint32_t x, uint32_t weight, float eps, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_RMSNORM, .dtype = STRATA_DTYPE_F32, .src = { x, weight }, .nsrc = 2 };
	const struct st_node *v, *w;
	int err;

	if (!begin(g, out))
		return -EINVAL;
	v = float_operand(g, n.op, "x", x);
	w = v ? float_operand(g, n.op, "weight", weight) : NULL;
	if (!w)
		return -EINVAL;
	err = row_vector(g, n.op, "weight", v, w);
	if (err)
		return err;
	if (!(eps > 0) || !isfinite(eps))
		return st_graph_fail(g, -EINVAL, "rmsnorm: eps is %g; it must be positive and finite", (double)eps);
	n.p.eps = eps;
	n.shape = v->shape;
	return append(g, &n, out);
}

int strata_graph_layernorm(struct strata_graph *g, uint32_t x, uint32_t weight, uint32_t bias, float eps,
			   uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_LAYERNORM, .dtype = STRATA_DTYPE_F32, .src = { x, weight, bias },
			     .nsrc = bias == STRATA_GRAPH_NONE ? 2 : 3 };
	const struct st_node *v, *w, *b = NULL;
	int err;

	if (!begin(g, out))
		return -EINVAL;
	v = float_operand(g, n.op, "x", x);
	w = v ? float_operand(g, n.op, "weight", weight) : NULL;
	if (!w)
		return -EINVAL;
	if (bias != STRATA_GRAPH_NONE && !(b = float_operand(g, n.op, "bias", bias)))
		return -EINVAL;
	err = row_vector(g, n.op, "weight", v, w);
	if (!err && b)
		err = row_vector(g, n.op, "bias", v, b);
	if (err)
		return err;
	if (!(eps > 0) || !isfinite(eps))
		return st_graph_fail(g, -EINVAL, "layernorm: eps is %g; it must be positive and finite", (double)eps);
	n.p.eps = eps;
	n.shape = v->shape;
	return append(g, &n, out);
}

/* An i32 [seq] positions operand as long as @rows of @op's first operand. */
static const struct st_node *positions(struct strata_graph *g, enum strata_op op, uint32_t pos, int64_t rows)
{
	const struct st_node *p = operand(g, op, "pos", pos);
	char sp[64];

	if (!p)
		return NULL;
	st_shape_format(&p->shape, sp, sizeof(sp));
	if (p->dtype != STRATA_DTYPE_I32 || p->shape.ndim != 1 || p->shape.dim[0] != rows) {
		st_graph_fail(g, -EINVAL, "%s: pos is %s %s; pos must be i32, one per row (%s)", st_op_name(op),
			      dtype_name(p->dtype), sp, rows == ST_DIM_SEQ ? "[seq]" : "as many as the rows");
		return NULL;
	}
	return p;
}

int strata_graph_rope(struct strata_graph *g, uint32_t x, uint32_t pos, float theta, unsigned layout, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_ROPE, .dtype = STRATA_DTYPE_F32, .src = { x, pos }, .nsrc = 2 };
	const struct st_node *v;
	char sx[64];

	if (!begin(g, out))
		return -EINVAL;
	v = float_operand(g, n.op, "x", x);
	if (!v)
		return -EINVAL;
	st_shape_format(&v->shape, sx, sizeof(sx));
	if (v->shape.ndim != 3 || v->shape.dim[2] == ST_DIM_SEQ || v->shape.dim[2] % 2)
		return st_graph_fail(g, -EINVAL, "rope: x is %s; it must be [seq, heads, head_dim] with an even head_dim",
				     sx);
	if (!positions(g, n.op, pos, v->shape.dim[0]))
		return -EINVAL;
	if (!(theta > 1) || !isfinite(theta))
		return st_graph_fail(g, -EINVAL, "rope: theta is %g; it must be finite and above 1", (double)theta);
	if (layout != STRATA_ROPE_HALF && layout != STRATA_ROPE_ADJACENT)
		return st_graph_fail(g, -EINVAL, "rope: unknown layout %u", layout);
	n.p.rope.theta = theta;
	n.p.rope.layout = layout;
	n.shape = v->shape;
	return append(g, &n, out);
}

int strata_graph_matmul(struct strata_graph *g, uint32_t a, uint32_t b, unsigned flags, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_MATMUL, .dtype = STRATA_DTYPE_F32, .src = { a, b }, .nsrc = 2 };
	const struct st_node *x, *y;
	const struct st_shape *sa, *sb;
	char ta[64], tb[64];
	int64_t k_a, k_b, cols;
	unsigned i;

	if (!begin(g, out))
		return -EINVAL;
	if (flags & ~STRATA_MATMUL_TRANS_B)
		return st_graph_fail(g, -EINVAL, "matmul: unknown flags 0x%x", flags & ~STRATA_MATMUL_TRANS_B);
	x = float_operand(g, n.op, "a", a);
	y = x ? float_operand(g, n.op, "b", b) : NULL;
	if (!y)
		return -EINVAL;
	sa = &x->shape;
	sb = &y->shape;
	st_shape_format(sa, ta, sizeof(ta));
	st_shape_format(sb, tb, sizeof(tb));
	if (sa->ndim < 2 || sb->ndim < 2)
		return st_graph_fail(g, -EINVAL, "matmul: a is %s and b is %s: both need at least 2 dimensions", ta, tb);
	k_a = sa->dim[sa->ndim - 1];
	k_b = flags & STRATA_MATMUL_TRANS_B ? sb->dim[sb->ndim - 1] : sb->dim[sb->ndim - 2];
	cols = flags & STRATA_MATMUL_TRANS_B ? sb->dim[sb->ndim - 2] : sb->dim[sb->ndim - 1];
	if (k_a != k_b)
		return st_graph_fail(g, -EINVAL, "matmul: a is %s and b is %s%s: inner dimensions %lld and %lld differ", ta,
				     tb, flags & STRATA_MATMUL_TRANS_B ? " (transposed)" : "", (long long)k_a,
				     (long long)k_b);
	if (sb->ndim > 2) {
		bool same = sb->ndim == sa->ndim;

		for (i = 0; same && i + 2 < sa->ndim; i++)
			same = sa->dim[i] == sb->dim[i];
		if (!same)
			return st_graph_fail(g, -EINVAL,
					     "matmul: a is %s and b is %s: batch dimensions differ (b may also be 2-D)", ta,
					     tb);
	}
	n.p.flags = flags;
	n.shape = *sa;
	n.shape.dim[sa->ndim - 1] = cols;
	return append(g, &n, out);
}

int strata_graph_reshape(struct strata_graph *g, uint32_t a, unsigned ndim, const int64_t *shape, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_RESHAPE, .src = { a }, .nsrc = 1 };
	const struct st_node *x;
	char sa[64], ss[64];
	int err;

	if (!begin(g, out))
		return -EINVAL;
	x = operand(g, n.op, "a", a);
	if (!x)
		return -EINVAL;
	err = shape_arg(g, n.op, ndim, shape, true, &n.shape);
	if (err)
		return err;
	st_shape_format(&x->shape, sa, sizeof(sa));
	st_shape_format(&n.shape, ss, sizeof(ss));
	/* With seq bound to 1 and to 2 the counts must agree: equal fixed
	 * parts, and seq on both sides or on neither. */
	if (st_shape_elems(&x->shape, 1) != st_shape_elems(&n.shape, 1) ||
	    st_shape_symbolic(&x->shape) != st_shape_symbolic(&n.shape))
		return st_graph_fail(g, -EINVAL, "reshape: a is %s, which cannot be viewed as %s", sa, ss);
	n.dtype = x->dtype;
	return append(g, &n, out);
}

int strata_graph_permute(struct strata_graph *g, uint32_t a, const unsigned *perm, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_PERMUTE, .src = { a }, .nsrc = 1 };
	const struct st_node *x;
	unsigned i, seen = 0;

	if (!begin(g, out))
		return -EINVAL;
	x = operand(g, n.op, "a", a);
	if (!x)
		return -EINVAL;
	if (!perm)
		return st_graph_fail(g, -EINVAL, "permute: no permutation");
	for (i = 0; i < x->shape.ndim; i++) {
		if (perm[i] >= x->shape.ndim || (seen & (1u << perm[i]))) {
			char sa[64];

			st_shape_format(&x->shape, sa, sizeof(sa));
			return st_graph_fail(g, -EINVAL, "permute: a is %s; entry %u of the permutation (%u) %s", sa, i,
					     perm[i], perm[i] >= x->shape.ndim ? "is not one of its dimensions" : "repeats");
		}
		seen |= 1u << perm[i];
		n.p.perm[i] = perm[i];
		n.shape.dim[i] = x->shape.dim[perm[i]];
	}
	n.shape.ndim = x->shape.ndim;
	n.dtype = x->dtype;
	return append(g, &n, out);
}

int strata_graph_slice(struct strata_graph *g, uint32_t a, int axis, int64_t start, int64_t len, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_SLICE, .src = { a }, .nsrc = 1 };
	const struct st_node *x;
	char sx[64];
	int ax;

	if (!begin(g, out))
		return -EINVAL;
	x = operand(g, n.op, "a", a);
	if (!x || (ax = axis_of(g, n.op, x, axis)) < 0)
		return -EINVAL;
	st_shape_format(&x->shape, sx, sizeof(sx));
	if (x->shape.dim[ax] == ST_DIM_SEQ)
		return st_graph_fail(g, -EINVAL, "slice: a is %s; axis %d is the symbolic one", sx, ax);
	if (start < 0 || len < 1 || start > x->shape.dim[ax] - len)
		return st_graph_fail(g, -EINVAL, "slice: a is %s; %lld entries from %lld do not fit in axis %d", sx,
				     (long long)len, (long long)start, ax);
	n.p.slice.axis = ax;
	n.p.slice.start = start;
	n.shape = x->shape;
	n.shape.dim[ax] = len;
	n.dtype = x->dtype;
	return append(g, &n, out);
}

int strata_graph_concat(struct strata_graph *g, uint32_t a, uint32_t b, int axis, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_CONCAT, .dtype = STRATA_DTYPE_F32, .src = { a, b }, .nsrc = 2 };
	const struct st_node *x, *y;
	char sx[64], sy[64];
	unsigned i;
	int ax;

	if (!begin(g, out))
		return -EINVAL;
	x = float_operand(g, n.op, "a", a);
	y = x ? float_operand(g, n.op, "b", b) : NULL;
	if (!y || (ax = axis_of(g, n.op, x, axis)) < 0)
		return -EINVAL;
	st_shape_format(&x->shape, sx, sizeof(sx));
	st_shape_format(&y->shape, sy, sizeof(sy));
	if (x->shape.ndim != y->shape.ndim)
		return st_graph_fail(g, -EINVAL, "concat: a is %s and b is %s: dimension counts differ", sx, sy);
	for (i = 0; i < x->shape.ndim; i++)
		if ((int)i != ax && x->shape.dim[i] != y->shape.dim[i])
			return st_graph_fail(g, -EINVAL, "concat: a is %s and b is %s: dimension %u differs", sx, sy, i);
	if (x->shape.dim[ax] == ST_DIM_SEQ || y->shape.dim[ax] == ST_DIM_SEQ)
		return st_graph_fail(g, -EINVAL, "concat: a is %s and b is %s: axis %d is the symbolic one", sx, sy, ax);
	n.p.axis = ax;
	n.shape = x->shape;
	n.shape.dim[ax] += y->shape.dim[ax];
	return append(g, &n, out);
}

int strata_graph_argmax(struct strata_graph *g, uint32_t a, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_ARGMAX, .dtype = STRATA_DTYPE_I32 };

	if (!begin(g, out) || !over(g, &n, a))
		return -EINVAL;
	n.shape.dim[n.shape.ndim - 1] = 1;
	return append(g, &n, out);
}

int strata_graph_embedding(struct strata_graph *g, uint32_t table, uint32_t ids, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_EMBEDDING, .dtype = STRATA_DTYPE_F32, .src = { table, ids }, .nsrc = 2 };
	const struct st_node *t, *i;
	char st[64], si[64];

	if (!begin(g, out))
		return -EINVAL;
	t = float_operand(g, n.op, "table", table);
	i = t ? operand(g, n.op, "ids", ids) : NULL;
	if (!i)
		return -EINVAL;
	st_shape_format(&t->shape, st, sizeof(st));
	st_shape_format(&i->shape, si, sizeof(si));
	if (i->dtype != STRATA_DTYPE_I32)
		return st_graph_fail(g, -EINVAL, "embedding: ids %s hold %s values, not i32", si, dtype_name(i->dtype));
	/* The rows may be the symbolic dimension: picking the last row of a
	 * prompt's hidden states is a gather too. */
	if (t->shape.ndim != 2 || t->shape.dim[1] == ST_DIM_SEQ)
		return st_graph_fail(g, -EINVAL, "embedding: table is %s; it must be [rows, width]", st);
	if (i->shape.ndim + 1 > ST_MAX_DIMS)
		return st_graph_fail(g, -EINVAL, "embedding: ids %s leave no room for the row width", si);
	n.shape = i->shape;
	n.shape.dim[n.shape.ndim++] = t->shape.dim[1];
	return append(g, &n, out);
}

int strata_graph_state(struct strata_graph *g, const char *name, unsigned ndim, const int64_t *shape, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_STATE, .dtype = STRATA_DTYPE_F32 };
	int err;

	if (!begin(g, out))
		return -EINVAL;
	err = shape_arg(g, n.op, ndim, shape, false, &n.shape);
	if (err)
		return err;
	set_name(&n, name);
	return append(g, &n, out);
}

int strata_graph_write_rows(struct strata_graph *g, uint32_t state, uint32_t value, uint32_t pos, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_WRITE_ROWS, .dtype = STRATA_DTYPE_F32, .src = { state, value, pos }, .nsrc = 3 };
	const struct st_node *s, *v;
	char ss[64], sv[64];
	unsigned i;

	if (!begin(g, out))
		return -EINVAL;
	s = operand(g, n.op, "state", state);
	v = s ? float_operand(g, n.op, "value", value) : NULL;
	if (!v)
		return -EINVAL;
	if (s->op != STRATA_OP_STATE)
		return st_graph_fail(g, -EINVAL, "write_rows: state (node %u) is %s, not a state", state, st_op_name(s->op));
	for (i = 0; i < g->n; i++)
		if (g->nodes[i].op == STRATA_OP_WRITE_ROWS && g->nodes[i].src[0] == state)
			return st_graph_fail(g, -EINVAL, "write_rows: state %s (node %u) is written already (node %u); one write "
							 "per state and run",
					     s->name, state, i);
	st_shape_format(&s->shape, ss, sizeof(ss));
	st_shape_format(&v->shape, sv, sizeof(sv));
	if (v->shape.ndim != s->shape.ndim)
		return st_graph_fail(g, -EINVAL, "write_rows: state is %s and value %s: the ranks differ", ss, sv);
	for (i = 1; i < s->shape.ndim; i++)
		if (v->shape.dim[i] != s->shape.dim[i])
			return st_graph_fail(g, -EINVAL, "write_rows: state is %s and value %s: rows differ in dimension %u",
					     ss, sv, i);
	if (!positions(g, n.op, pos, v->shape.dim[0]))
		return -EINVAL;
	n.shape = s->shape;
	return append(g, &n, out);
}

int strata_graph_attention(struct strata_graph *g, uint32_t q, uint32_t k, uint32_t v, uint32_t pos, float scale,
			   uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_ATTENTION, .dtype = STRATA_DTYPE_F32, .src = { q, k, v, pos }, .nsrc = 4 };
	const struct st_node *qn, *kn, *vn;
	char sq[64], sk[64], sv[64];

	if (!begin(g, out))
		return -EINVAL;
	qn = float_operand(g, n.op, "q", q);
	kn = qn ? operand(g, n.op, "k", k) : NULL;
	vn = kn ? operand(g, n.op, "v", v) : NULL;
	if (!vn)
		return -EINVAL;
	st_shape_format(&qn->shape, sq, sizeof(sq));
	st_shape_format(&kn->shape, sk, sizeof(sk));
	st_shape_format(&vn->shape, sv, sizeof(sv));
	if (kn->op != STRATA_OP_WRITE_ROWS || vn->op != STRATA_OP_WRITE_ROWS)
		return st_graph_fail(g, -EINVAL, "attention: k and v are %s and %s; both must be written caches (write_rows)",
				     st_op_name(kn->op), st_op_name(vn->op));
	if (qn->shape.ndim != 3 || kn->shape.ndim != 3 || !st_shape_equal(&kn->shape, &vn->shape) ||
	    qn->shape.dim[2] != kn->shape.dim[2] || qn->shape.dim[1] % kn->shape.dim[1])
		return st_graph_fail(g, -EINVAL,
				     "attention: q is %s, k %s, v %s; q is [seq, H, D] and k, v [C, KVH, D] with the same "
				     "D and H a multiple of KVH",
				     sq, sk, sv);
	if (!(scale > 0))
		return st_graph_fail(g, -EINVAL, "attention: scale %g is not > 0", (double)scale);
	if (!positions(g, n.op, pos, qn->shape.dim[0]))
		return -EINVAL;
	n.p.scale = scale;
	n.shape = qn->shape;
	return append(g, &n, out);
}

int strata_graph_cast(struct strata_graph *g, uint32_t a, enum strata_dtype dtype, uint32_t *out)
{
	struct st_node n = { .op = STRATA_OP_CAST, .dtype = dtype, .src = { a }, .nsrc = 1 };
	const struct st_node *x;

	if (!begin(g, out))
		return -EINVAL;
	x = operand(g, n.op, "a", a);
	if (!x)
		return -EINVAL;
	if ((dtype != STRATA_DTYPE_F32 && dtype != STRATA_DTYPE_I32) ||
	    (x->dtype != STRATA_DTYPE_I32 && !is_float(x->dtype)))
		return st_graph_fail(g, -EINVAL, "cast: from %s to %s; casts go between f32 and i32",
				     dtype_name(x->dtype), dtype_name(dtype));
	n.shape = x->shape;
	return append(g, &n, out);
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
