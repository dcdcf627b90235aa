/* SPDX-License-Identifier: MIT */
/*
 * core/graph/emit_matmul.c — C source for a matmul and its element-wise
 * epilogue.
 *
 * One item is one batch and a block of NB result columns, so threads split
 * the weights between them and each streams its share once.  With b
 * transposed ([N, K], a linear layer's weight as stored) four rows of b
 * are dotted with each row of a at once, so a row of a is loaded once per
 * four columns; a row of b stays in L1 across the rows of a.  Weights in
 * f16, bf16 or a GGUF block format are unpacked four rows at a time into a
 * buffer on the stack, never into memory the size of the weight.  With b
 * as is ([K, N]) each row of a scales rows of b into NB accumulators.
 *
 * Every result element passes through st_store(), which runs the
 * epilogue; its arguments are found from the element's row, as in an
 * element-wise kernel.
 */
#include "core/graph/emit_int.h"

#define NB 32

/* Bytes of one row of @k elements of @t. */
static const char *row_bytes(enum strata_dtype t, const char *k, char *buf, size_t len)
{
	switch (t) {
	case STRATA_DTYPE_F16:
	case STRATA_DTYPE_BF16: st_fmt(buf, len, "(%s * 2)", k); break;
	case STRATA_DTYPE_Q8_0: st_fmt(buf, len, "(%s / 32 * 34)", k); break;
	case STRATA_DTYPE_Q4_0: st_fmt(buf, len, "(%s / 32 * 18)", k); break;
	case STRATA_DTYPE_Q4_1: st_fmt(buf, len, "(%s / 32 * 20)", k); break;
	default: st_fmt(buf, len, "(%s * 4)", k); break;
	}
	return buf;
}

/* st_unpack(): row @p of b, K elements, widened into @w. */
static void emit_unpack(struct emitter *e, enum strata_dtype t)
{
	st_text_add(&e->t, "static inline void st_unpack(const uint8_t *p, float *w, int64_t K)\n{\n");
	switch (t) {
	case STRATA_DTYPE_F16:
	case STRATA_DTYPE_BF16:
		st_text_add(&e->t, "\tfor (int64_t k = 0; k < K; k++) {\n\t\tuint16_t h;\n\t\tmemcpy(&h, p + 2 * k, 2);\n"
				   "\t\tw[k] = %s(h);\n\t}\n",
			    t == STRATA_DTYPE_F16 ? "st_half" : "st_bf16");
		break;
	case STRATA_DTYPE_Q8_0:
		st_text_add(&e->t, "\tfor (int64_t b = 0; b < K / 32; b++, p += 34, w += 32) {\n"
				   "\t\tconst float d = st_half_at(p);\n"
				   "\t\tfor (int j = 0; j < 32; j++)\n\t\t\tw[j] = (float)(int8_t)p[2 + j] * d;\n\t}\n");
		break;
	default: /* Q4_0, Q4_1 */
		st_text_add(&e->t,
			    "\tfor (int64_t b = 0; b < K / 32; b++, p += %d, w += 32) {\n"
			    "\t\tconst float d = st_half_at(p), m = %s;\n\t\tconst uint8_t *q = p + %d;\n"
			    "\t\tfor (int j = 0; j < 16; j++) {\n"
			    "\t\t\tw[j] = (float)(q[j] & 0x0f) * d + m;\n\t\t\tw[j + 16] = (float)(q[j] >> 4) * d + m;\n"
			    "\t\t}\n\t}\n",
			    t == STRATA_DTYPE_Q4_1 ? 20 : 18, t == STRATA_DTYPE_Q4_1 ? "st_half_at(p + 2)" : "-8.0f * d",
			    t == STRATA_DTYPE_Q4_1 ? 4 : 2);
	}
	st_text_add(&e->t, "}\n\n");
}

/* st_store(): element (row r, column j) of the result gets @acc through
 * the epilogue. */
