/* SPDX-License-Identifier: MIT */
/*
 * core/graph/interp.c — the reference interpreter: every node evaluated in
 * graph order into a buffer of its own, with plain loops and no cleverness
 * (sums in double), so that it is obviously right.  Generated kernels are
 * tested against it; it is not meant to be fast.
 *
 * Values are 4-byte elements: f32 for every computed node, i32 for token
 * ids, positions and argmax (and views of them).  Weights stored as f16,
 * bf16 or the GGUF block formats are widened to f32 when the run starts
 * (the reference may; generated kernels unpack blocks inside the loop).
 * Widening is the kernels' sk_unpack(), checked against the formats'
 * definitions by tests/core/test_kernels.c.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "base/base.h"
#include "core/graph/graph_int.h"
#include "core/graph/kernels/packed.h"
#include "core/graph/kernels/unpack.h"

/* Shapes bound to a sequence length and padded on the left to 4 dims. */
struct dims4 {
	int64_t d[ST_MAX_DIMS];
};

struct run {
	struct strata_graph *g;
	uint32_t seq;
	void **val; /* per node, elements of 4 bytes */
	bool *needed; /* the nodes the requested outputs depend on */
	void **state; /* kept states, or NULL */
};

static struct dims4 bind(const struct st_shape *s, uint32_t seq)
{
	struct dims4 r;
	unsigned pad = ST_MAX_DIMS - s->ndim, i;

	for (i = 0; i < ST_MAX_DIMS; i++)
		r.d[i] = i < pad ? 1 : (s->dim[i - pad] == ST_DIM_SEQ ? (int64_t)seq : s->dim[i - pad]);
	return r;
}

/* A weight widened to f32 by the kernels' own sk_unpack() (its plain C
 * path here: the unit tests check it against the formats' definitions).
 * A lent weight's rows in tiles a program packed in place are read back
 * by kernels/packed.h, which wrote them. */
static void widen(const struct st_node *n, const void *data, float *out, uint64_t count)
{
	const enum sk_fmt f = st_dtype_fmt(n->dtype);
	const int64_t k = n->shape.dim[n->shape.ndim - 1];

	if (!n->lent_tiles) {
		sk_unpack(data, out, (int64_t)count, f);
		return;
	}
	for (int64_t r = 0; r < (int64_t)count / k; r++, out += k) {
		if (sk_tile_packed(n->lent_tiles, r))
			sk_unpack_packed(data, r, out, k, f);
		else
			sk_unpack((const uint8_t *)data + (size_t)(r * (k / 32) * sk_block_bytes(f)), out, k, f);
	}
}

/* A weight's bytes: its data, or, streamed, the bound load's once loaded. */
static int weight_data(struct run *r, const struct st_node *n, const void **data)
{
	void *p;
	int err;

	*data = n->data;
	if (!n->stream)
		return 0;
	if (!r->g->load)
		return st_graph_fail(r->g, -EINVAL, "weight %s is streamed, and no load is bound (strata_graph_bind_load)",
				     n->name);
	err = strata_load_wait_tensor(r->g->load, n->stream - 1, -1);
	if (!err)
		err = strata_load_tensor_data(r->g->load, n->stream - 1, &p);
	if (err)
		return st_graph_fail(r->g, err, "weight %s did not load: %s", n->name, strata_strerror(err));
	*data = p;
	return 0;
}

/* The reference value of an element-wise op (ops.def's ref column), in
 * double: x and y its sources, c its number. */
static double ref_value(enum strata_op op, double x, double y, double c)
{
	switch (op) {
#define ST_OP(E, name, lo, hi, fuse, param, shape, eval, ref, ...) \
	case STRATA_OP_##E: return (ref);
#include "core/graph/ops.def"
	}
	return NAN;
}

/* Strides of @in (padded) as seen from a broadcast to @out: 0 where it
 * stretches. */
