/* SPDX-License-Identifier: MIT */
/*
 * core/graph/emit_matmul.c — C source for a matmul and its element-wise
 * epilogue.
 *
 * One item is one batch and a block of NB result columns, so threads split
 * the weights between them and each streams its share once.  With b
 * transposed ([N, K], a linear layer's weight as stored):
 *   - from four rows of a on (prefill, batched decode), a chunk's items go
 *     to the register-blocked micro-kernels: kernels/gemm_f32.h, weights
 *     in f16, bf16 or a GGUF format widened a block at a time, or, for a
 *     packed weight on AVX-512 VNNI, kernels/gemm_packed.h's integer one;
 *   - decode (fewer rows) dots the stored rows in registers
 *     (emit_weights.c) or sixteen packed rows at a time (emit_packed.c);
 *   - where no decode path fits the CPU (the portable build), four rows
 *     of b, unpacked into a buffer on the stack, against a's rows.
 * With b as is ([K, N]) each row of a scales rows of b into NB
 * accumulators.
 *
 * Every result passes through st_store() or, a row at a time,
 * st_store_row(), which run the epilogue; its arguments are found from
 * the result's row, as in an element-wise kernel.
 */
#include <strata/topo.h>

#include "core/core_int.h"
#include "core/graph/emit_int.h"

#define NB 32

/* Bytes of one row of @k elements of @t. */
static const char *row_bytes(enum strata_dtype t, const char *k, char *buf, size_t len)
{
	struct strata_dtype_info info;

	if (strata_dtype_info(t, &info) || info.block_elems <= 1)
		st_fmt(buf, len, "(%s * %u)", k, strata_dtype_info(t, &info) ? 4u : info.block_bytes);
	else
		st_fmt(buf, len, "(%s / %u * %u)", k, info.block_elems, info.block_bytes);
	return buf;
}

/* The row split and the epilogue arguments' row pointers of result row
 * r, the opening of both store functions below. */
static void emit_row_args(struct emitter *e, const struct pad4 *ref, bool *moves)
{
	const struct st_kernel *k = e->k;
	bool used[ST_KERNEL_MAX_ARGS] = { false };
	unsigned m, i;

	if (k->nmembers > 1)
		st_emit_split_row(e, ref, "r", "i");
	for (m = 1; m < k->nmembers; m++) {
		const struct st_node *n = &e->g->nodes[k->members[m]];

		for (i = 0; i < n->nsrc; i++) {
			int a = st_emit_arg_index(k, n->src[i]);

			if (a >= 0 && !used[a]) {
				char name[16];

				used[a] = true;
				st_fmt(name, sizeof(name), "p%d", a);
				moves[a] = st_emit_arg_row(e, (unsigned)a, ref, "i", name);
			}
		}
	}
}

/*
 * st_store(): element (row r, column j) of the result gets @acc through
 * the epilogue.  st_store_row(): columns j0 … j0 + n - 1 of row r get
 * acc[0 … n - 1]: the row is split once, and the loop over the columns
 * vectorizes (a decode step's SiLU epilogue, called an element at a time,
 * took as long as the matmul's weights).
 */
static void emit_store(struct emitter *e)
{
	const struct st_kernel *k = e->k;
	struct pad4 ref = st_emit_pad(&e->g->nodes[k->root].shape);
	bool moves[ST_KERNEL_MAX_ARGS] = { false };

	st_text_add(&e->t, "static inline void st_store(void *const *t, int64_t seq, int64_t r, int64_t j, float acc, "
			   "float *dst)\n{\n\t(void)t; (void)seq; (void)r; (void)j;\n\t{\n");
	emit_row_args(e, &ref, moves);
	st_text_add(&e->t, "\t\t{\n\t\t\tconst float v0 = acc;\n");
	st_emit_chain(e, 1, k->nmembers, "p", moves, "j");
	st_text_add(&e->t, "\t\t\t*dst = v%u;\n\t\t}\n\t}\n}\n\n", k->nmembers - 1);
	st_text_add(&e->t, "static inline void st_store_row(void *const *t, int64_t seq, int64_t r, int64_t j0, int64_t n,\n"
			   "\t\t\t\tconst float *acc, float *dst)\n{\n\t(void)t; (void)seq; (void)r;\n\t{\n");
	emit_row_args(e, &ref, moves);
	st_text_add(&e->t, "\t\tfor (int64_t c = 0; c < n; c++) {\n\t\t\tconst int64_t j = j0 + c;\n"
			   "\t\t\tconst float v0 = acc[c];\n\t\t\t(void)j;\n");
	st_emit_chain(e, 1, k->nmembers, "p", moves, "j");
	st_text_add(&e->t, "\t\t\tdst[c] = v%u;\n\t\t}\n\t}\n}\n\n", k->nmembers - 1);
}