static void emit_store(struct emitter *e)
{
	const struct st_kernel *k = e->k;
	struct pad4 ref = st_emit_pad(&e->g->nodes[k->root].shape);
	bool moves[ST_KERNEL_MAX_ARGS] = { false }, used[ST_KERNEL_MAX_ARGS] = { false };
	unsigned m, i;

	st_text_add(&e->t, "static inline void st_store(void *const *t, int64_t seq, int64_t r, int64_t j, float acc, "
			   "float *dst)\n{\n\t(void)t; (void)seq; (void)r; (void)j;\n\t{\n");
	if (k->nmembers > 1)
		st_emit_split_row(e, &ref, "r", "i");
	for (m = 1; m < k->nmembers; m++) {
		const struct st_node *n = &e->g->nodes[k->members[m]];

		for (i = 0; i < n->nsrc; i++) {
			int a = st_emit_arg_index(k, n->src[i]);

			if (a >= 0 && !used[a]) {
				char name[16];

				used[a] = true;
				st_fmt(name, sizeof(name), "p%d", a);
				moves[a] = st_emit_arg_row(e, (unsigned)a, &ref, "i", name);
			}
		}
	}
	st_text_add(&e->t, "\t\t{\n\t\t\tconst float v0 = acc;\n");
	st_emit_chain(e, 1, k->nmembers, "p", moves, "j");
	st_text_add(&e->t, "\t\t\t*dst = v%u;\n\t\t}\n\t}\n}\n\n", k->nmembers - 1);
}

/* b transposed: dot products, four columns at a time. */
static void emit_trans(struct emitter *e, enum strata_dtype bt)
{
	bool f32 = bt == STRATA_DTYPE_F32;

	st_text_add(&e->t, "\t\tint64_t n = n0;\n");
	if (!f32)
		st_text_add(&e->t, "\t\tfloat wbuf[4][K];\n");
	st_text_add(&e->t, "\t\tfor (; n + 4 <= n1; n += 4) {\n");
	for (int q = 0; q < 4; q++) {
		if (f32)
			st_text_add(&e->t, "\t\t\tconst float *w%d = (const float *)(B + (n + %d) * RB);\n", q, q);
		else
			st_text_add(&e->t, "\t\t\tst_unpack(B + (n + %d) * RB, wbuf[%d], K);\n"
					   "\t\t\tconst float *w%d = wbuf[%d];\n",
				    q, q, q, q);
	}
	st_text_add(&e->t,
		    "\t\t\tfor (int64_t m = 0; m < M; m++) {\n"
		    "\t\t\t\tconst float *a = A + m * K;\n"
		    "\t\t\t\tfloat s0[8] = { 0 }, s1[8] = { 0 }, s2[8] = { 0 }, s3[8] = { 0 };\n"
		    "\t\t\t\tint64_t k = 0;\n"
		    "\t\t\t\tfor (; k + 8 <= K; k += 8)\n"
		    "\t\t\t\t\tfor (int l = 0; l < 8; l++) {\n"
		    "\t\t\t\t\t\tconst float av = a[k + l];\n"
		    "\t\t\t\t\t\ts0[l] += av * w0[k + l];\n\t\t\t\t\t\ts1[l] += av * w1[k + l];\n"
		    "\t\t\t\t\t\ts2[l] += av * w2[k + l];\n\t\t\t\t\t\ts3[l] += av * w3[k + l];\n"
		    "\t\t\t\t\t}\n"
		    "\t\t\t\tfloat d[4] = { 0, 0, 0, 0 };\n"
		    "\t\t\t\tfor (int l = 0; l < 8; l++) {\n"
		    "\t\t\t\t\td[0] += s0[l];\n\t\t\t\t\td[1] += s1[l];\n\t\t\t\t\td[2] += s2[l];\n\t\t\t\t\td[3] += s3[l];\n"
		    "\t\t\t\t}\n"
		    "\t\t\t\tfor (; k < K; k++) {\n"
		    "\t\t\t\t\td[0] += a[k] * w0[k];\n\t\t\t\t\td[1] += a[k] * w1[k];\n"
		    "\t\t\t\t\td[2] += a[k] * w2[k];\n\t\t\t\t\td[3] += a[k] * w3[k];\n"
		    "\t\t\t\t}\n"
		    "\t\t\t\tfor (int q = 0; q < 4; q++)\n"
		    "\t\t\t\t\tst_store(t, seq, bi * M + m, n + q, d[q], C + m * N + n + q);\n"
		    "\t\t\t}\n\t\t}\n"
		    "\t\tfor (; n < n1; n++) {\n");
	if (f32)
		st_text_add(&e->t, "\t\t\tconst float *w0 = (const float *)(B + n * RB);\n");
	else
		st_text_add(&e->t, "\t\t\tst_unpack(B + n * RB, wbuf[0], K);\n\t\t\tconst float *w0 = wbuf[0];\n");
	st_text_add(&e->t,
		    "\t\t\tfor (int64_t m = 0; m < M; m++) {\n"
		    "\t\t\t\tconst float *a = A + m * K;\n"
		    "\t\t\t\tfloat s0[8] = { 0 }, d = 0;\n"
		    "\t\t\t\tint64_t k = 0;\n"
		    "\t\t\t\tfor (; k + 8 <= K; k += 8)\n"
		    "\t\t\t\t\tfor (int l = 0; l < 8; l++)\n\t\t\t\t\t\ts0[l] += a[k + l] * w0[k + l];\n"
		    "\t\t\t\tfor (int l = 0; l < 8; l++)\n\t\t\t\t\td += s0[l];\n"
		    "\t\t\t\tfor (; k < K; k++)\n\t\t\t\t\td += a[k] * w0[k];\n"
		    "\t\t\t\tst_store(t, seq, bi * M + m, n, d, C + m * N + n);\n"
		    "\t\t\t}\n\t\t}\n");
}