static void broadcast_strides(const struct dims4 *in, const struct dims4 *out, int64_t *stride)
{
	int64_t s = 1;
	int i;

	for (i = ST_MAX_DIMS - 1; i >= 0; i--) {
		stride[i] = in->d[i] == 1 && out->d[i] != 1 ? 0 : s;
		s *= in->d[i];
	}
}

static int eval_binary(struct run *r, const struct st_node *n, void *out_, uint64_t count)
{
	float *out = out_;
	const struct st_node *a = &r->g->nodes[n->src[0]], *b = &r->g->nodes[n->src[1]];
	struct dims4 o = bind(&n->shape, r->seq), da = bind(&a->shape, r->seq), db = bind(&b->shape, r->seq);
	const float *x = r->val[n->src[0]], *y = r->val[n->src[1]];
	int64_t sa[ST_MAX_DIMS], sb[ST_MAX_DIMS], i0, i1, i2, i3, k = 0;

	broadcast_strides(&da, &o, sa);
	broadcast_strides(&db, &o, sb);
	for (i0 = 0; i0 < o.d[0]; i0++)
		for (i1 = 0; i1 < o.d[1]; i1++)
			for (i2 = 0; i2 < o.d[2]; i2++)
				for (i3 = 0; i3 < o.d[3]; i3++)
					out[k++] = (float)ref_value(n->op, x[i0 * sa[0] + i1 * sa[1] + i2 * sa[2] + i3 * sa[3]],
								    y[i0 * sb[0] + i1 * sb[1] + i2 * sb[2] + i3 * sb[3]], 0);
	(void)count;
	return 0;
}

static int eval_unary(struct run *r, const struct st_node *n, void *out, uint64_t count)
{
	const float *x = r->val[n->src[0]];
	uint64_t i;

	for (i = 0; i < count; i++)
		((float *)out)[i] = (float)ref_value(n->op, x[i], 0, n->p.value);
	return 0;
}

static int eval_reduce(struct run *r, const struct st_node *n, void *out_, uint64_t count)
{
	float *out = out_;
	const struct st_node *a = &r->g->nodes[n->src[0]];
	struct dims4 d = bind(&a->shape, r->seq);
	unsigned axis = (unsigned)n->p.axis + (ST_MAX_DIMS - a->shape.ndim);
	int64_t outer = 1, inner = 1, len = d.d[axis], o, i, j;
	const float *x = r->val[n->src[0]];
	unsigned k;

	for (k = 0; k < axis; k++)
		outer *= d.d[k];
	for (k = axis + 1; k < ST_MAX_DIMS; k++)
		inner *= d.d[k];
	for (o = 0; o < outer; o++)
		for (i = 0; i < inner; i++) {
			double acc = n->op == STRATA_OP_REDUCE_MAX ? -INFINITY : 0;

			for (j = 0; j < len; j++) {
				double v = x[(o * len + j) * inner + i];

				acc = n->op == STRATA_OP_REDUCE_MAX ? (v > acc ? v : acc) : acc + v;
			}
			out[o * inner + i] = (float)(n->op == STRATA_OP_MEAN ? acc / (double)len : acc);
		}
	(void)count;
	return 0;
}

/* @s as rows of its last dimension: how many, and how long. */
static void rows_of(const struct st_shape *s, uint32_t seq, int64_t *rows, int64_t *len)
{
	*len = bind(s, seq).d[ST_MAX_DIMS - 1];
	*rows = (int64_t)st_shape_elems(s, seq) / *len;
}