/*
 * Decode (a has fewer than four rows): four rows of b at a time with
 * @dot4 (writing out[4]), the tile's last few with @dot1; the results
 * gather in res and pass through the epilogue a row at a time.  With
 * @prep, a's rows are prepared (sk_prep_quant) once per batch a chunk meets.
 */
static void emit_decode(struct emitter *e, bool prep, const char *dot4, const char *dot1)
{
	st_text_add(&e->t, "\t\tif (M < 4) {\n\t\t\tfloat res[4][NB];\n");
	if (prep)
		st_text_add(&e->t, "\t\t\tif (bi != qbi) {\n"
				   "\t\t\t\tfor (int64_t m = 0; m < M; m++)\n"
				   "\t\t\t\t\tsk_prep_quant(A + m * K, K, qa[m], qs[m], ST_FMT);\n"
				   "\t\t\t\tqbi = bi;\n\t\t\t}\n");
	st_text_add(&e->t,
		    "\t\t\tfor (; n + 4 <= n1; n += 4)\n"
		    "\t\t\t\tfor (int64_t m = 0; m < M; m++) {\n"
		    "\t\t\t\t\tfloat *out = &res[m][n - n0];\n"
		    "\t\t\t\t\t%s;\n\t\t\t\t}\n"
		    "\t\t\tfor (; n < n1; n++)\n"
		    "\t\t\t\tfor (int64_t m = 0; m < M; m++)\n"
		    "\t\t\t\t\tres[m][n - n0] = %s;\n"
		    "\t\t\tfor (int64_t m = 0; m < M; m++)\n"
		    "\t\t\t\tst_store_row(t, seq, bi * M + m, n0, n1 - n0, res[m], C + m * N + n0);\n"
		    "\t\t\tcontinue;\n\t\t}\n",
		    dot4, dot1);
}

/* How a packed kernel prepares a's rows (kernels/packed.h, gemm_packed.h):
 * three 8-bit digits a value, or 8-bit values (int8_activations). */
static const char *row_prep(const struct st_kernel *k, int *digits)
{
	*digits = k->int8_activations ? 1 : 3;
	return k->int8_activations ? "sk_prep_q8" : "sk_prep_packed";
}

/*
 * Decode on a packed weight (emit_packed.c): the tile is packed if this
 * is its first run, then on AVX-512 VNNI sixteen rows of b at a time, a's
 * rows as three digits, or 8 bits (int8_activations).
 */
static void emit_packed_decode(struct emitter *e)
{
	unsigned pi = 1 + e->k->nargs;
	int digits;
	const char *prep = row_prep(e->k, &digits);

	st_text_add(&e->t,
		    "\t\tconst uint8_t *P = (const uint8_t *)t[%u];\n"
		    "\t\t{\n\t\t\tconst int err = sk_ensure_packed(B, (uint8_t *)t[%u], (uint32_t *)t[%u], it %% nblk, n0, n1, K, ST_PBS);\n"
		    "\t\t\tif (err)\n\t\t\t\treturn err;\n\t\t}\n"
		    "#if SK_VNNI\n"
		    "\t\tif (M < 4) {\n\t\t\tfloat res[4][NB];\n"
		    "\t\t\tif (bi != qbi) {\n"
		    "\t\t\t\tfor (int64_t m = 0; m < M; m++)\n"
		    "\t\t\t\t\t%s(A + m * K, K, px[m], pda[m], pso[m], pcorr[m], ST_PBS);\n"
		    "\t\t\t\tqbi = bi;\n\t\t\t}\n"
		    "\t\t\tfor (; n < n1; n += 16)\n"
		    "\t\t\t\tfor (int64_t m = 0; m < M; m++)\n"
		    "\t\t\t\t\tsk_pdot16(P + n / 16 * (K / 32) * ST_PGB, px[m], pda[m], pso[m], pcorr[m], K,\n"
		    "\t\t\t\t\t\t  &res[m][n - n0], ST_PBS, %d);\n"
		    "\t\t\tfor (int64_t m = 0; m < M; m++)\n"
		    "\t\t\t\tst_store_row(t, seq, bi * M + m, n0, n1 - n0, res[m], C + m * N + n0);\n"
		    "\t\t\tcontinue;\n\t\t}\n#endif\n",
		    pi, pi, pi + 1, prep, digits);
}

