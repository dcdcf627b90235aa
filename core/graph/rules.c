/* SPDX-License-Identifier: MIT */
/*
 * core/graph/rules.c — the shape rules of the op table (ops.def): for a
 * node whose op, sources and parameters are set, check the sources (that
 * they exist, their types, their shapes) and set the node's shape and
 * type.  A refused node says why in the graph's error text, naming the op
 * and the shapes involved.
 */
#include <errno.h>
#include <math.h>

#include "base/base.h"
#include "core/graph/graph_int.h"
#include "core/graph/op.h"

const char *st_dtype_name(enum strata_dtype t)
{
	struct strata_dtype_info info;

	return strata_dtype_info(t, &info) ? "an unknown type" : info.name;
}

bool st_dtype_block(enum strata_dtype t)
{
	return t == STRATA_DTYPE_Q8_0 || t == STRATA_DTYPE_Q4_0 || t == STRATA_DTYPE_Q4_1;
}

bool st_dtype_float(enum strata_dtype t)
{
	return t == STRATA_DTYPE_F32 || t == STRATA_DTYPE_F16 || t == STRATA_DTYPE_BF16 || st_dtype_block(t);
}

enum sk_fmt st_dtype_fmt(enum strata_dtype t)
{
	return t == STRATA_DTYPE_F16	? SK_F16
	       : t == STRATA_DTYPE_BF16 ? SK_BF16
	       : t == STRATA_DTYPE_Q8_0 ? SK_Q8_0
	       : t == STRATA_DTYPE_Q4_0 ? SK_Q4_0
	       : t == STRATA_DTYPE_Q4_1 ? SK_Q4_1
					: SK_F32;
}