/* Softmax and the normalisations, one row of the last axis at a time. */
static int eval_rows(struct run *r, const struct st_node *n, void *out_, uint64_t count)
{
	float *out = out_;
	int64_t rows, len, i, j;
	const float *x = r->val[n->src[0]];
	const float *w = n->op != STRATA_OP_SOFTMAX ? r->val[n->src[1]] : NULL;
	const float *bias = n->op == STRATA_OP_LAYERNORM && n->nsrc == 3 ? r->val[n->src[2]] : NULL;

	rows_of(&r->g->nodes[n->src[0]].shape, r->seq, &rows, &len);

	for (i = 0; i < rows; i++) {
		const float *row = x + i * len;
		float *dst = out + i * len;
		double acc = 0, m = -INFINITY;

		if (n->op == STRATA_OP_SOFTMAX) {
			for (j = 0; j < len; j++)
				m = row[j] > m ? row[j] : m;
			for (j = 0; j < len; j++)
				acc += exp((double)row[j] - m);
			for (j = 0; j < len; j++)
				dst[j] = (float)(exp((double)row[j] - m) / acc);
		} else if (n->op == STRATA_OP_RMSNORM) {
			double scale;

			for (j = 0; j < len; j++)
				acc += (double)row[j] * row[j];
			scale = 1.0 / sqrt(acc / (double)len + n->p.eps);
			for (j = 0; j < len; j++)
				dst[j] = (float)(row[j] * scale * w[j]);
		} else {
			double mean, var = 0, scale;

			for (j = 0; j < len; j++)
				acc += row[j];
			mean = acc / (double)len;
			for (j = 0; j < len; j++)
				var += (row[j] - mean) * (row[j] - mean);
			scale = 1.0 / sqrt(var / (double)len + n->p.eps);
			for (j = 0; j < len; j++)
				dst[j] = (float)((row[j] - mean) * scale * w[j] + (bias ? bias[j] : 0.0));
		}
	}
	(void)count;
	return 0;
}

static int eval_matmul(struct run *r, const struct st_node *n, void *out_, uint64_t count)
{
	float *out = out_;
	const struct st_node *a = &r->g->nodes[n->src[0]], *b = &r->g->nodes[n->src[1]];
	struct dims4 da = bind(&a->shape, r->seq), db = bind(&b->shape, r->seq);
	int64_t m_n = da.d[2], k_n = da.d[3], batch = da.d[0] * da.d[1], bi, i, j, k;
	bool trans = n->p.flags & STRATA_MATMUL_TRANS_B, shared = b->shape.ndim == 2;
	int64_t cols = trans ? db.d[2] : db.d[3];
	const float *x = r->val[n->src[0]], *y = r->val[n->src[1]];

	for (bi = 0; bi < batch; bi++) {
		const float *xa = x + bi * m_n * k_n, *yb = y + (shared ? 0 : bi * k_n * cols);
		float *c = out + bi * m_n * cols;

		for (i = 0; i < m_n; i++)
			for (j = 0; j < cols; j++) {
				double acc = 0;

				for (k = 0; k < k_n; k++)
					acc += (double)xa[i * k_n + k] * (trans ? yb[j * k_n + k] : yb[k * cols + j]);
				c[i * cols + j] = (float)acc;
			}
	}
	(void)count;
	return 0;
}

static int eval_permute(struct run *r, const struct st_node *n, void *out_, uint64_t count)
{
	uint32_t *out = out_;
	const struct st_node *a = &r->g->nodes[n->src[0]];
	const uint32_t *x = r->val[n->src[0]];
	unsigned nd = a->shape.ndim, i;
	int64_t in_dim[ST_MAX_DIMS], in_stride[ST_MAX_DIMS], coord[ST_MAX_DIMS] = { 0 }, s = 1;
	uint64_t total = st_shape_elems(&n->shape, r->seq), k;

	for (i = nd; i-- > 0;) {
		in_dim[i] = a->shape.dim[i] == ST_DIM_SEQ ? (int64_t)r->seq : a->shape.dim[i];
		in_stride[i] = s;
		s *= in_dim[i];
	}
	/* Walk the output in order; its dimension i is the input's perm[i]. */
	for (k = 0; k < total; k++) {
		int64_t src = 0;

		for (i = 0; i < nd; i++)
			src += coord[i] * in_stride[n->p.perm[i]];
		out[k] = x[src];
		for (i = nd; i-- > 0;) {
			if (++coord[i] < in_dim[n->p.perm[i]])
				break;
			coord[i] = 0;
		}
	}
	(void)count;
	return 0;
}