/* b transposed: four columns at a time, against four rows of a at a time. */
static void emit_trans(struct emitter *e, enum strata_dtype bt)
{
	bool f32 = bt == STRATA_DTYPE_F32;
	const char *unpack = "ST_ROW";
	static const char qdot4[] = "sk_quant_dot4(B + n * RB, RB, qa[m], qs[m], K, out, ST_FMT)",
			  qdot1[] = "sk_quant_dot(B + n * RB, qa[m], qs[m], K, ST_FMT)";

	st_text_add(&e->t, "\t\tint64_t n = n0;\n");
	if (e->k->packed) {
		emit_packed_decode(e);
		bt = STRATA_DTYPE_UNKNOWN; /* no other decode path */
	}
	if (bt == STRATA_DTYPE_F32) {
		emit_decode(e, false,
			    "sk_dot1x4(A + m * K, (const float *)(B + n * RB), (const float *)(B + (n + 1) * RB),\n"
			    "\t\t\t\t\t\t  (const float *)(B + (n + 2) * RB), (const float *)(B + (n + 3) * RB), K,\n"
			    "\t\t\t\t\t\t  B + n * RB, out)",
			    "sk_dot(A + m * K, (const float *)(B + n * RB), K)");
	} else if (bt == STRATA_DTYPE_F16 || bt == STRATA_DTYPE_BF16) {
		st_text_add(&e->t, "#if SK_SIMD\n");
		emit_decode(e, false, "sk_hdot4(B + n * RB, RB, A + m * K, K, out, ST_FMT)",
			    "sk_hdot(B + n * RB, A + m * K, K, ST_FMT)");
		st_text_add(&e->t, "#endif\n");
	} else if (bt == STRATA_DTYPE_Q8_0) {
		st_text_add(&e->t, "#if SK_VNNI\n");
		emit_decode(e, true, qdot4, qdot1);
		st_text_add(&e->t, "#elif SK_SIMD\n");
		emit_decode(e, false, "sk_qdot4(B + n * RB, RB, A + m * K, K, out)", "sk_qdot(B + n * RB, A + m * K, K)");
		st_text_add(&e->t, "#endif\n");
	} else if (bt == STRATA_DTYPE_Q4_0 || bt == STRATA_DTYPE_Q4_1) {
		st_text_add(&e->t, "#if SK_SIMD\n");
		emit_decode(e, true, qdot4, qdot1);
		st_text_add(&e->t, "#endif\n");
	}
	if (!f32)
		st_text_add(&e->t, "\t\tfloat wbuf[4][K];\n");
	st_text_add(&e->t, "\t\tfor (; n + 4 <= n1; n += 4) {\n");
	for (int q = 0; q < 4; q++) {
		if (f32)
			st_text_add(&e->t, "\t\t\tconst float *w%d = (const float *)(B + (n + %d) * RB);\n", q, q);
		else
			st_text_add(&e->t, "\t\t\t%s(n + %d, wbuf[%d]);\n\t\t\tconst float *w%d = wbuf[%d];\n", unpack, q, q,
				    q, q);
	}
	st_text_add(&e->t,
		    "\t\t\tint64_t m = 0;\n"
		    "\t\t\tfor (; m + 4 <= M; m += 4) {\n"
		    "\t\t\t\tfloat d[4][4];\n"
		    "\t\t\t\tsk_dot4x4(A + m * K, K, w0, w1, w2, w3, K, d);\n"
		    "\t\t\t\tfor (int i = 0; i < 4; i++)\n"
		    "\t\t\t\t\tfor (int q = 0; q < 4; q++)\n"
		    "\t\t\t\t\t\tst_store(t, seq, bi * M + m + i, n + q, d[i][q], C + (m + i) * N + n + q);\n"
		    "\t\t\t}\n"
		    "\t\t\tfor (; m < M; m++) {\n"
		    "\t\t\t\tfloat d[4];\n"
		    "\t\t\t\tsk_dot1x4(A + m * K, w0, w1, w2, w3, K, NULL, d);\n"
		    "\t\t\t\tfor (int q = 0; q < 4; q++)\n"
		    "\t\t\t\t\tst_store(t, seq, bi * M + m, n + q, d[q], C + m * N + n + q);\n"
		    "\t\t\t}\n\t\t}\n"
		    "\t\tfor (; n < n1; n++) {\n");
	if (f32)
		st_text_add(&e->t, "\t\t\tconst float *w0 = (const float *)(B + n * RB);\n");
	else
		st_text_add(&e->t, "\t\t\t%s(n, wbuf[0]);\n\t\t\tconst float *w0 = wbuf[0];\n", unpack);
	st_text_add(&e->t,
		    "\t\t\tfor (int64_t m = 0; m < M; m++)\n"
		    "\t\t\t\tst_store(t, seq, bi * M + m, n, sk_dot(A + m * K, w0, K), C + m * N + n);\n"
		    "\t\t}\n");
}

