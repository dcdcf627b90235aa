/* SPDX-License-Identifier: MIT */
/*
 * core/graph/emit_single.c — C source for the ops that run on their own:
 * data movement (permute, slice, concat), embedding gathers, rotary
 * embeddings, argmax and reductions over an axis other than the last.
 * Items, per op: permute, argmax — rows of the result; slice, concat,
 * reduction — the indices before the axis; embedding — ids; rope — rows of
 * (position, head).
 */
#include <errno.h>
#include <math.h>

#include "core/graph/emit_int.h"

static void head(struct emitter *e)
{
	st_text_add(&e->t, "int strata_kernel(void *const *t, int64_t seq, int64_t lo, int64_t hi)\n{\n\t(void)seq;\n");
}

/* Sizes of @s before @axis, at it and after it, as C expressions. */
static void split_axis(const struct st_shape *s, int axis, char *outer, char *len, char *inner)
{
	st_emit_product(s->dim, (unsigned)axis, outer);
	st_emit_product(&s->dim[axis], 1, len);
	st_emit_product(&s->dim[axis + 1], s->ndim - (unsigned)axis - 1, inner);
}

static void emit_permute(struct emitter *e, const struct st_node *n)
{
	const struct st_node *x = &e->g->nodes[n->src[0]];
	struct pad4 po = st_emit_pad(&n->shape);
	unsigned nd = x->shape.ndim, pad = ST_MAX_DIMS - nd, i;
	char stride[ST_MAX_DIMS][48], d[48];

	/* Input strides, in the output's (padded) dimension order. */
	for (i = 0; i < ST_MAX_DIMS; i++) {
		if (i < pad) {
			st_fmt(stride[i], 48, "0");
			continue;
		}
		unsigned src = n->p.perm[i - pad];

		st_emit_product(&x->shape.dim[src + 1], nd - src - 1, stride[i]);
	}
	head(e);
	st_text_add(&e->t, "\tfor (int64_t r = lo; r < hi; r++) {\n");
	st_emit_split_row(e, &po, "r", "i");
	st_text_add(&e->t,
		    "\t\tconst uint32_t *src = (const uint32_t *)t[1] + i0 * %s + i1 * %s + i2 * %s;\n"
		    "\t\tuint32_t *o = (uint32_t *)t[0] + r * %s;\n"
		    "\t\tfor (int64_t j = 0; j < %s; j++)\n\t\t\to[j] = src[j * %s];\n\t}\n\treturn 0;\n}\n",
		    stride[0], stride[1], stride[2], st_emit_product(&po.d[3], 1, d), d, stride[3]);
}

static void emit_slice(struct emitter *e, const struct st_node *n)
{
	const struct st_node *x = &e->g->nodes[n->src[0]];
	char outer[48], len[48], inner[48];

	split_axis(&x->shape, n->p.slice.axis, outer, len, inner);
	head(e);
	st_text_add(&e->t,
		    "\tconst int64_t len = %s, inner = %s, take = %lld, start = %lld;\n"
		    "\tfor (int64_t o = lo; o < hi; o++)\n"
		    "\t\tmemcpy((uint32_t *)t[0] + o * take * inner, (const uint32_t *)t[1] + (o * len + start) * inner,\n"
		    "\t\t       (size_t)(take * inner) * 4);\n\treturn 0;\n}\n",
		    len, inner, (long long)n->shape.dim[n->p.slice.axis], (long long)n->p.slice.start);
}