static int eval_rope(struct run *r, const struct st_node *n, void *out_, uint64_t count)
{
	float *out = out_;
	struct dims4 d = bind(&n->shape, r->seq);
	int64_t rows = d.d[1], heads = d.d[2], dim = d.d[3], half = dim / 2, s, h, i;
	const float *x = r->val[n->src[0]];
	const int32_t *pos = r->val[n->src[1]];

	for (s = 0; s < rows; s++)
		for (h = 0; h < heads; h++) {
			const float *src = x + (s * heads + h) * dim;
			float *dst = out + (s * heads + h) * dim;

			for (i = 0; i < half; i++) {
				double angle = (double)pos[s] * pow((double)n->p.rope.theta, -2.0 * (double)i / (double)dim);
				int64_t lo = n->p.rope.layout == STRATA_ROPE_ADJACENT ? 2 * i : i;
				int64_t hi = n->p.rope.layout == STRATA_ROPE_ADJACENT ? 2 * i + 1 : i + half;
				double c = cos(angle), sn = sin(angle);

				dst[lo] = (float)(src[lo] * c - src[hi] * sn);
				dst[hi] = (float)(src[lo] * sn + src[hi] * c);
			}
		}
	(void)count;
	return 0;
}

/* The dimensions before @axis, at it, and after it, bound. */
static void split_at(const struct st_shape *s, uint32_t seq, int axis, int64_t *outer, int64_t *len, int64_t *inner)
{
	unsigned i;

	*outer = *inner = *len = 1;
	for (i = 0; i < s->ndim; i++) {
		int64_t v = s->dim[i] == ST_DIM_SEQ ? (int64_t)seq : s->dim[i];

		if ((int)i < axis)
			*outer *= v;
		else if ((int)i > axis)
			*inner *= v;
		else
			*len = v;
	}
}

static int eval_slice(struct run *r, const struct st_node *n, void *out_, uint64_t count)
{
	uint32_t *out = out_;
	const struct st_node *a = &r->g->nodes[n->src[0]];
	const uint32_t *x = r->val[n->src[0]];
	int64_t outer, len, inner, take = n->shape.dim[n->p.slice.axis], o;

	split_at(&a->shape, r->seq, n->p.slice.axis, &outer, &len, &inner);
	for (o = 0; o < outer; o++)
		memcpy(out + o * take * inner, x + (o * len + n->p.slice.start) * inner, (size_t)(take * inner) * 4);
	(void)count;
	return 0;
}

static int eval_concat(struct run *r, const struct st_node *n, void *out_, uint64_t count)
{
	uint32_t *out = out_;
	const struct st_node *a = &r->g->nodes[n->src[0]], *b = &r->g->nodes[n->src[1]];
	const uint32_t *x = r->val[n->src[0]], *y = r->val[n->src[1]];
	int64_t outer, la, lb, inner, o;

	split_at(&a->shape, r->seq, n->p.axis, &outer, &la, &inner);
	split_at(&b->shape, r->seq, n->p.axis, &outer, &lb, &inner);
	for (o = 0; o < outer; o++) {
		memcpy(out + o * (la + lb) * inner, x + o * la * inner, (size_t)(la * inner) * 4);
		memcpy(out + (o * (la + lb) + la) * inner, y + o * lb * inner, (size_t)(lb * inner) * 4);
	}
	(void)count;
	return 0;
}

static int eval_argmax(struct run *r, const struct st_node *n, void *out_, uint64_t count)
{
	int32_t *out = out_;
	int64_t rows, len, i, j;
	const float *x = r->val[n->src[0]];

	rows_of(&r->g->nodes[n->src[0]].shape, r->seq, &rows, &len);
	for (i = 0; i < rows; i++) {
		int64_t best = 0;

		for (j = 1; j < len; j++)
			if (x[i * len + j] > x[i * len + best])
				best = j;
		out[i] = (int32_t)best;
	}
	(void)count;
	return 0;
}

