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

/*
 * st_qdot(): one row of a against one row of b in a block format, without
 * unpacking it to memory: per block, d·Σ q·a (+ m·Σ a for Q4_1).  Used when
 * a has few rows (decode), where unpacking a row of b would be read once.
 */
static void emit_block_dot(struct emitter *e, enum strata_dtype t)
{
	int bs = t == STRATA_DTYPE_Q8_0 ? 34 : t == STRATA_DTYPE_Q4_1 ? 20 : 18, qoff = t == STRATA_DTYPE_Q4_1 ? 4 : 2;
	bool q8 = t == STRATA_DTYPE_Q8_0;

	/* AVX-512: a block is two 16-lane vectors.  st_qblock() adds one block
	 * to an accumulator; the loop takes blocks in pairs, with separate
	 * accumulators, so the FMA chains do not bound it. */
	st_text_add(&e->t, "#if defined(ST_SIMD) && defined(__AVX512F__)\n"
			   "static inline __m512 st_qblock(const uint8_t *p, const float *a, __m512 acc)\n{\n"
			   "\tconst __m512 a0 = _mm512_loadu_ps(a), a1 = _mm512_loadu_ps(a + 16);\n"
			   "\t__m512 q0, q1;\n");
	if (q8)
		st_text_add(&e->t, "\tq0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 2))));\n"
				   "\tq1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 18))));\n");
	else
		st_text_add(&e->t,
			    "\tconst __m128i bytes = _mm_loadu_si128((const __m128i *)(p + %d)), low = _mm_set1_epi8(0x0f);\n"
			    "\tq0 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(bytes, low)));\n"
			    "\tq1 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(bytes, 4), low)));\n",
			    qoff);
	st_text_add(&e->t, "\tacc = _mm512_fmadd_ps(_mm512_fmadd_ps(q1, a1, _mm512_mul_ps(q0, a0)), _mm512_set1_ps(st_half_at(p)), acc);\n");
	if (!q8)
		st_text_add(&e->t, "\tacc = _mm512_fmadd_ps(_mm512_add_ps(a0, a1), _mm512_set1_ps(%s), acc);\n",
			    t == STRATA_DTYPE_Q4_1 ? "st_half_at(p + 2)" : "-8.0f * st_half_at(p)");
	st_text_add(&e->t, "\treturn acc;\n}\n"
			   "static inline float st_qdot(const uint8_t *p, const float *a, int64_t K)\n{\n"
			   "\t__m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();\n"
			   "\tint64_t b = 0;\n"
			   "\tfor (; b + 2 <= K / 32; b += 2) {\n"
			   "\t\tacc0 = st_qblock(p + b * %d, a + b * 32, acc0);\n"
			   "\t\tacc1 = st_qblock(p + (b + 1) * %d, a + (b + 1) * 32, acc1);\n"
			   "\t}\n"
			   "\tif (b < K / 32)\n\t\tacc0 = st_qblock(p + b * %d, a + b * 32, acc0);\n"
			   "\treturn _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));\n"
			   "}\n"
			   "/* Four rows of b at once: four streams from memory in flight. */\n"
			   "static inline void st_qdot4(const uint8_t *p, int64_t rb, const float *a, int64_t K, float d[4])\n{\n"
			   "\t__m512 acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;\n"
			   "\tfor (int64_t b = 0; b < K / 32; b++) {\n"
			   "\t\tacc0 = st_qblock(p + b * %d, a + b * 32, acc0);\n"
			   "\t\tacc1 = st_qblock(p + rb + b * %d, a + b * 32, acc1);\n"
			   "\t\tacc2 = st_qblock(p + 2 * rb + b * %d, a + b * 32, acc2);\n"
			   "\t\tacc3 = st_qblock(p + 3 * rb + b * %d, a + b * 32, acc3);\n"
			   "\t}\n"
			   "\td[0] = _mm512_reduce_add_ps(acc0), d[1] = _mm512_reduce_add_ps(acc1);\n"
			   "\td[2] = _mm512_reduce_add_ps(acc2), d[3] = _mm512_reduce_add_ps(acc3);\n"
			   "}\n#elif defined(ST_SIMD)\n",
		    bs, bs, bs, bs, bs, bs, bs);
	/* AVX2: four 8-lane vectors a block. */
	st_text_add(&e->t, "static inline float st_qdot(const uint8_t *p, const float *a, int64_t K)\n{\n"
			   "\t__m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();\n"
			   "\tfor (int64_t b = 0; b < K / 32; b++, p += %d, a += 32) {\n"
			   "\t\tconst __m256 a0 = _mm256_loadu_ps(a), a1 = _mm256_loadu_ps(a + 8), a2 = _mm256_loadu_ps(a + 16),\n"
			   "\t\t\t     a3 = _mm256_loadu_ps(a + 24);\n"
			   "\t\t__m256 q0, q1, q2, q3;\n",
		    bs);
	if (q8)
		st_text_add(&e->t, "\t\tq0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(p + 2))));\n"
				   "\t\tq1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(p + 10))));\n"
				   "\t\tq2 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(p + 18))));\n"
				   "\t\tq3 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(p + 26))));\n");
	else
		st_text_add(&e->t,
			    "\t\tconst __m128i bytes = _mm_loadu_si128((const __m128i *)(p + %d)), low = _mm_set1_epi8(0x0f);\n"
			    "\t\tconst __m128i lo = _mm_and_si128(bytes, low), hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), low);\n"
			    "\t\tq0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo));\n"
			    "\t\tq1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)));\n"
			    "\t\tq2 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi));\n"
			    "\t\tq3 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)));\n",
			    qoff);
	st_text_add(&e->t, "\t\tconst __m256 dot = _mm256_fmadd_ps(q3, a3, _mm256_fmadd_ps(q2, a2, _mm256_fmadd_ps(q1, a1, _mm256_mul_ps(q0, a0))));\n"
			   "\t\tacc = _mm256_fmadd_ps(dot, _mm256_set1_ps(st_half_at(p)), acc);\n");
	if (!q8)
		st_text_add(&e->t, "\t\taccm = _mm256_fmadd_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),\n"
				   "\t\t\t\t       _mm256_set1_ps(%s), accm);\n",
			    t == STRATA_DTYPE_Q4_1 ? "st_half_at(p + 2)" : "-8.0f * st_half_at(p)");
	st_text_add(&e->t, "\t}\n\tacc = _mm256_add_ps(acc, accm);\n"
			   "\tfloat s[8];\n\t_mm256_storeu_ps(s, acc);\n"
			   "\treturn ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));\n}\n"
			   "static inline void st_qdot4(const uint8_t *p, int64_t rb, const float *a, int64_t K, float d[4])\n{\n"
			   "\tfor (int q = 0; q < 4; q++)\n\t\td[q] = st_qdot(p + q * rb, a, K);\n}\n#endif\n\n");
}

