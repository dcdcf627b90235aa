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
 * attention took as long as a matmul.)
 *
 * One item is R query rows (st_attention_rows()) with the GROUP heads
 * that share a key-value head: each key and value row is loaded once for
 * its R × GROUP queries (one query an item read them all again: a
 * 512-token prompt spent 28 % of its prefill here).  The queries' dot
 * products with four keys at a time run side by side in the lanes of
 * vectors (the item's queries transposed, [D][16]), each lane summing its
 * products in order of d, so no horizontal sums are left and four chains
 * hide the multiply-adds' latency (one chain took a third of the time);
 * a query's weighted sum of v rows stays in registers over a block.
 * Every other step is a query's own loop.  So a query's result does not depend on what else the
 * item holds: prefill and decode give the same bits.  The row blocks
 * are taken from both ends in turn (0, last, 1, last − 1, …): causal rows
 * cost more the later they are, and a thread's contiguous share of the
 * items then holds as many cheap rows as dear ones.
 */
static void emit_attention(struct emitter *e, const struct st_node *n)
{
	const struct st_node *k = &e->g->nodes[n->src[1]];
	int64_t heads = n->shape.dim[1], dim = n->shape.dim[2], cache = k->shape.dim[0], kvh = k->shape.dim[1];
	char scale[32], rows[48];

	st_emit_product(n->shape.dim, 1, rows);
	head(e);
	st_text_add(&e->t,
		    "\tconst float *q = t[%d], *k = t[%d], *v = t[%d];\n\tconst int32_t *pos = t[%d];\n"
		    "\tenum { H = %lld, D = %lld, C = %lld, KVH = %lld, G = %lld, R = %lld };\n"
		    "\tenum { Q = R * G, QV = (Q + 15) / 16, BLK = 128 };\n"
		    "\ttypedef float st_qv __attribute__((vector_size(64)));\n"
		    "\tconst int64_t S = %s, nb = (S + R - 1) / R;\n"
		    "\tfor (int64_t it = lo; it < hi; it++) {\n"
		    "\t\tconst int64_t z = it / KVH, kh = it %% KVH, b = z %% 2 ? nb - 1 - z / 2 : z / 2;\n"
		    "\t\tconst int64_t s0 = b * R, nr = S - s0 < R ? S - s0 : R;\n"
		    "\t\tfloat acc[Q][D], m[Q], l[Q], sc[Q][BLK];\n"
		    "\t\tst_qv qt[QV][D];\n"
		    "\t\tint32_t last[R], most = -1;\n\n"
		    "\t\tfor (int r = 0; r < nr; r++) {\n"
		    "\t\t\tlast[r] = pos[s0 + r];\n"
		    "\t\t\tif (last[r] < 0 || last[r] >= C)\n\t\t\t\treturn -34; /* -ERANGE */\n"
		    "\t\t\tmost = last[r] > most ? last[r] : most;\n\t\t}\n"
		    "\t\tmemset(qt, 0, sizeof(qt));\n"
		    "\t\tfor (int x = 0; x < nr * G; x++) {\n"
		    "\t\t\tconst float *qr = q + ((s0 + x / G) * H + kh * G + x %% G) * D;\n\n"
		    "\t\t\tm[x] = -INFINITY, l[x] = 0;\n"
		    "\t\t\tfor (int d = 0; d < D; d++)\n\t\t\t\tacc[x][d] = 0, qt[x / 16][d][x %% 16] = qr[d];\n\t\t}\n"
		    "\t\tfor (int64_t j0 = 0; j0 <= most; j0 += BLK) {\n"
		    "\t\t\tint64_t n[R], nmax = 0;\n\n"
		    "\t\t\tfor (int r = 0; r < nr; r++) {\n"
		    "\t\t\t\tn[r] = last[r] + 1 - j0 < 0 ? 0 : last[r] + 1 - j0 < BLK ? last[r] + 1 - j0 : BLK;\n"
		    "\t\t\t\tnmax = n[r] > nmax ? n[r] : nmax;\n\t\t\t}\n"
		    "\t\t\tfor (int64_t j = 0; j < nmax; j += 4) {\n"
		    "\t\t\t\tconst float *kr = k + ((j0 + j) * KVH + kh) * D;\n"
		    "\t\t\t\tconst int nk = nmax - j < 4 ? (int)(nmax - j) : 4;\n\n"
		    "\t\t\t\tfor (int g = 0; g < (nr * G + 15) / 16; g++) {\n"
		    "\t\t\t\t\tst_qv dot[4] = { { 0 } };\n\n"
		    "\t\t\t\t\tfor (int d = 0; d < D; d++)\n"
		    "\t\t\t\t\t\tfor (int u = 0; u < 4; u++)\n"
		    "\t\t\t\t\t\t\tdot[u] += qt[g][d] * kr[(u < nk ? u : 0) * KVH * D + d];\n"
		    "\t\t\t\t\tfor (int u = 0; u < nk; u++)\n"
		    "\t\t\t\t\t\tfor (int x = g * 16; x < nr * G && x < g * 16 + 16; x++)\n"
		    "\t\t\t\t\t\t\tif (j + u < n[x / G])\n\t\t\t\t\t\t\t\tsc[x][j + u] = dot[u][x %% 16] * %s;\n"
		    "\t\t\t\t}\n\t\t\t}\n"
		    "\t\t\tfor (int x = 0; x < nr * G; x++) {\n"
		    "\t\t\t\tconst int64_t nx = n[x / G];\n"
		    "\t\t\t\tfloat bm = -INFINITY, part[8] = { 0 };\n\n"
		    "\t\t\t\tif (!nx)\n\t\t\t\t\tcontinue;\n"
		    "\t\t\t\tfor (int64_t jj = 0; jj < nx; jj++)\n\t\t\t\t\tbm = sc[x][jj] > bm ? sc[x][jj] : bm;\n"
		    "\t\t\t\tif (bm > m[x]) {\n"
		    "\t\t\t\t\tconst float c = sk_exp(m[x] - bm);\n\n"
		    "\t\t\t\t\tl[x] *= c;\n\t\t\t\t\tfor (int d = 0; d < D; d++)\n\t\t\t\t\t\tacc[x][d] *= c;\n"
		    "\t\t\t\t\tm[x] = bm;\n\t\t\t\t}\n"
		    "\t\t\t\tfor (int64_t jj = 0; jj < nx; jj++)\n\t\t\t\t\tsc[x][jj] = sk_exp(sc[x][jj] - m[x]);\n"
		    "\t\t\t\tfor (int64_t jj = 0; jj < nx; jj++)\n\t\t\t\t\tpart[jj %% 8] += sc[x][jj];\n"
		    "\t\t\t\tfor (int u = 0; u < 8; u++)\n\t\t\t\t\tl[x] += part[u];\n"
		    "\t\t\t}\n"
		    "\t\t\tfor (int x = 0; x < nr * G; x++) {\n"
		    "\t\t\t\tfloat a[D];\n\n"
		    "\t\t\t\tmemcpy(a, acc[x], sizeof(a));\n"
		    "\t\t\t\tfor (int64_t jj = 0; jj < n[x / G]; jj++) {\n"
		    "\t\t\t\t\tconst float *vr = v + ((j0 + jj) * KVH + kh) * D, p = sc[x][jj];\n\n"
		    "\t\t\t\t\tfor (int d = 0; d < D; d++)\n\t\t\t\t\t\ta[d] += p * vr[d];\n"
		    "\t\t\t\t}\n"
		    "\t\t\t\tmemcpy(acc[x], a, sizeof(a));\n"
		    "\t\t\t}\n"
		    "\t\t}\n"
		    "\t\tfor (int x = 0; x < nr * G; x++)\n"
		    "\t\t\tfor (int d = 0; d < D; d++)\n"
		    "\t\t\t\t((float *)t[0])[((s0 + x / G) * H + kh * G + x %% G) * D + d] = acc[x][d] / l[x];\n"
		    "\t}\n\treturn 0;\n}\n",
		    st_emit_arg_index(e->k, n->src[0]) + 1, st_emit_arg_index(e->k, n->src[1]) + 1,
		    st_emit_arg_index(e->k, n->src[2]) + 1, st_emit_arg_index(e->k, n->src[3]) + 1, (long long)heads,
		    (long long)dim, (long long)cache, (long long)kvh, (long long)(heads / kvh),
		    (long long)st_attention_rows(heads, kvh), rows, st_emit_float(n->p.scale, scale));
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