static int eval_embedding(struct run *r, const struct st_node *n, void *out_, uint64_t elems)
{
	float *out = out_;
	const struct st_node *t = &r->g->nodes[n->src[0]], *ids = &r->g->nodes[n->src[1]];
	const float *table = r->val[n->src[0]];
	const int32_t *id = r->val[n->src[1]];
	int64_t rows = t->shape.dim[0] == ST_DIM_SEQ ? (int64_t)r->seq : t->shape.dim[0], width = t->shape.dim[1];
	uint64_t count = st_shape_elems(&ids->shape, r->seq), i;

	(void)elems;
	for (i = 0; i < count; i++) {
		if (id[i] < 0 || id[i] >= rows)
			return st_graph_fail(r->g, -EINVAL, "embedding: id %d at position %llu is outside the table's %lld rows",
					     id[i], (unsigned long long)i, (long long)rows);
		memcpy(out + i * (uint64_t)width, table + (int64_t)id[i] * width, (size_t)width * sizeof(float));
	}
	return 0;
}

static int eval_write_rows(struct run *r, const struct st_node *n, void *out_, uint64_t elems)
{
	float *out = out_;
	const struct st_node *s = &r->g->nodes[n->src[0]], *v = &r->g->nodes[n->src[1]];
	const int32_t *pos = r->val[n->src[2]];
	int64_t rows = s->shape.dim[0], width = (int64_t)st_shape_elems(&s->shape, 1) / rows, i;
	int64_t count = (int64_t)st_shape_elems(&v->shape, r->seq) / width;

	(void)elems;
	memcpy(out, r->val[n->src[0]], (size_t)(rows * width) * sizeof(float));
	for (i = 0; i < count; i++) {
		if (pos[i] < 0 || pos[i] >= rows)
			return st_graph_fail(r->g, -EINVAL, "write_rows: position %d (row %lld) is outside the state's %lld rows",
					     pos[i], (long long)i, (long long)rows);
		memcpy(out + pos[i] * width, (const float *)r->val[n->src[1]] + i * width, (size_t)width * sizeof(float));
	}
	if (r->state && r->state[n->src[0]])
		memcpy(r->state[n->src[0]], out, (size_t)(rows * width) * sizeof(float));
	return 0;
}

/* Query row s, head h attends to cache rows 0 … pos[s] of head h / group. */
static int eval_attention(struct run *r, const struct st_node *n, void *out_, uint64_t elems)
{
	float *out = out_;
	const struct st_node *kn = &r->g->nodes[n->src[1]];
	const float *q = r->val[n->src[0]], *k = r->val[n->src[1]], *v = r->val[n->src[2]];
	const int32_t *pos = r->val[n->src[3]];
	int64_t rows = bind(&n->shape, r->seq).d[1], heads = n->shape.dim[1], dim = n->shape.dim[2];
	int64_t cache = kn->shape.dim[0], kvh = kn->shape.dim[1], group = heads / kvh, s, h, j, d;
	double *score = st_malloc((size_t)cache * sizeof(double));

	(void)elems;
	if (!score)
		return -ENOMEM;
	for (s = 0; s < rows; s++) {
		if (pos[s] < 0 || pos[s] >= cache) {
			st_free(score);
			return st_graph_fail(r->g, -EINVAL, "attention: position %d (row %lld) is outside the cache's %lld rows",
					     pos[s], (long long)s, (long long)cache);
		}
		for (h = 0; h < heads; h++) {
			const float *qr = q + (s * heads + h) * dim;
			double m = -INFINITY, sum = 0;

			for (j = 0; j <= pos[s]; j++) {
				const float *kr = k + (j * kvh + h / group) * dim;
				double dot = 0;

				for (d = 0; d < dim; d++)
					dot += (double)qr[d] * kr[d];
				score[j] = dot * n->p.scale;
				m = score[j] > m ? score[j] : m;
			}
			for (j = 0; j <= pos[s]; j++)
				sum += exp(score[j] - m);
			for (d = 0; d < dim; d++) {
				double acc = 0;

				for (j = 0; j <= pos[s]; j++)
					acc += exp(score[j] - m) / sum * v[(j * kvh + h / group) * dim + d];
				out[(s * heads + h) * dim + d] = (float)acc;
			}
		}
	}
	st_free(score);
	return 0;
}