/*
 * Decode with 4-bit blocks: the row of a is quantized to 8 bits per block
 * of 32 (scale amax/127), as llama.cpp does, so that a block's dot product
 * is integer multiply-adds (nibble × int8, summed in fours to 32 bits)
 * rather than nibbles widened to floats.  Per block of a, ds[] holds the
 * scale da and the factor of the block's offset term: Σa for Q4_1 (times
 * its m), −8·Σqa for Q4_0 (times d·da).  The result differs from the f32
 * dot product by the rounding of a: about 1e-3 of its size.
 *
 * Port 5 (shuffles, inserts, moves to vector registers) is what bounds
 * this loop on Intel cores, so a block's 16 bytes are broadcast to both
 * halves of a register by a load and split into low and high nibbles by a
 * variable shift, and its two f16 scales are converted together.
 */
static void emit_int8_dot(struct emitter *e, enum strata_dtype t)
{
	bool q41 = t == STRATA_DTYPE_Q4_1;

	st_text_add(&e->t,
		    "#ifdef ST_SIMD\n"
		    "#if defined(__AVX512VNNI__) && defined(__AVX512VL__)\n"
		    "#define ST_DOT(q, x) _mm256_dpbusd_epi32(_mm256_setzero_si256(), (q), (x))\n"
		    "#else\n"
		    "#define ST_DOT(q, x) _mm256_madd_epi16(_mm256_maddubs_epi16((q), (x)), _mm256_set1_epi16(1))\n"
		    "#endif\n"
		    "static inline float st_hsum8(__m256 v)\n{\n"
		    "\t__m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));\n"
		    "\tq = _mm_add_ps(q, _mm_movehl_ps(q, q));\n"
		    "\treturn _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));\n}\n"
		    "static inline void st_quant_row(const float *a, int64_t K, int8_t *qa, float *ds)\n{\n"
		    "\tconst __m256 sign = _mm256_set1_ps(-0.0f);\n"
		    "\tfor (int64_t b = 0; b < K / 32; b++) {\n"
		    "\t\tconst float *x = a + b * 32;\n"
		    "\t\tconst __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8), v2 = _mm256_loadu_ps(x + 16),\n"
		    "\t\t\t     v3 = _mm256_loadu_ps(x + 24);\n"
		    "\t\tconst __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),\n"
		    "\t\t\t\t\t _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));\n"
		    "\t\t__m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));\n"
		    "\t\tm4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));\n"
		    "\t\tm4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));\n"
		    "\t\tconst float d = _mm_cvtss_f32(m4) / 127.0f, inv = d > 0 ? 1.0f / d : 0.0f;\n"
		    "\t\tconst __m256 iv = _mm256_set1_ps(inv);\n"
		    "\t\t__m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, iv)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, iv));\n"
		    "\t\t__m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, iv)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, iv));\n"
		    "\t\tds[2 * b] = d;\n");
	if (q41)
		st_text_add(&e->t, "\t\tds[2 * b + 1] = st_hsum8(_mm256_add_ps(_mm256_add_ps(v0, v1), _mm256_add_ps(v2, v3)));\n");
	else
		st_text_add(&e->t, "\t\tds[2 * b + 1] = -8.0f * st_hsum8(_mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_add_epi32(i0, i1),\n"
				   "\t\t\t\t\t\t\t\t\t\t\t  _mm256_add_epi32(i2, i3))));\n");
	/* packs interleave by 128-bit lane; the permutation puts the
	 * 32 bytes back in order. */
	st_text_add(&e->t,
		    "\t\ti0 = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));\n"
		    "\t\t_mm256_storeu_si256((__m256i *)(qa + b * 32),\n"
		    "\t\t\t\t    _mm256_permutevar8x32_epi32(i0, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));\n"
		    "\t}\n}\n"
		    "/* One block's nibbles against 32 int8: eight int32 partial sums. */\n"
		    "static inline __m256i st_qblock_i8(const uint8_t *nib, __m256i x)\n{\n"
		    "\tconst __m256i bytes = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)nib));\n"
		    "\tconst __m256i q = _mm256_and_si256(_mm256_srlv_epi64(bytes, _mm256_set_epi64x(4, 4, 0, 0)),\n"
		    "\t\t\t\t\t   _mm256_set1_epi8(0x0f));\n"
		    "\treturn ST_DOT(q, x);\n}\n");
	/* st_scale(): (d·da, offset term) of one block, from its f16 scale(s)
	 * and the row of a's ds pair. */
	if (q41)
		st_text_add(&e->t, "static inline __m128 st_scale(const uint8_t *p, const float *ds)\n{\n"
				   "\tint32_t dm;\n\tdouble f;\n\tmemcpy(&dm, p, 4), memcpy(&f, ds, 8);\n"
				   "\treturn _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(dm)), _mm_castpd_ps(_mm_set_sd(f)));\n"
				   "}\n#define ST_OFFSET(e, dm, ds) _mm_add_ps((e), (dm))\n#define ST_OFFSET_LANE 1\n");
	else
		st_text_add(&e->t, "static inline __m128 st_scale(const uint8_t *p, const float *ds)\n{\n"
				   "\tuint16_t d;\n\tmemcpy(&d, p, 2);\n"
				   "\treturn _mm_mul_ss(_mm_cvtph_ps(_mm_cvtsi32_si128(d)), _mm_load_ss(ds));\n"
				   "}\n#define ST_OFFSET(e, dm, ds) _mm_add_ss((e), _mm_mul_ss((dm), _mm_load_ss((ds) + 1)))\n"
				   "#define ST_OFFSET_LANE 0\n");
	st_text_add(&e->t,
		    "static inline float st_qdot_i8(const uint8_t *p, const int8_t *qa, const float *ds, int64_t K)\n{\n"
		    "\t__m256 acc = _mm256_setzero_ps();\n\t__m128 e = _mm_setzero_ps();\n"
		    "\tfor (int64_t b = 0; b < K / 32; b++, p += %d) {\n"
		    "\t\tconst __m256i s = st_qblock_i8(p + %d, _mm256_loadu_si256((const __m256i *)(qa + b * 32)));\n"
		    "\t\tconst __m128 dm = st_scale(p, ds + 2 * b);\n"
		    "\t\tacc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_broadcastss_ps(dm), acc);\n"
		    "\t\te = ST_OFFSET(e, dm, ds + 2 * b);\n"
		    "\t}\n"
		    "\treturn st_hsum8(acc) + e[ST_OFFSET_LANE];\n}\n"
		    "/* Four rows of b against one of a: each block of a loaded once, four\n"
		    " * streams of b in flight. */\n"
		    "static inline void st_qdot4_i8(const uint8_t *p, int64_t rb, const int8_t *qa, const float *ds, int64_t K,\n"
		    "\t\t\t       float out[4])\n{\n"
		    "\t__m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };\n"
		    "\t__m128 e[4] = { _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps() };\n"
		    "\tfor (int64_t b = 0; b < K / 32; b++) {\n"
		    "\t\tconst __m256i x = _mm256_loadu_si256((const __m256i *)(qa + b * 32));\n"
		    "\t\tfor (int r = 0; r < 4; r++) {\n"
		    "\t\t\tconst uint8_t *blk = p + r * rb + b * %d;\n"
		    "\t\t\tconst __m256i s = st_qblock_i8(blk + %d, x);\n"
		    "\t\t\tconst __m128 dm = st_scale(blk, ds + 2 * b);\n"
		    "\t\t\tacc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_broadcastss_ps(dm), acc[r]);\n"
		    "\t\t\te[r] = ST_OFFSET(e[r], dm, ds + 2 * b);\n"
		    "\t\t}\n\t}\n"
		    "\tfor (int r = 0; r < 4; r++)\n\t\tout[r] = st_hsum8(acc[r]) + e[r][ST_OFFSET_LANE];\n}\n"
		    "#endif\n\n",
		    q41 ? 20 : 18, q41 ? 4 : 2, q41 ? 20 : 18, q41 ? 4 : 2);
}