int st_graph_shape_arg(struct strata_graph *g, enum strata_op op, unsigned ndim, const int64_t *dims, bool allow_seq,
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

/* Source @i of @n, called @role in messages ("a", "x"). */
static const struct st_node *operand(struct strata_graph *g, const struct st_node *n, unsigned i, const char *role)
{
	uint32_t id = n->src[i];

	if (id >= g->n) {
		st_graph_fail(g, -EINVAL, "%s: %s is node %u, but the graph has %u nodes", st_op_name(n->op), role, id,
			      g->n);
		return NULL;
	}
	return &g->nodes[id];
}

/* A float source, or a message saying it is not. */
static const struct st_node *float_operand(struct strata_graph *g, const struct st_node *n, unsigned i,
					   const char *role)
{
	const struct st_node *x = operand(g, n, i, role);

	if (x && !st_dtype_float(x->dtype)) {
		st_graph_fail(g, -EINVAL, "%s: %s (node %u, %s) holds %s values, not floating point", st_op_name(n->op),
			      role, n->src[i], x->name[0] ? x->name : st_op_name(x->op), st_dtype_name(x->dtype));
		return NULL;
	}
	return x;
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

/* Source @i, i32 [rows] positions, as long as @rows of the first source. */
static const struct st_node *positions(struct strata_graph *g, const struct st_node *n, unsigned i, int64_t rows)
{
	const struct st_node *p = operand(g, n, i, "pos");
	char sp[64];

	if (!p)
		return NULL;
	st_shape_format(&p->shape, sp, sizeof(sp));
	if (p->dtype != STRATA_DTYPE_I32 || p->shape.ndim != 1 || p->shape.dim[0] != rows) {
		st_graph_fail(g, -EINVAL, "%s: pos is %s %s; pos must be i32, one per row (%s)", st_op_name(n->op),
			      st_dtype_name(p->dtype), sp, rows == ST_DIM_SEQ ? "[seq]" : "as many as the rows");
		return NULL;
	}
	return p;
}

static int shape_leaf(struct strata_graph *g, struct st_node *n)
{
	return st_graph_fail(g, -EINVAL, "%s: made by strata_graph_%s(), not as an op", st_op_name(n->op),
			     st_op_name(n->op));
}

static int shape_binary(struct strata_graph *g, struct st_node *n)
{
	const struct st_node *x = float_operand(g, n, 0, "a");
	const struct st_node *y = x ? float_operand(g, n, 1, "b") : NULL;
	char sa[64], sb[64];

	if (!y)
		return -EINVAL;
	n->dtype = STRATA_DTYPE_F32;
	if (!st_shape_broadcast(&x->shape, &y->shape, &n->shape))
		return 0;
	st_shape_format(&x->shape, sa, sizeof(sa));
	st_shape_format(&y->shape, sb, sizeof(sb));
	return st_graph_fail(g, -EINVAL, "%s: a is %s and b is %s: the shapes do not broadcast", st_op_name(n->op), sa,
			     sb);
}

/* One float source, the shape kept: element-wise ops and softmax. */
static int shape_unary(struct strata_graph *g, struct st_node *n)
{
	const struct st_node *x = float_operand(g, n, 0, "a");

	if (!x)
		return -EINVAL;
	if (st_op(n->op)->param == ST_PARAM_VALUE && (!isfinite(n->p.value) || n->p.value == 0))
		return st_graph_fail(g, -EINVAL, "%s: its number is %g; it must be finite and not 0", st_op_name(n->op),
				     (double)n->p.value);
	n->dtype = STRATA_DTYPE_F32;
	n->shape = x->shape;
	return 0;
}

static int shape_reduce(struct strata_graph *g, struct st_node *n)
{
	const struct st_node *x = float_operand(g, n, 0, "a");

	if (!x || (n->p.axis = axis_of(g, n->op, x, n->p.axis)) < 0)
		return -EINVAL;
	n->dtype = STRATA_DTYPE_F32;
	n->shape = x->shape;
	n->shape.dim[n->p.axis] = 1;
	return 0;
}

static int check_eps(struct strata_graph *g, const struct st_node *n)
{
	if (n->p.eps > 0 && isfinite(n->p.eps))
		return 0;
	return st_graph_fail(g, -EINVAL, "%s: eps is %g; it must be positive and finite", st_op_name(n->op),
			     (double)n->p.eps);
}

static int shape_rmsnorm(struct strata_graph *g, struct st_node *n)
{
	const struct st_node *v = float_operand(g, n, 0, "x");
	const struct st_node *w = v ? float_operand(g, n, 1, "weight") : NULL;
	int err;

	if (!w)
		return -EINVAL;
	if ((err = row_vector(g, n->op, "weight", v, w)) || (err = check_eps(g, n)))
		return err;
	n->dtype = STRATA_DTYPE_F32;
	n->shape = v->shape;
	return 0;
}

static int shape_layernorm(struct strata_graph *g, struct st_node *n)
{
	const struct st_node *v = float_operand(g, n, 0, "x");
	const struct st_node *w = v ? float_operand(g, n, 1, "weight") : NULL, *b = NULL;
	int err;

	if (!w)
		return -EINVAL;
	if (n->nsrc == 3 && !(b = float_operand(g, n, 2, "bias")))
		return -EINVAL;
	err = row_vector(g, n->op, "weight", v, w);
	if (!err && b)
		err = row_vector(g, n->op, "bias", v, b);
	if (err || (err = check_eps(g, n)))
		return err;
	n->dtype = STRATA_DTYPE_F32;
	n->shape = v->shape;
	return 0;
}

static int shape_rope(struct strata_graph *g, struct st_node *n)
{
	const struct st_node *v = float_operand(g, n, 0, "x");
	char sx[64];

	if (!v)
		return -EINVAL;
	st_shape_format(&v->shape, sx, sizeof(sx));
	if (v->shape.ndim != 3 || v->shape.dim[2] == ST_DIM_SEQ || v->shape.dim[2] % 2)
		return st_graph_fail(g, -EINVAL, "rope: x is %s; it must be [seq, heads, head_dim] with an even head_dim",
				     sx);
	if (!positions(g, n, 1, v->shape.dim[0]))
		return -EINVAL;
	if (!(n->p.rope.theta > 1) || !isfinite(n->p.rope.theta))
		return st_graph_fail(g, -EINVAL, "rope: theta is %g; it must be finite and above 1",
				     (double)n->p.rope.theta);
	if (n->p.rope.layout != STRATA_ROPE_HALF && n->p.rope.layout != STRATA_ROPE_ADJACENT)
		return st_graph_fail(g, -EINVAL, "rope: unknown layout %u", n->p.rope.layout);
	n->dtype = STRATA_DTYPE_F32;
	n->shape = v->shape;
	return 0;
}

static int shape_attention(struct strata_graph *g, struct st_node *n)
{
	const struct st_node *qn = float_operand(g, n, 0, "q");
	const struct st_node *kn = qn ? operand(g, n, 1, "k") : NULL;
	const struct st_node *vn = kn ? operand(g, n, 2, "v") : NULL;
	char sq[64], sk[64], sv[64];

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
	if (!(n->p.scale > 0))
		return st_graph_fail(g, -EINVAL, "attention: scale %g is not > 0", (double)n->p.scale);
	if (!positions(g, n, 3, qn->shape.dim[0]))
		return -EINVAL;
	n->dtype = STRATA_DTYPE_F32;
	n->shape = qn->shape;
	return 0;
}

static int shape_matmul(struct strata_graph *g, struct st_node *n)
{
	const struct st_node *x = float_operand(g, n, 0, "a");
	const struct st_node *y = x ? float_operand(g, n, 1, "b") : NULL;
	const bool trans = n->p.flags & STRATA_MATMUL_TRANS_B;
	const struct st_shape *sa, *sb;
	char ta[64], tb[64];
	int64_t k_a, k_b, cols;
	unsigned i;

	if (n->p.flags & ~STRATA_MATMUL_TRANS_B)
		return st_graph_fail(g, -EINVAL, "matmul: unknown flags 0x%x", n->p.flags & ~STRATA_MATMUL_TRANS_B);
	if (!y)
		return -EINVAL;
	sa = &x->shape;
	sb = &y->shape;
	st_shape_format(sa, ta, sizeof(ta));
	st_shape_format(sb, tb, sizeof(tb));
	if (sa->ndim < 2 || sb->ndim < 2)
		return st_graph_fail(g, -EINVAL, "matmul: a is %s and b is %s: both need at least 2 dimensions", ta, tb);
	k_a = sa->dim[sa->ndim - 1];
	k_b = trans ? sb->dim[sb->ndim - 1] : sb->dim[sb->ndim - 2];
	cols = trans ? sb->dim[sb->ndim - 2] : sb->dim[sb->ndim - 1];
	if (k_a != k_b)
		return st_graph_fail(g, -EINVAL, "matmul: a is %s and b is %s%s: inner dimensions %lld and %lld differ", ta,
				     tb, trans ? " (transposed)" : "", (long long)k_a, (long long)k_b);
	if (sb->ndim > 2) {
		bool same = sb->ndim == sa->ndim;

		for (i = 0; same && i + 2 < sa->ndim; i++)
			same = sa->dim[i] == sb->dim[i];
		if (!same)
			return st_graph_fail(g, -EINVAL,
					     "matmul: a is %s and b is %s: batch dimensions differ (b may also be 2-D)", ta,
					     tb);
	}
	n->dtype = STRATA_DTYPE_F32;
	n->shape = *sa;
	n->shape.dim[sa->ndim - 1] = cols;
	return 0;
}

/* The node's shape is the one asked for, checked by st_graph_shape_arg(). */
static int shape_reshape(struct strata_graph *g, struct st_node *n)
{
	const struct st_node *x = operand(g, n, 0, "a");
	char sa[64], ss[64];

	if (!x)
		return -EINVAL;
	st_shape_format(&x->shape, sa, sizeof(sa));
	st_shape_format(&n->shape, ss, sizeof(ss));
	/* With seq bound to 1 and to 2 the counts must agree: equal fixed
	 * parts, and seq on both sides or on neither. */
	if (st_shape_elems(&x->shape, 1) != st_shape_elems(&n->shape, 1) ||
	    st_shape_symbolic(&x->shape) != st_shape_symbolic(&n->shape))
		return st_graph_fail(g, -EINVAL, "reshape: a is %s, which cannot be viewed as %s", sa, ss);
	n->dtype = x->dtype;
	return 0;
}

static int shape_permute(struct strata_graph *g, struct st_node *n)
{
	const struct st_node *x = operand(g, n, 0, "a");
	unsigned i, seen = 0;

	if (!x)
		return -EINVAL;
	for (i = 0; i < x->shape.ndim; i++) {
		unsigned p = n->p.perm[i];

		if (p >= x->shape.ndim || (seen & (1u << p))) {
			char sa[64];

			st_shape_format(&x->shape, sa, sizeof(sa));
			return st_graph_fail(g, -EINVAL, "permute: a is %s; entry %u of the permutation (%u) %s", sa, i, p,
					     p >= x->shape.ndim ? "is not one of its dimensions" : "repeats");
		}
		seen |= 1u << p;
		n->shape.dim[i] = x->shape.dim[p];
	}
	n->shape.ndim = x->shape.ndim;
	n->dtype = x->dtype;
	return 0;
}

static int shape_slice(struct strata_graph *g, struct st_node *n)
{
	const struct st_node *x = operand(g, n, 0, "a");
	int64_t start = n->p.slice.start, len = n->p.slice.len;
	char sx[64];
	int ax;

	if (!x || (ax = axis_of(g, n->op, x, n->p.slice.axis)) < 0)
		return -EINVAL;
	st_shape_format(&x->shape, sx, sizeof(sx));
	if (x->shape.dim[ax] == ST_DIM_SEQ)
		return st_graph_fail(g, -EINVAL, "slice: a is %s; axis %d is the symbolic one", sx, ax);
	if (start < 0 || len < 1 || start > x->shape.dim[ax] - len)
		return st_graph_fail(g, -EINVAL, "slice: a is %s; %lld entries from %lld do not fit in axis %d", sx,
				     (long long)len, (long long)start, ax);
	n->p.slice.axis = ax;
	n->shape = x->shape;
	n->shape.dim[ax] = len;
	n->dtype = x->dtype;
	return 0;
}

static int shape_concat(struct strata_graph *g, struct st_node *n)
{
	const struct st_node *x = float_operand(g, n, 0, "a");
	const struct st_node *y = x ? float_operand(g, n, 1, "b") : NULL;
	char sx[64], sy[64];
	unsigned i;
	int ax;

	if (!y || (ax = axis_of(g, n->op, x, n->p.axis)) < 0)
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
	n->p.axis = ax;
	n->dtype = STRATA_DTYPE_F32;
	n->shape = x->shape;
	n->shape.dim[ax] += y->shape.dim[ax];
	return 0;
}

static int shape_argmax(struct strata_graph *g, struct st_node *n)
{
	const struct st_node *x = float_operand(g, n, 0, "a");

	if (!x)
		return -EINVAL;
	n->dtype = STRATA_DTYPE_I32;
	n->shape = x->shape;
	n->shape.dim[n->shape.ndim - 1] = 1;
	return 0;
}

static int shape_embedding(struct strata_graph *g, struct st_node *n)
{
	const struct st_node *t = float_operand(g, n, 0, "table");
	const struct st_node *i = t ? operand(g, n, 1, "ids") : NULL;
	char st[64], si[64];

	if (!i)
		return -EINVAL;
	st_shape_format(&t->shape, st, sizeof(st));
	st_shape_format(&i->shape, si, sizeof(si));
	if (i->dtype != STRATA_DTYPE_I32)
		return st_graph_fail(g, -EINVAL, "embedding: ids %s hold %s values, not i32", si, st_dtype_name(i->dtype));
	/* The rows may be the symbolic dimension: picking the last row of a
	 * prompt's hidden states is a gather too. */
	if (t->shape.ndim != 2 || t->shape.dim[1] == ST_DIM_SEQ)
		return st_graph_fail(g, -EINVAL, "embedding: table is %s; it must be [rows, width]", st);
	if (i->shape.ndim + 1 > ST_MAX_DIMS)
		return st_graph_fail(g, -EINVAL, "embedding: ids %s leave no room for the row width", si);
	n->dtype = STRATA_DTYPE_F32;
	n->shape = i->shape;
	n->shape.dim[n->shape.ndim++] = t->shape.dim[1];
	return 0;
}

static int shape_write_rows(struct strata_graph *g, struct st_node *n)
{
	const struct st_node *s = operand(g, n, 0, "state");
	const struct st_node *v = s ? float_operand(g, n, 1, "value") : NULL;
	char ss[64], sv[64];
	unsigned i;

	if (!v)
		return -EINVAL;
	if (s->op != STRATA_OP_STATE)
		return st_graph_fail(g, -EINVAL, "write_rows: state (node %u) is %s, not a state", n->src[0],
				     st_op_name(s->op));
	for (i = 0; i < g->n; i++)
		if (g->nodes[i].op == STRATA_OP_WRITE_ROWS && g->nodes[i].src[0] == n->src[0])
			return st_graph_fail(g, -EINVAL, "write_rows: state %s (node %u) is written already (node %u); one write "
							 "per state and run",
					     s->name, n->src[0], i);
	st_shape_format(&s->shape, ss, sizeof(ss));
	st_shape_format(&v->shape, sv, sizeof(sv));
	if (v->shape.ndim != s->shape.ndim)
		return st_graph_fail(g, -EINVAL, "write_rows: state is %s and value %s: the ranks differ", ss, sv);
	for (i = 1; i < s->shape.ndim; i++)
		if (v->shape.dim[i] != s->shape.dim[i])
			return st_graph_fail(g, -EINVAL, "write_rows: state is %s and value %s: rows differ in dimension %u",
					     ss, sv, i);
	if (!positions(g, n, 2, v->shape.dim[0]))
		return -EINVAL;
	n->dtype = STRATA_DTYPE_F32;
	n->shape = s->shape;
	return 0;
}

/* The node's type is the one asked for. */
static int shape_cast(struct strata_graph *g, struct st_node *n)
{
	const struct st_node *x = operand(g, n, 0, "a");

	if (!x)
		return -EINVAL;
	if ((n->dtype != STRATA_DTYPE_F32 && n->dtype != STRATA_DTYPE_I32) ||
	    (x->dtype != STRATA_DTYPE_I32 && !st_dtype_float(x->dtype)))
		return st_graph_fail(g, -EINVAL, "cast: from %s to %s; casts go between f32 and i32",
				     st_dtype_name(x->dtype), st_dtype_name(n->dtype));
	n->shape = x->shape;
	return 0;
}

int st_graph_add(struct strata_graph *g, struct st_node *n, uint32_t *out)
{
	const struct st_op_info *o = st_op(n->op);
	int err = -EINVAL;

	if (!o)
		return st_graph_fail(g, -EINVAL, "op %d is not an op", (int)n->op);
	if (n->nsrc < o->lo || n->nsrc > o->hi)
		return o->hi > o->lo ? st_graph_fail(g, -EINVAL, "%s: %u operands; it takes %u to %u", o->name, n->nsrc,
						     o->lo, o->hi)
				     : st_graph_fail(g, -EINVAL, "%s: %u operands; it takes %u", o->name, n->nsrc, o->lo);
	switch (n->op) {
#define ST_OP(E, name, lo, hi, fuse, param, shape, ...) \
	case STRATA_OP_##E: err = shape(g, n); break;
#include "core/graph/ops.def"
	}
	return err ? err : st_graph_append(g, n, out);
}