static int eval_cast(struct run *r, const struct st_node *n, void *out, uint64_t count)
{
	const struct st_node *a = &r->g->nodes[n->src[0]];
	uint64_t i;

	for (i = 0; i < count; i++) {
		if (n->dtype == STRATA_DTYPE_F32 && a->dtype == STRATA_DTYPE_I32) {
			((float *)out)[i] = (float)((const int32_t *)r->val[n->src[0]])[i];
		} else if (n->dtype == STRATA_DTYPE_I32 && a->dtype != STRATA_DTYPE_I32) {
			float f = ((const float *)r->val[n->src[0]])[i];

			((int32_t *)out)[i] = f != f ? 0 : f >= 2147483648.0f ? INT32_MAX : f <= -2147483648.0f ? INT32_MIN
												   : (int32_t)f;
		} else {
			((uint32_t *)out)[i] = ((const uint32_t *)r->val[n->src[0]])[i];
		}
	}
	return 0;
}

static int eval_input(struct run *r, const struct st_node *n, void *out, uint64_t count)
{
	(void)r, (void)n, (void)out, (void)count;
	return 0; /* bound before the run */
}

/* Kept by a program, else zeros. */
static int eval_state(struct run *r, const struct st_node *n, void *out, uint64_t count)
{
	uint32_t id = (uint32_t)(n - r->g->nodes);

	if (r->state && r->state[id])
		memcpy(out, r->state[id], count * 4);
	else
		memset(out, 0, count * 4);
	return 0;
}

static int eval_weight(struct run *r, const struct st_node *n, void *out, uint64_t count)
{
	const void *data;
	int err = weight_data(r, n, &data);

	if (!err)
		widen(n, data, out, count);
	return err;
}

static int eval_copy(struct run *r, const struct st_node *n, void *out, uint64_t count)
{
	memcpy(out, r->val[n->src[0]], count * 4);
	return 0;
}

static int eval_node(struct run *r, uint32_t id)
{
	const struct st_node *n = &r->g->nodes[id];
	uint64_t count = st_shape_elems(&n->shape, r->seq);

	switch (n->op) {
#define ST_OP(E, name, lo, hi, fuse, param, shape, eval, ...) \
	case STRATA_OP_##E: return eval(r, n, r->val[id], count);
#include "core/graph/ops.def"
	}
	return st_graph_fail(r->g, -EINVAL, "node %u: %s has no reference implementation", id, st_op_name(n->op));
}

static const struct strata_graph_tensor *find(const struct strata_graph_tensor *t, unsigned n, uint32_t node)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (t[i].node == node)
			return &t[i];
	return NULL;
}

/* Check a tensor the caller passes for @node against its bound size. */
static int check_size(struct run *r, const char *what, const struct strata_graph_tensor *t)
{
	uint64_t want;

	if (t->node >= r->g->n)
		return st_graph_fail(r->g, -EINVAL, "%s for node %u, but the graph has %u nodes", what, t->node, r->g->n);
	want = st_shape_elems(&r->g->nodes[t->node].shape, r->seq) * 4;
	if (!t->data || t->bytes != want) {
		char s[64];

		st_shape_format(&r->g->nodes[t->node].shape, s, sizeof(s));
		return st_graph_fail(r->g, -EINVAL, "%s for node %u (%s, seq %u) has %zu bytes%s; it needs %llu", what,
				     t->node, s, r->seq, t->bytes, t->data ? "" : " and no data",
				     (unsigned long long)want);
	}
	return 0;
}