/*
 * st_unpack(): row @p of b, K elements, widened into @w.  With AVX2 (and
 * F16C for f16) the unpacking is written with intrinsics, eight elements
 * at a time: compilers do not vectorize half-precision conversion or the
 * nibble shuffles of the block formats on their own.  The plain C after
 * #else is the reference layout (ggml's) and the fallback.
 */
void st_emit_unpack(struct emitter *e, enum strata_dtype t)
{
	st_text_add(&e->t, "#if defined(__AVX2__) && defined(__F16C__)\n#include <immintrin.h>\n#define ST_SIMD 1\n#endif\n"
			   "static inline void st_unpack(const uint8_t *p, float *w, int64_t K)\n{\n");
	switch (t) {
	case STRATA_DTYPE_F32: st_text_add(&e->t, "\tmemcpy(w, p, (size_t)K * 4);\n"); break;
	case STRATA_DTYPE_F16:
		st_text_add(&e->t, "\tint64_t k = 0;\n"
				   "#ifdef ST_SIMD\n"
				   "\tfor (; k + 8 <= K; k += 8)\n"
				   "\t\t_mm256_storeu_ps(w + k, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 2 * k))));\n"
				   "#endif\n"
				   "\tfor (; k < K; k++)\n\t\tw[k] = st_half_at(p + 2 * k);\n");
		break;
	case STRATA_DTYPE_BF16:
		st_text_add(&e->t, "\tfor (int64_t k = 0; k < K; k++) {\n\t\tuint16_t h;\n\t\tmemcpy(&h, p + 2 * k, 2);\n"
				   "\t\tw[k] = st_bf16(h);\n\t}\n");
		break;
	case STRATA_DTYPE_Q8_0:
		st_text_add(&e->t, "\tfor (int64_t b = 0; b < K / 32; b++, p += 34, w += 32) {\n"
				   "\t\tconst float d = st_half_at(p);\n"
				   "#ifdef ST_SIMD\n"
				   "\t\tconst __m256 dv = _mm256_set1_ps(d);\n"
				   "\t\tfor (int j = 0; j < 32; j += 8)\n"
				   "\t\t\t_mm256_storeu_ps(w + j, _mm256_mul_ps(dv, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(\n"
				   "\t\t\t\t_mm_loadl_epi64((const __m128i *)(p + 2 + j))))));\n"
				   "#else\n"
				   "\t\tfor (int j = 0; j < 32; j++)\n\t\t\tw[j] = (float)(int8_t)p[2 + j] * d;\n"
				   "#endif\n\t}\n");
		break;
	default: /* Q4_0, Q4_1 */
		st_text_add(&e->t,
			    "\tfor (int64_t b = 0; b < K / 32; b++, p += %d, w += 32) {\n"
			    "\t\tconst float d = st_half_at(p), m = %s;\n\t\tconst uint8_t *q = p + %d;\n"
			    "#ifdef ST_SIMD\n"
			    "\t\tconst __m256 dv = _mm256_set1_ps(d), mv = _mm256_set1_ps(m);\n"
			    "\t\tconst __m128i bytes = _mm_loadu_si128((const __m128i *)q), low = _mm_set1_epi8(0x0f);\n"
			    "\t\tconst __m128i lo = _mm_and_si128(bytes, low), hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), low);\n"
			    "\t\t_mm256_storeu_ps(w, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo)), dv, mv));\n"
			    "\t\t_mm256_storeu_ps(w + 8, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8))), dv, mv));\n"
			    "\t\t_mm256_storeu_ps(w + 16, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi)), dv, mv));\n"
			    "\t\t_mm256_storeu_ps(w + 24, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8))), dv, mv));\n"
			    "#else\n"
			    "\t\tfor (int j = 0; j < 16; j++) {\n"
			    "\t\t\tw[j] = (float)(q[j] & 0x0f) * d + m;\n\t\t\tw[j + 16] = (float)(q[j] >> 4) * d + m;\n"
			    "\t\t}\n"
			    "#endif\n\t}\n",
			    t == STRATA_DTYPE_Q4_1 ? 20 : 18, t == STRATA_DTYPE_Q4_1 ? "st_half_at(p + 2)" : "-8.0f * d",
			    t == STRATA_DTYPE_Q4_1 ? 4 : 2);
	}
	st_text_add(&e->t, "}\n\n");
}

