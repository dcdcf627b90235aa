/* SPDX-License-Identifier: MIT */
/*
 * core/graph/emit_packed.c — C source for decode on block-quantized
 * weights packed sixteen rows to a block.
 *
 * In GGUF's layout a row's blocks follow each other, so a dot product
 * lays one row's nibbles along a vector register, and every block ends in
 * a horizontal step that mixes lanes and converts its scale (about 19
 * vector instructions for 64 weights on AVX-512 VNNI, which bound a
 * SmolLM2 decode step).  Packed, block b of rows 16g … 16g + 15 is one
 * piece of 16 × (block bytes): the 16 rows' scales (f16, then Q4_1's
 * minimums), then the quants a 32-bit word per row, word j of every row
 * next to each other:
 *
 *   Q4_1  d[16] m[16] | q[4][16] (bytes 4j … 4j + 3 of each row's 16)  320 bytes
 *   Q4_0  d[16]       | q[4][16]                                         288
 *   Q8_0  d[16]       | q[8][16] (made unsigned: q + 128, as q ^ 0x80) 544
 *
 * (The layout, packing and reading back are kernels/packed.h's.)  A
 * 512-bit load then holds four weights of each of the 16 rows, lane r
 * being row r: the multiply-adds need no horizontal step, a's values come
 * broadcast from memory, and one conversion and one multiply-add per block
 * apply the 16 rows' scales (about 50 instructions for 512 weights).  The
 * group's blocks follow each other, so a tile of rows is one stream.
 *
 * The program keeps the packed copy (the caller's weight stays as it is,
 * for the embedding, the interpreter and other programs), or, for a weight
 * the caller lent (strata_graph_weight_lend()) and nothing else reads,
 * rewrites the weight in its own bytes.  Each tile of 32 rows is packed by
 * the first chunk that meets it, at the first run.
 *
 * a's row is cut into three 8-bit digits per value as in the unpacked
 * path (emit_weights.c), in natural order, one array per digit.  A row's
 * block sum must fit 31 bits (the arithmetic in between wraps and comes
 * back): 32 · 15 · 2^22 for 4 bits, 32 · 128 · 2^19 for Q8_0, so Q8_0's
 * values keep 20 bits (the relative rounding 2^-20 of the block's largest,
 * below f32's own on a 32-term sum).
 */
#include <strata/topo.h>

#include "core/graph/emit_int.h"

bool st_packs(const struct strata_graph *g, const struct st_kernel *k, uint64_t cpu_features)
{
	const uint64_t need = 1ull << STRATA_CPU_AVX512F | 1ull << STRATA_CPU_AVX512BW | 1ull << STRATA_CPU_AVX512VL |
			      1ull << STRATA_CPU_AVX512VNNI | 1ull << STRATA_CPU_F16C;
	const struct st_node *c = &g->nodes[k->core], *b;

	if (k->kind != ST_KERNEL_MATMUL || !(c->p.flags & STRATA_MATMUL_TRANS_B) || (cpu_features & need) != need)
		return false;
	b = &g->nodes[c->src[1]];
	return st_weight_packable(b);
}

/* The layout (kernels/packed.h: packing a tile, reading a block back) and
 * a row of the packed copy widened for the prefill path, any CPU: each
 * block put back together and given to st_unpack(), so the values are its
 * own. */
static void emit_layout(struct emitter *e, int bs)
{
	st_emit_kernel_text(e, ST_TEXT_PACKED);
	st_text_add(&e->t, "#define ST_PBS %d /* bytes of a row's block */\n#define ST_PGB (16 * ST_PBS)\n"
			   "static inline void st_unpack_packed(const uint8_t *P, int64_t n, float *w, int64_t K)\n{\n"
			   "\tuint8_t blk[ST_PBS];\n"
			   "\tfor (int64_t b = 0; b < K / 32; b++) {\n"
			   "\t\tsk_packed_block(P, n, b, K, ST_PBS, blk);\n"
			   "\t\tst_unpack(blk, w + 32 * b, 32);\n\t}\n}\n",
		    bs);
}