static int prepare(struct run *r, const struct strata_graph_tensor *inputs, unsigned n_inputs)
{
	struct strata_graph *g = r->g;
	uint32_t id;
	int err;

	for (id = 0; id < g->n; id++) {
		const struct st_node *n = &g->nodes[id];
		uint64_t bytes = st_shape_elems(&n->shape, r->seq) * 4;

		if (!r->needed[id])
			continue;
		if (n->op == STRATA_OP_INPUT) {
			const struct strata_graph_tensor *t = find(inputs, n_inputs, id);

			if (!t)
				return st_graph_fail(g, -EINVAL, "input node %u (%s) was not given", id, n->name);
			err = check_size(r, "the input", t);
			if (err)
				return err;
			r->val[id] = t->data; /* read only: never written */
			continue;
		}
		r->val[id] = st_malloc(bytes ? (size_t)bytes : 1);
		if (!r->val[id])
			return st_graph_fail(g, -ENOMEM, "no memory for node %u (%llu bytes)", id,
					     (unsigned long long)bytes);
	}
	return 0;
}

int strata_graph_eval_reference(struct strata_graph *g, uint32_t seq, const struct strata_graph_tensor *inputs,
				unsigned n_inputs, const struct strata_graph_tensor *outputs, unsigned n_outputs)
{
	return st_graph_eval(g, seq, inputs, n_inputs, outputs, n_outputs, NULL);
}

int st_graph_eval(struct strata_graph *g, uint32_t seq, const struct strata_graph_tensor *inputs, unsigned n_inputs,
		  const struct strata_graph_tensor *outputs, unsigned n_outputs, void **state)
{
	struct run r = { .g = g, .seq = seq, .state = state };
	bool symbolic = false;
	uint32_t id;
	unsigned i;
	int err = 0;

	if (!g || (n_inputs && !inputs) || (n_outputs && !outputs))
		return -EINVAL;
	g->error[0] = '\0';
	for (id = 0; id < g->n; id++)
		symbolic = symbolic || st_shape_symbolic(&g->nodes[id].shape);
	if (!symbolic)
		r.seq = 1;
	else if (seq < 1 || seq > g->max_seq)
		return st_graph_fail(g, -EINVAL, "run: seq is %u; this graph takes 1 to %u", seq, g->max_seq);
	for (i = 0; i < n_outputs && !err; i++)
		err = check_size(&r, "the output", &outputs[i]);
	if (err)
		return err;
	r.val = st_calloc(g->n ? g->n : 1, sizeof(*r.val));
	r.needed = st_calloc(g->n ? g->n : 1, sizeof(*r.needed));
	if (!r.val || !r.needed) {
		st_free(r.val);
		st_free(r.needed);
		return -ENOMEM;
	}
	/* Only what the outputs depend on runs (and needs its inputs): walk
	 * back from them; sources always have smaller numbers. */
	for (i = 0; i < n_outputs; i++)
		r.needed[outputs[i].node] = true;
	for (id = 0; state && id < g->n; id++)
		if (g->nodes[id].op == STRATA_OP_WRITE_ROWS)
			r.needed[id] = true;
	for (id = g->n; id-- > 0;)
		for (i = 0; r.needed[id] && i < g->nodes[id].nsrc; i++)
			r.needed[g->nodes[id].src[i]] = true;
	err = prepare(&r, inputs, n_inputs);
	for (id = 0; id < g->n && !err; id++)
		if (r.needed[id])
			err = eval_node(&r, id);
	for (i = 0; i < n_outputs && !err; i++)
		memcpy(outputs[i].data, r.val[outputs[i].node], outputs[i].bytes);
	for (id = 0; id < g->n; id++)
		if (g->nodes[id].op != STRATA_OP_INPUT)
			st_free(r.val[id]);
	st_free(r.val);
	st_free(r.needed);
	return err;
}