/* One core's bytes of the cache at @level holding data; @fallback where
 * the topology does not say. */
static uint64_t cache_bytes(const struct strata_graph *g, unsigned level, uint64_t fallback)
{
	const struct strata_topo *topo = g->rt ? g->rt->topo : NULL;
	struct strata_topo_cache c;

	for (unsigned i = 0; topo && strata_topo_cache(topo, i, &c) == 0; i++)
		if (c.level == level && c.type != STRATA_CACHE_INSTRUCTION && c.size_bytes)
			return c.size_bytes;
	return fallback;
}

/*
 * Prefill, from four rows of a on: each chunk's items of one batch go to
 * kernels/gemm_block.h's sk_gemm_block() SK_NCB (bf16 tiles: SK_BNCB) at
 * a time, blocked for the caches the topology reports.  It reads f32,
 * f16 and bf16 weights as stored, widening them as it packs them; a GGUF
 * format is widened a block at a time first (ST_ROW), the block's f32
 * rows at most half of L2.  The packed block (and those rows) live on the
 * heap: too much for a caller's stack.  C holds partial sums between passes over K (so plan.c
 * never lets a matmul's result share memory with its epilogue's
 * arguments), and the epilogue runs on each row after its last pass.
 */
static void emit_gemm(struct emitter *e)
{
	st_text_add(&e->t, "#define ST_L1D %llu\n#define ST_L2 %llu\n",
		    (unsigned long long)cache_bytes(e->g, 1, 32 << 10), (unsigned long long)cache_bytes(e->g, 2, 1 << 20));
	st_emit_kernel_text(e, ST_TEXT_GEMM_F32);
	st_emit_kernel_text(e, ST_TEXT_GEMM_BF16);
	st_emit_kernel_text(e, ST_TEXT_GEMM_BLOCK);
	if (e->k->nmembers > 1)
		st_text_add(&e->t, "static void st_gemm_done(void *const *t, int64_t seq, int64_t r, int64_t n0, int64_t n, float *c)\n"
				   "{\n\tst_store_row(t, seq, r, n0, n, c, c);\n}\n\n");
}

/*
 * A packed weight with AVX-512 VNNI (kernels/gemm_packed.h): each item's
 * tile of 32 rows of b, packed first if no run has yet, against all of
 * a's rows, prepared once per batch a chunk meets: from four rows on, as
 * decode's three digits, or rounded to 8 bits as decode then rounds them
 * too (int8_activations): either way a row's result is decode's to the
 * bit.
 */