/* a's row as digits, and the 16-row dot product (AVX-512 VNNI). */
static void emit_dot16(struct emitter *e, enum strata_dtype t, int qoff)
{
	bool q8 = t == STRATA_DTYPE_Q8_0;

	st_text_add(&e->t,
		    "#if defined(ST_SIMD) && defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)\n"
		    "#define ST_PDIGITS 1\n#define ST_PVMAX %d\n"
		    "/* Row a as three digit arrays x[0 … K), x[K …), x[2K …) (most significant\n"
		    " * first), and per block: its scale da, the offset term's factor so, and\n"
		    " * (Q8_0) what the unsigned weights add, 128 · Σv. */\n"
		    "static inline void st_prep_packed(const float *a, int64_t K, int8_t *x, float *da, float *so, int32_t *corr)\n{\n"
		    "\tconst __m512i r128 = _mm512_set1_epi32(128), m255 = _mm512_set1_epi32(255);\n"
		    "\tconst __m512i hi = _mm512_set1_epi32(ST_PVMAX), lo = _mm512_set1_epi32(-ST_PVMAX);\n"
		    "\tfor (int64_t b = 0; b < K / 32; b++) {\n"
		    "\t\tconst __m512 v0 = _mm512_loadu_ps(a + b * 32), v1 = _mm512_loadu_ps(a + b * 32 + 16);\n"
		    "\t\tconst float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));\n"
		    "\t\tconst float s = _mm512_reduce_add_ps(_mm512_add_ps(v0, v1));\n"
		    "\t\tconst float d = amax / (float)ST_PVMAX, inv = d > 0 ? 1.0f / d : 0.0f;\n"
		    "\t\t__m512i sum = _mm512_setzero_si512();\n"
		    "\t\tfor (int h = 0; h < 2; h++) {\n"
		    "\t\t\t__m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(h ? v1 : v0, _mm512_set1_ps(inv)));\n"
		    "\t\t\tv = _mm512_min_epi32(_mm512_max_epi32(v, lo), hi);\n"
		    "\t\t\tsum = _mm512_add_epi32(sum, v);\n"
		    "\t\t\tconst __m512i d0 = _mm512_sub_epi32(_mm512_and_si512(_mm512_add_epi32(v, r128), m255), r128);\n"
		    "\t\t\tconst __m512i w = _mm512_srai_epi32(_mm512_sub_epi32(v, d0), 8);\n"
		    "\t\t\tconst __m512i d1 = _mm512_sub_epi32(_mm512_and_si512(_mm512_add_epi32(w, r128), m255), r128);\n"
		    "\t\t\tconst __m512i d2 = _mm512_srai_epi32(_mm512_sub_epi32(w, d1), 8);\n"
		    "\t\t\t_mm_storeu_si128((__m128i *)(x + b * 32 + h * 16), _mm512_cvtepi32_epi8(d2));\n"
		    "\t\t\t_mm_storeu_si128((__m128i *)(x + K + b * 32 + h * 16), _mm512_cvtepi32_epi8(d1));\n"
		    "\t\t\t_mm_storeu_si128((__m128i *)(x + 2 * K + b * 32 + h * 16), _mm512_cvtepi32_epi8(d0));\n"
		    "\t\t}\n"
		    "\t\tda[b] = d, so[b] = %s, corr[b] = %s;\n"
		    "\t}\n}\n"
		    "static inline __m512i st_bc4(const int8_t *p)\n{\n"
		    "\tint32_t v;\n\tmemcpy(&v, p, 4);\n\treturn _mm512_set1_epi32(v);\n}\n"
		    "/* Rows 16g … 16g + 15 (their group at @P) dotted with a's row: out[16]. */\n"
		    "static inline void st_pdot16(const uint8_t *P, const int8_t *x, const float *da, const float *so,\n"
		    "\t\t\t     const int32_t *corr, int64_t K, float *out)\n{\n"
		    "\t__m512 acc = _mm512_setzero_ps(), e = _mm512_setzero_ps();\n"
		    "\tconst __m512i low = _mm512_set1_epi8(15);\n"
		    "\t(void)so, (void)corr, (void)low;\n"
		    "\tfor (int64_t b = 0; b < K / 32; b++, P += ST_PGB) {\n"
		    "\t\tconst int8_t *xb = x + b * 32;\n"
		    "\t\t__m512i a2 = _mm512_setzero_si512(), a1 = a2, a0 = a2;\n"
		    "\t\tst_sweep(P, 0, ST_PGB);\n",
		    q8 ? (1 << 19) - 1 : (1 << 22) - 1,
		    t == STRATA_DTYPE_Q4_1 ? "s" : t == STRATA_DTYPE_Q4_0 ? "-8.0f * s" : "0",
		    q8 ? "128 * _mm512_reduce_add_epi32(sum)" : "0");
	if (q8)
		st_text_add(&e->t, "\t\tfor (int j = 0; j < 8; j++) {\n"
				   "\t\t\tconst __m512i w = _mm512_loadu_si512(P + 32 + 64 * j);\n"
				   "\t\t\ta2 = _mm512_dpbusd_epi32(a2, w, st_bc4(xb + 4 * j));\n"
				   "\t\t\ta1 = _mm512_dpbusd_epi32(a1, w, st_bc4(xb + K + 4 * j));\n"
				   "\t\t\ta0 = _mm512_dpbusd_epi32(a0, w, st_bc4(xb + 2 * K + 4 * j));\n\t\t}\n");
	else
		st_text_add(&e->t, "\t\tfor (int j = 0; j < 4; j++) {\n"
				   "\t\t\tconst __m512i w = _mm512_loadu_si512(P + %d + 64 * j);\n"
				   "\t\t\tconst __m512i wl = _mm512_and_si512(w, low), wh = _mm512_and_si512(_mm512_srli_epi16(w, 4), low);\n"
				   "\t\t\ta2 = _mm512_dpbusd_epi32(a2, wl, st_bc4(xb + 4 * j));\n"
				   "\t\t\ta1 = _mm512_dpbusd_epi32(a1, wl, st_bc4(xb + K + 4 * j));\n"
				   "\t\t\ta0 = _mm512_dpbusd_epi32(a0, wl, st_bc4(xb + 2 * K + 4 * j));\n"
				   "\t\t\ta2 = _mm512_dpbusd_epi32(a2, wh, st_bc4(xb + 16 + 4 * j));\n"
				   "\t\t\ta1 = _mm512_dpbusd_epi32(a1, wh, st_bc4(xb + K + 16 + 4 * j));\n"
				   "\t\t\ta0 = _mm512_dpbusd_epi32(a0, wh, st_bc4(xb + 2 * K + 16 + 4 * j));\n\t\t}\n",
			    qoff * 16);
	st_text_add(&e->t, "\t\t__m512i s = _mm512_add_epi32(_mm512_slli_epi32(a2, 8), a1);\n"
			   "\t\ts = _mm512_add_epi32(_mm512_slli_epi32(s, 8), a0);\n"
			   "\t\tconst __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)P));\n");
	if (q8)
		st_text_add(&e->t, "\t\ts = _mm512_sub_epi32(s, _mm512_set1_epi32(corr[b]));\n");
	st_text_add(&e->t, "\t\tacc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(d, _mm512_set1_ps(da[b])), acc);\n");
	if (t == STRATA_DTYPE_Q4_1)
		st_text_add(&e->t, "\t\te = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(P + 32))),\n"
				   "\t\t\t\t    _mm512_set1_ps(so[b]), e);\n");
	else if (t == STRATA_DTYPE_Q4_0)
		st_text_add(&e->t, "\t\te = _mm512_fmadd_ps(d, _mm512_set1_ps(so[b]), e);\n");
	st_text_add(&e->t, "\t}\n\t_mm512_storeu_ps(out, _mm512_add_ps(acc, e));\n}\n"
			   "#else\n#define ST_PDIGITS 0\n#endif\n\n");
}

/* A row's block bytes, and where its quants start in them (in 16ths of a
 * group's block: after the d's, and Q4_1's m's). */
static int block_bytes(enum strata_dtype t)
{
	return t == STRATA_DTYPE_Q8_0 ? 34 : t == STRATA_DTYPE_Q4_1 ? 20 : 18;
}

static int quant_offset(enum strata_dtype t)
{
	return t == STRATA_DTYPE_Q4_1 ? 4 : 2;
}

void st_emit_packed_rows(struct emitter *e, enum strata_dtype t)
{
	emit_layout(e, block_bytes(t));
}

void st_emit_packed(struct emitter *e, enum strata_dtype t)
{
	emit_layout(e, block_bytes(t));
	emit_dot16(e, t, quant_offset(t));
}