static void emit_concat(struct emitter *e, const struct st_node *n)
{
	const struct st_node *a = &e->g->nodes[n->src[0]], *b = &e->g->nodes[n->src[1]];
	char outer[48], la[48], lb[48], inner[48];

	split_axis(&a->shape, n->p.axis, outer, la, inner);
	split_axis(&b->shape, n->p.axis, outer, lb, inner);
	head(e);
	st_text_add(&e->t,
		    "\tconst int64_t la = %s, lb = %s, inner = %s;\n"
		    "\tconst uint32_t *x = t[%d], *y = t[%d];\n"
		    "\tfor (int64_t o = lo; o < hi; o++) {\n"
		    "\t\tuint32_t *dst = (uint32_t *)t[0] + o * (la + lb) * inner;\n"
		    "\t\tmemcpy(dst, x + o * la * inner, (size_t)(la * inner) * 4);\n"
		    "\t\tmemcpy(dst + la * inner, y + o * lb * inner, (size_t)(lb * inner) * 4);\n"
		    "\t}\n\treturn 0;\n}\n",
		    la, lb, inner, st_emit_arg_index(e->k, n->src[0]) + 1, st_emit_arg_index(e->k, n->src[1]) + 1);
}

static void emit_embedding(struct emitter *e, const struct st_node *n)
{
	const struct st_node *tab = &e->g->nodes[n->src[0]];
	/* A table whose rows are the symbolic dimension (hidden states) has
	 * seq rows at run time. */
	int64_t width = tab->shape.dim[1];
	int64_t rb = (int64_t)st_node_bytes(tab, 1) / (tab->shape.dim[0] == ST_DIM_SEQ ? 1 : tab->shape.dim[0]);
	char rows[48];

	st_emit_product(tab->shape.dim, 1, rows);
	st_emit_unpack(e, tab->dtype);
	if (e->k->packed) /* a lent table a matmul packs in place (emit_packed.c) */
		st_emit_packed(e, tab->dtype);
	head(e);
	st_text_add(&e->t,
		    "\tconst uint8_t *table = t[%d];\n\tconst int32_t *id = t[%d];\n"
		    "\tfor (int64_t i = lo; i < hi; i++) {\n"
		    "\t\tif (id[i] < 0 || id[i] >= %s)\n\t\t\treturn -22; /* -EINVAL */\n",
		    st_emit_arg_index(e->k, n->src[0]) + 1, st_emit_arg_index(e->k, n->src[1]) + 1, rows);
	if (e->k->packed)
		st_text_add(&e->t, "\t\tif (sk_tile_packed((const uint32_t *)t[%u], id[i])) {\n"
				   "\t\t\tsk_unpack_packed(table, id[i], (float *)t[0] + i * %lld, %lld, ST_FMT);\n"
				   "\t\t\tcontinue;\n\t\t}\n",
			    e->k->nargs + 2, (long long)width, (long long)width);
	st_text_add(&e->t,
		    "\t\tsk_unpack(table + (int64_t)id[i] * %lld, (float *)t[0] + i * %lld, %lld, ST_FMT);\n"
		    "\t}\n\treturn 0;\n}\n",
		    (long long)rb, (long long)width, (long long)width);
}