/* st_unpack() and the dot products over blocks that decode uses. */
static void emit_unpack(struct emitter *e, enum strata_dtype t)
{
	st_emit_unpack(e, t);
	if (t == STRATA_DTYPE_Q4_0 || t == STRATA_DTYPE_Q4_1 || t == STRATA_DTYPE_Q8_0)
		emit_block_dot(e, t);
	if (t == STRATA_DTYPE_Q4_0 || t == STRATA_DTYPE_Q4_1)
		emit_int8_dot(e, t);
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

/*
 * Dot-product micro-kernels on GCC/Clang vector types (64-byte vectors
 * where AVX-512 is there, else 32: the compiler picks the instructions of
 * the CPU it builds for).  st_dot4x4 keeps sixteen vector accumulators: four
 * rows of a against four rows of b, each load used four times.
 */
static void emit_dot_kernels(struct emitter *e)
{
	st_text_add(&e->t,
		    "#if defined(__AVX512F__)\n#define VB 64\n#else\n#define VB 32\n#endif\n"
		    "typedef float vf __attribute__((vector_size(VB), aligned(4)));\n"
		    "#define VL (VB / 4)\n"
		    "static inline vf st_load(const float *p) { return *(const vf *)p; }\n"
		    "typedef float v4 __attribute__((vector_size(16)));\n"
		    "/* Halve the vector until four lanes are left: log steps, not VL adds. */\n"
		    "static inline float st_hsum(vf v)\n{\n\tv4 q;\n"
		    "#if VB == 64\n"
		    "\ttypedef float v8 __attribute__((vector_size(32)));\n"
		    "\tv8 lo8, hi8, s8;\n"
		    "\tmemcpy(&lo8, &v, 32), memcpy(&hi8, (char *)&v + 32, 32);\n"
		    "\ts8 = lo8 + hi8;\n"
		    "\tv4 lo, hi;\n\tmemcpy(&lo, &s8, 16), memcpy(&hi, (char *)&s8 + 16, 16);\n"
		    "\tq = lo + hi;\n"
		    "#else\n"
		    "\tv4 lo, hi;\n\tmemcpy(&lo, &v, 16), memcpy(&hi, (char *)&v + 16, 16);\n"
		    "\tq = lo + hi;\n"
		    "#endif\n"
		    "\treturn (q[0] + q[1]) + (q[2] + q[3]);\n}\n"
		    "static inline void st_dot4x4(const float *a, int64_t lda, const float *w0, const float *w1,\n"
		    "\t\t\t     const float *w2, const float *w3, int64_t K, float d[4][4])\n{\n"
		    "\tvf s[4][4];\n\tint64_t k = 0;\n"
		    "\tmemset(s, 0, sizeof(s));\n"
		    "\tfor (; k + VL <= K; k += VL) {\n"
		    "\t\tconst vf b0 = st_load(w0 + k), b1 = st_load(w1 + k), b2 = st_load(w2 + k), b3 = st_load(w3 + k);\n"
		    "\t\tfor (int i = 0; i < 4; i++) {\n"
		    "\t\t\tconst vf av = st_load(a + i * lda + k);\n"
		    "\t\t\ts[i][0] += av * b0;\n\t\t\ts[i][1] += av * b1;\n"
		    "\t\t\ts[i][2] += av * b2;\n\t\t\ts[i][3] += av * b3;\n\t\t}\n\t}\n"
		    "\tfor (int i = 0; i < 4; i++)\n\t\tfor (int j = 0; j < 4; j++)\n\t\t\td[i][j] = st_hsum(s[i][j]);\n"
		    "\tfor (; k < K; k++)\n\t\tfor (int i = 0; i < 4; i++) {\n"
		    "\t\t\td[i][0] += a[i * lda + k] * w0[k];\n\t\t\td[i][1] += a[i * lda + k] * w1[k];\n"
		    "\t\t\td[i][2] += a[i * lda + k] * w2[k];\n\t\t\td[i][3] += a[i * lda + k] * w3[k];\n\t\t}\n}\n"
		    "static inline void st_dot1x4(const float *a, const float *w0, const float *w1, const float *w2,\n"
		    "\t\t\t     const float *w3, int64_t K, float d[4])\n{\n"
		    "\tvf s0, s1, s2, s3;\n\tint64_t k = 0;\n"
		    "\tmemset(&s0, 0, sizeof(s0)), s1 = s2 = s3 = s0;\n"
		    "\tfor (; k + VL <= K; k += VL) {\n"
		    "\t\tconst vf av = st_load(a + k);\n"
		    "\t\ts0 += av * st_load(w0 + k);\n\t\ts1 += av * st_load(w1 + k);\n"
		    "\t\ts2 += av * st_load(w2 + k);\n\t\ts3 += av * st_load(w3 + k);\n\t}\n"
		    "\td[0] = st_hsum(s0), d[1] = st_hsum(s1), d[2] = st_hsum(s2), d[3] = st_hsum(s3);\n"
		    "\tfor (; k < K; k++) {\n"
		    "\t\td[0] += a[k] * w0[k];\n\t\td[1] += a[k] * w1[k];\n"
		    "\t\td[2] += a[k] * w2[k];\n\t\td[3] += a[k] * w3[k];\n\t}\n}\n"
		    "static inline float st_dot(const float *a, const float *w, int64_t K)\n{\n"
		    "\tvf s;\n\tint64_t k = 0;\n\tfloat d;\n"
		    "\tmemset(&s, 0, sizeof(s));\n"
		    "\tfor (; k + VL <= K; k += VL)\n\t\ts += st_load(a + k) * st_load(w + k);\n"
		    "\td = st_hsum(s);\n\tfor (; k < K; k++)\n\t\td += a[k] * w[k];\n\treturn d;\n}\n\n");
}

/* b transposed: four columns at a time, against four rows of a at a time. */
static void emit_trans(struct emitter *e, enum strata_dtype bt)
{
	bool f32 = bt == STRATA_DTYPE_F32;

	st_text_add(&e->t, "\t\tint64_t n = n0;\n");
	if (bt == STRATA_DTYPE_Q4_0 || bt == STRATA_DTYPE_Q4_1)
		st_text_add(&e->t, "#ifdef ST_SIMD\n"
				   "\t\tif (M < 4) {\n"
				   "\t\t\tif (bi != qbi) {\n"
				   "\t\t\t\tfor (int64_t m = 0; m < M; m++)\n"
				   "\t\t\t\t\tst_quant_row(A + m * K, K, qa[m], qs[m]);\n"
				   "\t\t\t\tqbi = bi;\n\t\t\t}\n"
				   "\t\t\tfor (; n + 4 <= n1; n += 4)\n"
				   "\t\t\t\tfor (int64_t m = 0; m < M; m++) {\n"
				   "\t\t\t\t\tfloat d[4];\n"
				   "\t\t\t\t\tst_qdot4_i8(B + n * RB, RB, qa[m], qs[m], K, d);\n"
				   "\t\t\t\t\tfor (int q = 0; q < 4; q++)\n"
				   "\t\t\t\t\t\tst_store(t, seq, bi * M + m, n + q, d[q], C + m * N + n + q);\n"
				   "\t\t\t\t}\n"
				   "\t\t\tfor (; n < n1; n++)\n"
				   "\t\t\t\tfor (int64_t m = 0; m < M; m++)\n"
				   "\t\t\t\t\tst_store(t, seq, bi * M + m, n, st_qdot_i8(B + n * RB, qa[m], qs[m], K),\n"
				   "\t\t\t\t\t\t C + m * N + n);\n"
				   "\t\t\tcontinue;\n\t\t}\n#endif\n");
	else if (bt == STRATA_DTYPE_Q8_0)
		st_text_add(&e->t, "#ifdef ST_SIMD\n"
				   "\t\tif (M < 4) {\n"
				   "\t\t\tfor (; n + 4 <= n1; n += 4)\n"
				   "\t\t\t\tfor (int64_t m = 0; m < M; m++) {\n"
				   "\t\t\t\t\tfloat d[4];\n"
				   "\t\t\t\t\tst_qdot4(B + n * RB, RB, A + m * K, K, d);\n"
				   "\t\t\t\t\tfor (int q = 0; q < 4; q++)\n"
				   "\t\t\t\t\t\tst_store(t, seq, bi * M + m, n + q, d[q], C + m * N + n + q);\n"
				   "\t\t\t\t}\n"
				   "\t\t\tfor (; n < n1; n++)\n"
				   "\t\t\t\tfor (int64_t m = 0; m < M; m++)\n"
				   "\t\t\t\t\tst_store(t, seq, bi * M + m, n, st_qdot(B + n * RB, A + m * K, K), C + m * N + n);\n"
				   "\t\t\tcontinue;\n\t\t}\n#endif\n");
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
		    "\t\t\tint64_t m = 0;\n"
		    "\t\t\tfor (; m + 4 <= M; m += 4) {\n"
		    "\t\t\t\tfloat d[4][4];\n"
		    "\t\t\t\tst_dot4x4(A + m * K, K, w0, w1, w2, w3, K, d);\n"
		    "\t\t\t\tfor (int i = 0; i < 4; i++)\n"
		    "\t\t\t\t\tfor (int q = 0; q < 4; q++)\n"
		    "\t\t\t\t\t\tst_store(t, seq, bi * M + m + i, n + q, d[i][q], C + (m + i) * N + n + q);\n"
		    "\t\t\t}\n"
		    "\t\t\tfor (; m < M; m++) {\n"
		    "\t\t\t\tfloat d[4];\n"
		    "\t\t\t\tst_dot1x4(A + m * K, w0, w1, w2, w3, K, d);\n"
		    "\t\t\t\tfor (int q = 0; q < 4; q++)\n"
		    "\t\t\t\t\tst_store(t, seq, bi * M + m, n + q, d[q], C + m * N + n + q);\n"
		    "\t\t\t}\n\t\t}\n"
		    "\t\tfor (; n < n1; n++) {\n");
	if (f32)
		st_text_add(&e->t, "\t\t\tconst float *w0 = (const float *)(B + n * RB);\n");
	else
		st_text_add(&e->t, "\t\t\tst_unpack(B + n * RB, wbuf[0], K);\n\t\t\tconst float *w0 = wbuf[0];\n");
	st_text_add(&e->t,
		    "\t\t\tfor (int64_t m = 0; m < M; m++)\n"
		    "\t\t\t\tst_store(t, seq, bi * M + m, n, st_dot(A + m * K, w0, K), C + m * N + n);\n"
		    "\t\t}\n");
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

	/* b as is is f32 (fold.c widens any other storage). */
	if (trans && b->dtype != STRATA_DTYPE_F32)
		emit_unpack(e, b->dtype);
	if (trans)
		emit_dot_kernels(e);
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
		    "%s"
		    "\tfor (int64_t it = lo; it < hi; it++) {\n"
		    "\t\tconst int64_t bi = it / nblk, n0 = (it %% nblk) * NB, n1 = n0 + NB < N ? n0 + NB : N;\n"
		    "\t\tconst float *A = (const float *)t[%d] + bi * M * K;\n"
		    "\t\tconst uint8_t *B = (const uint8_t *)t[%d] + %s;\n"
		    "\t\tfloat *C = (float *)t[0] + bi * M * N;\n",
		    m, kk, n, NB, trans ? row_bytes(b->dtype, "K", rb, sizeof(rb)) : "(N * 4)", batch,
		    trans && (b->dtype == STRATA_DTYPE_Q4_0 || b->dtype == STRATA_DTYPE_Q4_1)
			    ? "#ifdef ST_SIMD\n"
			      "\t/* a's rows as int8 blocks, made once per batch a chunk meets */\n"
			      "\tint8_t qa[4][K] __attribute__((aligned(32)));\n"
			      "\tfloat qs[4][K / 32 * 2];\n"
			      "\tint64_t qbi = -1;\n"
			      "#endif\n"
			    : "",
		    st_emit_arg_index(k, c->src[0]) + 1, st_emit_arg_index(k, c->src[1]) + 1,
		    shared ? "0" : "bi * K * N * 4");
	if (trans)
		emit_trans(e, b->dtype);
	else
		emit_plain(e);
	st_text_add(&e->t, "\t}\n\treturn 0;\n}\n");
	return 0;
}