static void emit_packed_items(struct emitter *e, unsigned a_arg, unsigned b_arg)
{
	unsigned pi = 1 + e->k->nargs;
	int digits;
	const char *prep = row_prep(e->k, &digits);

	st_text_add(&e->t,
		    "#if SK_VNNI\n"
		    "\tif (M >= 4) {\n"
		    "\t\tconst int64_t nb = K / 32, digits = %d;\n"
		    "\t\tint8_t *x = malloc((size_t)(M * digits * K) + (size_t)(M * nb) * 12);\n"
		    "\t\tfloat *da = (float *)(x + M * digits * K), *so = da + M * nb;\n"
		    "\t\tint32_t *corr = (int32_t *)(so + M * nb);\n"
		    "\t\tint64_t xbi = -1;\n\n"
		    "\t\tif (!x)\n\t\t\treturn -ENOMEM;\n"
		    "\t\tfor (int64_t it = lo; it < hi; it++) {\n"
		    "\t\t\tconst int64_t bi = it / nblk, n0 = (it %% nblk) * NB, n1 = n0 + NB < N ? n0 + NB : N;\n"
		    "\t\t\tconst float *A = (const float *)t[%u] + bi * M * K;\n"
		    "\t\t\tfloat *C = (float *)t[0] + bi * M * N;\n"
		    "\t\t\tconst int err = sk_ensure_packed((const uint8_t *)t[%u], (uint8_t *)t[%u], (uint32_t *)t[%u],\n"
		    "\t\t\t\t\t\t\t it %% nblk, n0, n1, K, ST_PBS);\n\n"
		    "\t\t\tif (err) {\n\t\t\t\tfree(x);\n\t\t\t\treturn err;\n\t\t\t}\n"
		    "\t\t\tif (bi != xbi) {\n"
		    "\t\t\t\tfor (int64_t m = 0; m < M; m++)\n"
		    "\t\t\t\t\t%s(A + m * K, K, x + m * digits * K, da + m * nb, so + m * nb, corr + m * nb, ST_PBS);\n"
		    "\t\t\t\txbi = bi;\n\t\t\t}\n"
		    "\t\t\tfor (int64_t m = 0; m < M; m += SK_PMR) {\n"
		    "\t\t\t\tconst int mr = M - m < SK_PMR ? (int)(M - m) : SK_PMR;\n\n"
		    "\t\t\t\tsk_pgemm_tiles((int)(n1 - n0 + 15) / 16, digits, (const uint8_t *)t[%u] + n0 / 16 * nb * ST_PGB,\n"
		    "\t\t\t\t\t       K, x + m * digits * K, da + m * nb, so + m * nb, corr + m * nb, mr, C + m * N + n0,\n"
		    "\t\t\t\t\t       N, (int)(n1 - n0), ST_PBS);\n",
		    digits, a_arg, b_arg, pi, pi + 1, prep, pi);
	if (e->k->nmembers > 1)
		st_text_add(&e->t, "\t\t\t\tfor (int i = 0; i < mr; i++)\n"
				   "\t\t\t\t\tst_gemm_done(t, seq, bi * M + m + i, n0, n1 - n0, C + (m + i) * N + n0);\n");
	st_text_add(&e->t, "\t\t\t}\n\t\t}\n\t\tfree(x);\n\t\treturn 0;\n\t}\n#endif\n");
}

/* @t's format name where the micro-kernel reads it as stored (f32, f16,
 * bf16), else NULL: widened a block at a time first. */
static const char *direct_format(enum strata_dtype t)
{
	return t == STRATA_DTYPE_F32 ? "SK_F32" : t == STRATA_DTYPE_F16 ? "SK_F16" : t == STRATA_DTYPE_BF16 ? "SK_BF16" : NULL;
}

/* The kernel's start from four rows of a on (emit_gemm()'s comment).  A
 * packed weight takes the integer path; packed weights exist only where
 * the kernels' CPU has AVX-512 VNNI (emit_packed.c), and the per-item
 * path below stays their fallback. */