static void emit_rope(struct emitter *e, const struct st_node *n)
{
	struct pad4 p = st_emit_pad(&n->shape);
	int64_t heads = p.d[2], dim = p.d[3], half = dim / 2, i;
	bool adjacent = n->p.rope.layout == STRATA_ROPE_ADJACENT;
	char partner[48];

	/* The frequencies are constants of the kernel. */
	st_text_add(&e->t, "static const double inv_freq[%lld] = {\n", (long long)half);
	for (i = 0; i < half; i++)
		st_text_add(&e->t, "\t%.17g,\n", pow((double)n->p.rope.theta, -2.0 * (double)i / (double)dim));
	st_text_add(&e->t, "};\n\n");
	st_fmt(partner, sizeof(partner), adjacent ? "2 * i + 1" : "i + %lld", (long long)half);
	head(e);
	/* A row is one head of one position: the angles' cosines and sines
	 * are made once per position and serve all its heads (made per row,
	 * they took 0.34 ms of a 128-token prompt's 14 ms layer). */
	st_text_add(&e->t,
		    "\tconst float *x = t[%d];\n\tconst int32_t *pos = t[%d];\n"
		    "\tdouble cs[%lld], sn[%lld];\n\tint64_t at = -1;\n"
		    "\tfor (int64_t r = lo; r < hi; r++) {\n"
		    "\t\tconst float *src = x + r * %lld;\n\t\tfloat *dst = (float *)t[0] + r * %lld;\n"
		    "\t\tif (r / %lld != at) {\n"
		    "\t\t\tconst double p = (double)pos[r / %lld];\n\n"
		    "\t\t\tat = r / %lld;\n"
		    "\t\t\tfor (int64_t i = 0; i < %lld; i++)\n"
		    "\t\t\t\tcs[i] = cos(p * inv_freq[i]), sn[i] = sin(p * inv_freq[i]);\n"
		    "\t\t}\n"
		    "\t\tfor (int64_t i = 0; i < %lld; i++) {\n"
		    "\t\t\tconst double c = cs[i], s = sn[i];\n"
		    "\t\t\tconst int64_t a = %s, b = %s;\n"
		    "\t\t\tconst float xa = src[a], xb = src[b];\n"
		    "\t\t\tdst[a] = (float)(xa * c - xb * s);\n\t\t\tdst[b] = (float)(xa * s + xb * c);\n"
		    "\t\t}\n\t}\n\treturn 0;\n}\n",
		    st_emit_arg_index(e->k, n->src[0]) + 1, st_emit_arg_index(e->k, n->src[1]) + 1, (long long)half,
		    (long long)half, (long long)dim, (long long)dim, (long long)heads, (long long)heads, (long long)heads,
		    (long long)half, (long long)half, adjacent ? "2 * i" : "i", partner);
}

static void emit_argmax(struct emitter *e, const struct st_node *n)
{
	const struct st_node *x = &e->g->nodes[n->src[0]];
	char len[48];

	st_emit_product(&x->shape.dim[x->shape.ndim - 1], 1, len);
	head(e);
	st_text_add(&e->t,
		    "\tconst int64_t len = %s;\n"
		    "\tfor (int64_t r = lo; r < hi; r++) {\n"
		    "\t\tconst float *row = (const float *)t[1] + r * len;\n\t\tint64_t best = 0;\n"
		    "\t\tfor (int64_t j = 1; j < len; j++)\n\t\t\tif (row[j] > row[best])\n\t\t\t\tbest = j;\n"
		    "\t\t((int32_t *)t[0])[r] = (int32_t)best;\n\t}\n\treturn 0;\n}\n",
		    len);
}

static void emit_reduce(struct emitter *e, const struct st_node *n)
{
	const struct st_node *x = &e->g->nodes[n->src[0]];
	bool max = n->op == STRATA_OP_REDUCE_MAX;
	char outer[48], len[48], inner[48];

	split_axis(&x->shape, n->p.axis, outer, len, inner);
	head(e);
	st_text_add(&e->t,
		    "\tconst int64_t len = %s, inner = %s;\n\tconst float *x = t[1];\n"
		    "\tfor (int64_t o = lo; o < hi; o++) {\n"
		    "\t\tfloat *dst = (float *)t[0] + o * inner;\n"
		    "\t\tfor (int64_t i = 0; i < inner; i++)\n\t\t\tdst[i] = %s;\n"
		    "\t\tfor (int64_t j = 0; j < len; j++)\n"
		    "\t\t\tfor (int64_t i = 0; i < inner; i++) {\n"
		    "\t\t\t\tconst float v = x[(o * len + j) * inner + i];\n"
		    "\t\t\t\tdst[i] = %s;\n\t\t\t}\n"
		    "%s\t}\n\treturn 0;\n}\n",
		    len, inner, max ? "-INFINITY" : "0.0f", max ? "sk_max(dst[i], v)" : "dst[i] + v",
		    n->op == STRATA_OP_MEAN ? "\t\tfor (int64_t i = 0; i < inner; i++)\n\t\t\tdst[i] /= (float)len;\n" : "");
}