/* b as is: each row of a scales the rows of b's column block. */
static void emit_plain(struct emitter *e)
{
	st_text_add(&e->t,
		    "\t\tfor (int64_t m = 0; m < M; m++) {\n"
		    "\t\t\tconst float *a = A + m * K;\n"
		    "\t\t\tfloat acc[%d] = { 0 };\n"
		    "\t\t\tfor (int64_t k = 0; k < K; k++) {\n"
		    "\t\t\t\tconst float av = a[k], *brow = (const float *)B + k * N + n0;\n"
		    "\t\t\t\tfor (int64_t j = 0; j < n1 - n0; j++)\n\t\t\t\t\tacc[j] += av * brow[j];\n"
		    "\t\t\t}\n"
		    "\t\t\tfor (int64_t j = 0; j < n1 - n0; j++)\n"
		    "\t\t\t\tst_store(t, seq, bi * M + m, n0 + j, acc[j], C + m * N + n0 + j);\n"
		    "\t\t}\n",
		    NB);
}

int st_emit_matmul(struct emitter *e)
{
	const struct st_kernel *k = e->k;
	const struct st_node *c = &e->g->nodes[k->core];
	const struct st_node *a = &e->g->nodes[c->src[0]], *b = &e->g->nodes[c->src[1]];
	bool trans = c->p.flags & STRATA_MATMUL_TRANS_B, shared = b->shape.ndim == 2;
	struct pad4 pa = st_emit_pad(&a->shape), pb = st_emit_pad(&b->shape);
	char batch[48], m[48], kk[48], n[48], rb[64];

	if (!trans)
		; /* b as is: f32 (fold.c widens any other storage) */
	else if (b->dtype != STRATA_DTYPE_F32)
		emit_unpack(e, b->dtype);
	emit_store(e);
	st_emit_product(pa.d, 2, batch);
	st_emit_product(&pa.d[2], 1, m);
	st_emit_product(&pa.d[3], 1, kk);
	st_emit_product(&pb.d[trans ? 2 : 3], 1, n);
	st_text_add(&e->t,
		    "int strata_kernel(void *const *t, int64_t seq, int64_t lo, int64_t hi)\n{\n"
		    "\tconst int64_t M = %s, K = %s, N = %s, NB = %d, nblk = (N + NB - 1) / NB;\n"
		    "\tconst int64_t RB = %s;\n"
		    "\t(void)seq; (void)RB; /* %s batches */\n"
		    "\tfor (int64_t it = lo; it < hi; it++) {\n"
		    "\t\tconst int64_t bi = it / nblk, n0 = (it %% nblk) * NB, n1 = n0 + NB < N ? n0 + NB : N;\n"
		    "\t\tconst float *A = (const float *)t[%d] + bi * M * K;\n"
		    "\t\tconst uint8_t *B = (const uint8_t *)t[%d] + %s;\n"
		    "\t\tfloat *C = (float *)t[0] + bi * M * N;\n",
		    m, kk, n, NB, trans ? row_bytes(b->dtype, "K", rb, sizeof(rb)) : "(N * 4)", batch,
		    st_emit_arg_index(k, c->src[0]) + 1, st_emit_arg_index(k, c->src[1]) + 1,
		    shared ? "0" : "bi * K * N * 4");
	if (trans)
		emit_trans(e, b->dtype);
	else
		emit_plain(e);
	st_text_add(&e->t, "\t}\n\treturn 0;\n}\n");
	return 0;
}