static void emit_gemm_items(struct emitter *e, enum strata_dtype bt, unsigned a_arg, unsigned b_arg, const char *b_batch)
{
	const char *fmt = direct_format(bt);

	if (e->k->packed) {
		emit_packed_items(e, a_arg, b_arg);
		return;
	}
	st_text_add(&e->t, "\tif (M >= 4) {\n");
	/* bf: a's rows may be rounded to bf16 for AVX512_BF16's dot products */
	if (e->k->bf16_activations)
		st_text_add(&e->t, "#if SK_BF16DOT\n\t\tconst int bf = K %% 2 == 0;\n#else\n\t\tconst int bf = 0;\n#endif\n");
	else
		st_text_add(&e->t, "\t\tconst int bf = 0;\n");
	/* a packed whole once (sk_prep_f32, sk_prep_bf16) where each worker's
	 * copy stays within 64 MiB and can be had, else a tile each pass
	 * (SK_A_ROWS, in f32) */
	st_text_add(&e->t,
		    "\t\tenum sk_a_form form = bf && sk_bf16_words(M, K) <= (16 << 20) ? SK_A_BF16\n"
		    "\t\t\t\t     : sk_f32_tiled_floats(M, K) <= (16 << 20) ? SK_A_TILED : SK_A_ROWS;\n"
		    "\t\tconst int64_t words = form == SK_A_BF16 ? sk_bf16_words(M, K) : sk_f32_tiled_floats(M, K);\n"
		    "\t\tvoid *x = form == SK_A_ROWS ? NULL : aligned_alloc(64, (size_t)words * 4);\n\n"
		    "\t\tif (!x)\n\t\t\tform = SK_A_ROWS;\n"
		    "\t\tconst int64_t kcmax = form == SK_A_BF16 ? SK_BKC : SK_KC, ncb = form == SK_A_BF16 ? SK_BNCB : SK_NCB;\n"
		    "\t\tint64_t most = hi - lo < ncb ? hi - lo : ncb;\n");
	if (!fmt)
		st_text_add(&e->t, "\t\tconst int64_t fit = (int64_t)(ST_L2 / 2) / (32 * K * 4);\n\n"
				   "\t\tmost = fit < 1 ? 1 : fit < most ? fit : most;\n");
	st_text_add(&e->t,
		    "\t\tfloat *bp = aligned_alloc(64, (size_t)((most * 32 + SK_MR) * kcmax + %s) * sizeof(float));\n"
		    "\t\tint64_t xbi = -1;\n\n"
		    "\t\tif (!bp) {\n\t\t\tfree(x);\n\t\t\treturn -ENOMEM;\n\t\t}\n"
		    "\t\tfor (int64_t it = lo; it < hi;) {\n"
		    "\t\t\tconst int64_t bi = it / nblk, b0 = it %% nblk;\n"
		    "\t\t\tint64_t nb = hi - it < nblk - b0 ? hi - it : nblk - b0;\n"
		    "\t\t\tnb = nb < most ? nb : most;\n"
		    "\t\t\tconst int64_t n1 = (b0 + nb) * NB < N ? (b0 + nb) * NB : N;\n"
		    "\t\t\tconst float *A = (const float *)t[%u] + bi * M * K;\n"
		    "\t\t\tconst uint8_t *B = (const uint8_t *)t[%u] + %s;\n"
		    "\t\t\tconst void *rows = B + b0 * NB * RB;\n\n"
		    "\t\t\tif (form == SK_A_TILED && bi != xbi)\n"
		    "\t\t\t\tsk_prep_f32(A, M, K, (float *)x);\n"
		    "#if SK_BF16DOT\n"
		    "\t\t\tif (form == SK_A_BF16 && bi != xbi)\n"
		    "\t\t\t\tsk_prep_bf16(A, M, K, (uint32_t *)x);\n"
		    "#endif\n"
		    "\t\t\txbi = bi;\n",
		    fmt ? "0" : "most * 32 * K", a_arg, b_arg, b_batch);
	if (!fmt)
		st_text_add(&e->t, "\t\t\tfor (int64_t j = b0 * NB; j < n1; j++)\n"
				   "\t\t\t\tST_ROW(j, bp + (most * 32 + SK_MR) * kcmax + (j - b0 * NB) * K);\n"
				   "\t\t\trows = bp + (most * 32 + SK_MR) * kcmax;\n");
	st_text_add(&e->t,
		    "\t\t\tsk_gemm_block(form == SK_A_ROWS ? (const void *)A : x, form, rows, %s, (float *)t[0] + bi * M * N, M,\n"
		    "\t\t\t\t      K, N, b0 * NB, n1, kcmax, bp, bp + most * 32 * kcmax, %s, t, seq, bi * M);\n"
		    "\t\t\tit += nb;\n"
		    "\t\t}\n\t\tfree(bp);\n\t\tfree(x);\n\t\treturn 0;\n\t}\n",
		    fmt ? fmt : "SK_F32", e->k->nmembers > 1 ? "st_gemm_done" : "NULL");
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
		    "\t\t\tst_store_row(t, seq, bi * M + m, n0, n1 - n0, acc, C + m * N + n0);\n"
		    "\t\t}\n",
		    NB);
}