/* Value row i goes to state row pos[i]; -ERANGE (-34) outside the state. */
static void emit_write_rows(struct emitter *e, const struct st_node *n)
{
	const struct st_node *st = &e->g->nodes[n->src[0]];
	int64_t rows = st->shape.dim[0], width = (int64_t)st_shape_elems(&st->shape, 1) / rows;

	head(e);
	st_text_add(&e->t,
		    "\tconst float *v = t[%d];\n\tconst int32_t *pos = t[%d];\n\tfloat *dst = t[0];\n"
		    "\tfor (int64_t i = lo; i < hi; i++) {\n"
		    "\t\tif (pos[i] < 0 || pos[i] >= %lld)\n\t\t\treturn -34; /* -ERANGE */\n"
		    "\t\tmemcpy(dst + (int64_t)pos[i] * %lld, v + i * %lld, %lld * sizeof(float));\n"
		    "\t}\n\treturn 0;\n}\n",
		    st_emit_arg_index(e->k, n->src[1]) + 1, st_emit_arg_index(e->k, n->src[2]) + 1, (long long)rows,
		    (long long)width, (long long)width, (long long)width);
}

/*
 * Causal attention with a running softmax over blocks of BLK cache rows
 * (0 … pos[s], no score matrix): a block's scores go to a small buffer,
 * the running maximum m, the sum l of exp(score - m) and the weighted sum
 * of v rows are rescaled once per block whose maximum is larger, and the
 * exponentials of a block are one loop the compiler vectorizes.  (One
 * row at a time, each exponential waited on the last: a decode step's
 * attention took as long as a matmul.)  One item is one (query row, head).
 */
static void emit_attention(struct emitter *e, const struct st_node *n)
{
	const struct st_node *k = &e->g->nodes[n->src[1]];
	int64_t heads = n->shape.dim[1], dim = n->shape.dim[2], cache = k->shape.dim[0], kvh = k->shape.dim[1];
	char scale[32];

	head(e);
	st_text_add(&e->t,
		    "\tconst float *q = t[%d], *k = t[%d], *v = t[%d];\n\tconst int32_t *pos = t[%d];\n"
		    "\tenum { H = %lld, D = %lld, C = %lld, KVH = %lld, GROUP = %lld, BLK = 128 };\n"
		    "\tfor (int64_t it = lo; it < hi; it++) {\n"
		    "\t\tconst int64_t s = it / H, kh = (it %% H) / GROUP;\n"
		    "\t\tconst int32_t last = pos[s];\n"
		    "\t\tconst float *qr = q + it * D;\n"
		    "\t\tfloat acc[D], m = -INFINITY, l = 0;\n"
		    "\t\tif (last < 0 || last >= C)\n\t\t\treturn -34; /* -ERANGE */\n"
		    "\t\tfor (int d = 0; d < D; d++)\n\t\t\tacc[d] = 0;\n"
		    "\t\tfor (int64_t j0 = 0; j0 <= last; j0 += BLK) {\n"
		    "\t\t\tconst int64_t n = last + 1 - j0 < BLK ? last + 1 - j0 : BLK;\n"
		    "\t\t\tfloat sc[BLK], bm = -INFINITY, part[8] = { 0 };\n"
		    "\t\t\tfor (int64_t jj = 0; jj < n; jj++) {\n"
		    "\t\t\t\tconst float *kr = k + ((j0 + jj) * KVH + kh) * D;\n"
		    "\t\t\t\tfloat dp[8] = { 0 }, dot = 0;\n"
		    "\t\t\t\tint d = 0;\n"
		    "\t\t\t\tfor (; d + 8 <= D; d += 8)\n\t\t\t\t\tfor (int u = 0; u < 8; u++)\n"
		    "\t\t\t\t\t\tdp[u] += qr[d + u] * kr[d + u];\n"
		    "\t\t\t\tfor (; d < D; d++)\n\t\t\t\t\tdp[0] += qr[d] * kr[d];\n"
		    "\t\t\t\tfor (int u = 0; u < 8; u++)\n\t\t\t\t\tdot += dp[u];\n"
		    "\t\t\t\tsc[jj] = dot * %s;\n"
		    "\t\t\t\tbm = sc[jj] > bm ? sc[jj] : bm;\n"
		    "\t\t\t}\n"
		    "\t\t\tif (bm > m) {\n"
		    "\t\t\t\tconst float c = sk_exp(m - bm);\n"
		    "\t\t\t\tl *= c;\n\t\t\t\tfor (int d = 0; d < D; d++)\n\t\t\t\t\tacc[d] *= c;\n"
		    "\t\t\t\tm = bm;\n\t\t\t}\n"
		    "\t\t\tfor (int64_t jj = 0; jj < n; jj++)\n\t\t\t\tsc[jj] = sk_exp(sc[jj] - m);\n"
		    "\t\t\tfor (int64_t jj = 0; jj < n; jj++)\n\t\t\t\tpart[jj %% 8] += sc[jj];\n"
		    "\t\t\tfor (int u = 0; u < 8; u++)\n\t\t\t\tl += part[u];\n"
		    "\t\t\tfor (int64_t jj = 0; jj < n; jj++) {\n"
		    "\t\t\t\tconst float *vr = v + ((j0 + jj) * KVH + kh) * D, p = sc[jj];\n"
		    "\t\t\t\tfor (int d = 0; d < D; d++)\n\t\t\t\t\tacc[d] += p * vr[d];\n"
		    "\t\t\t}\n"
		    "\t\t}\n"
		    "\t\tfor (int d = 0; d < D; d++)\n\t\t\t((float *)t[0])[it * D + d] = acc[d] / l;\n"
		    "\t}\n\treturn 0;\n}\n",
		    st_emit_arg_index(e->k, n->src[0]) + 1, st_emit_arg_index(e->k, n->src[1]) + 1,
		    st_emit_arg_index(e->k, n->src[2]) + 1, st_emit_arg_index(e->k, n->src[3]) + 1, (long long)heads,
		    (long long)dim, (long long)cache, (long long)kvh, (long long)(heads / kvh), st_emit_float(n->p.scale, scale));
}

/* Casts between f32 and i32, as the reference does them. */
static void emit_cast(struct emitter *e, const struct st_node *n)
{
	const struct st_node *a = &e->g->nodes[n->src[0]];
	const char *body;

	if (n->dtype == STRATA_DTYPE_F32 && a->dtype == STRATA_DTYPE_I32)
		body = "((float *)t[0])[i] = (float)((const int32_t *)t[1])[i];";
	else if (n->dtype == STRATA_DTYPE_I32 && a->dtype != STRATA_DTYPE_I32)
		body = "{\n\t\t\tconst float f = ((const float *)t[1])[i];\n"
		       "\t\t\t((int32_t *)t[0])[i] = f != f ? 0 : f >= 2147483648.0f ? INT32_MAX : f <= -2147483648.0f ? "
		       "INT32_MIN : (int32_t)f;\n\t\t}";
	else
		body = "((uint32_t *)t[0])[i] = ((const uint32_t *)t[1])[i];";
	head(e);
	st_text_add(&e->t, "\tfor (int64_t i = lo * %lld; i < hi * %lld; i++)\n\t\t%s\n\treturn 0;\n}\n",
		    (long long)n->shape.dim[n->shape.ndim - 1], (long long)n->shape.dim[n->shape.ndim - 1], body);
}

/* Element-wise ops, row ops, matmul and views are never alone in a
 * kernel of this kind. */
static void emit_none(struct emitter *e, const struct st_node *n)
{
	(void)e, (void)n;
}

int st_emit_single(struct emitter *e)
{
	const struct st_node *n = &e->g->nodes[e->k->core];

	switch (n->op) {
#define ST_OP(E, name, lo, hi, fuse, param, shape, eval, ref, kern, rows, emit, ...) \
	case STRATA_OP_##E: emit(e, n); return emit == emit_none ? -EOPNOTSUPP : 0;
#include "core/graph/ops.def"
	}
	return -EOPNOTSUPP;
}