int st_emit_matmul(struct emitter *e)
{
	const struct st_kernel *k = e->k;
	const struct st_node *c = &e->g->nodes[k->core];
	const struct st_node *a = &e->g->nodes[c->src[0]], *b = &e->g->nodes[c->src[1]];
	bool trans = c->p.flags & STRATA_MATMUL_TRANS_B, shared = b->shape.ndim == 2;
	bool f32 = b->dtype == STRATA_DTYPE_F32;
	unsigned a_arg = (unsigned)st_emit_arg_index(k, c->src[0]) + 1, b_arg = (unsigned)st_emit_arg_index(k, c->src[1]) + 1;
	struct pad4 pa = st_emit_pad(&a->shape), pb = st_emit_pad(&b->shape);
	char batch[48], m[48], kk[48], n[48], rb[64];

	/* b as is is f32 (fold.c widens any other storage). */
	if (trans && k->packed) {
		st_emit_unpack(e, b->dtype);
		st_emit_packed(e, b->dtype);
		st_emit_kernel_text(e, ST_TEXT_GEMM_PACKED);
	} else if (trans && b->dtype != STRATA_DTYPE_F32) {
		st_emit_stored_dots(e, b->dtype);
	}
	if (trans) {
		st_emit_kernel_text(e, ST_TEXT_FORMAT); /* sk_sweep() */
		st_emit_kernel_text(e, ST_TEXT_DOT_F32);
	}
	emit_store(e);
	if (trans)
		emit_gemm(e);
	if (trans && !f32)
		st_text_add(&e->t, "#define ST_ROW(row, w) %s\n",
			    k->packed ? "sk_unpack_packed(P, (row), (w), K, ST_FMT)" : "sk_unpack(B + (row) * RB, (w), K, ST_FMT)");
	st_emit_product(pa.d, 2, batch);
	st_emit_product(&pa.d[2], 1, m);
	st_emit_product(&pa.d[3], 1, kk);
	st_emit_product(&pb.d[trans ? 2 : 3], 1, n);
	st_text_add(&e->t, "#define ST_Q8 %d\n", trans && b->dtype == STRATA_DTYPE_Q8_0);
	st_text_add(&e->t,
		    "int strata_kernel(void *const *t, int64_t seq, int64_t lo, int64_t hi)\n{\n"
		    "\tconst int64_t M = %s, K = %s, N = %s, NB = %d, nblk = (N + NB - 1) / NB;\n"
		    "\tconst int64_t RB = %s;\n"
		    "\t(void)seq; (void)RB; /* %s batches */\n"
		    "%s",
		    m, kk, n, NB, trans ? row_bytes(b->dtype, "K", rb, sizeof(rb)) : "(N * 4)", batch,
		    k->packed ? "#if SK_VNNI\n"
				"\t/* a's rows as digits, made once per batch a chunk meets */\n"
				"\tint8_t px[4][3 * K] __attribute__((aligned(64)));\n"
				"\tfloat pda[4][K / 32], pso[4][K / 32];\n"
				"\tint32_t pcorr[4][K / 32];\n"
				"\tint64_t qbi = -1;\n"
				"#endif\n"
		    : trans && (b->dtype == STRATA_DTYPE_Q4_0 || b->dtype == STRATA_DTYPE_Q4_1 || b->dtype == STRATA_DTYPE_Q8_0)
			    ? "#if SK_SIMD && (SK_VNNI || !ST_Q8)\n"
			      "\t/* a's rows in nibble order, made once per batch a chunk meets */\n"
			      "\tsk_qa_t qa[4][SK_QA_LEN(K)] __attribute__((aligned(64)));\n"
			      "\tfloat qs[4][K / 32 * 2];\n"
			      "\tint64_t qbi = -1;\n"
			      "#endif\n"
			    : "");
	if (trans)
		emit_gemm_items(e, b->dtype, a_arg, b_arg, shared ? "0" : "bi * K * N * 4");
	st_text_add(&e->t,
		    "\tfor (int64_t it = lo; it < hi; it++) {\n"
		    "\t\tconst int64_t bi = it / nblk, n0 = (it %% nblk) * NB, n1 = n0 + NB < N ? n0 + NB : N;\n"
		    "\t\tconst float *A = (const float *)t[%u] + bi * M * K;\n"
		    "\t\tconst uint8_t *B = (const uint8_t *)t[%u] + %s;\n"
		    "\t\tfloat *C = (float *)t[0] + bi * M * N;\n",
		    a_arg, b_arg, shared ? "0" : "bi * K * N * 4");
	if (trans)
		emit_trans(e, b->dtype);
	else
		emit_plain(e);
	st_text_add(&e->t, "\t}\n\treturn 0;\n}\n");
	return 0;
}
