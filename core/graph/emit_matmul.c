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
 * Decode streams its weights from memory once, in groups of four rows
 * that lie next to each other, and the hardware prefetcher alone does not
 * keep enough of them in flight (a Q4_1 GEMV ran at 0.55 of its in-cache
 * speed).  st_sweep() prefetches the group's bytes [from, from + len)
 * ST_AHEAD bytes early: a dot product over four rows that has done a
 * fraction f of them has done f of the group's bytes, so calling it with
 * from = 4 x (the offset within a row) sweeps the weight linearly.
 */
static void emit_sweep(struct emitter *e)
{
	st_text_add(&e->t, "#define ST_AHEAD 8192\n"
			   "static inline void st_sweep(const void *p, int64_t from, int64_t len)\n{\n"
			   "\tconst char *s = (const char *)p + from + ST_AHEAD;\n"
			   "\tfor (uintptr_t l = (uintptr_t)s & ~(uintptr_t)63; l < (uintptr_t)(s + len); l += 64)\n"
			   "\t\t__builtin_prefetch((const void *)l, 0, 3);\n}\n");
}

/*
 * Q8_0 decode: st_qdot() dots one row of a with one row of b without
 * unpacking it to memory (per block d·Σ q·a); st_qdot4() takes four rows
 * of b at once.  Used when a has few rows, where an unpacked row of b
 * would be read once.
 */
static void emit_q8_dot(struct emitter *e)
{
	/* AVX-512: a block is two 16-lane vectors; blocks in pairs with
	 * separate accumulators, so the FMA chains do not bound the loop. */
	st_text_add(&e->t,
		    "#if defined(ST_SIMD) && defined(__AVX512F__)\n"
		    "static inline __m512 st_q8block(const uint8_t *p, const float *a, __m512 acc)\n{\n"
		    "\tconst __m512 q0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 2))));\n"
		    "\tconst __m512 q1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 18))));\n"
		    "\tconst __m512 dot = _mm512_fmadd_ps(q1, _mm512_loadu_ps(a + 16), _mm512_mul_ps(q0, _mm512_loadu_ps(a)));\n"
		    "\treturn _mm512_fmadd_ps(dot, _mm512_set1_ps(st_half_at(p)), acc);\n}\n"
		    "static inline float st_qdot(const uint8_t *p, const float *a, int64_t K)\n{\n"
		    "\t__m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();\n"
		    "\tint64_t b = 0;\n"
		    "\tfor (; b + 2 <= K / 32; b += 2) {\n"
		    "\t\tacc0 = st_q8block(p + b * 34, a + b * 32, acc0);\n"
		    "\t\tacc1 = st_q8block(p + (b + 1) * 34, a + (b + 1) * 32, acc1);\n"
		    "\t}\n"
		    "\tif (b < K / 32)\n\t\tacc0 = st_q8block(p + b * 34, a + b * 32, acc0);\n"
		    "\treturn _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));\n}\n"
		    "/* Four rows of b at once: four streams from memory in flight. */\n"
		    "static inline void st_qdot4(const uint8_t *p, int64_t rb, const float *a, int64_t K, float d[4])\n{\n"
		    "\t__m512 acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;\n"
		    "\tfor (int64_t b = 0; b < K / 32; b++) {\n"
		    "\t\tst_sweep(p, 4 * b * 34, 4 * 34);\n"
		    "\t\tacc0 = st_q8block(p + b * 34, a + b * 32, acc0);\n"
		    "\t\tacc1 = st_q8block(p + rb + b * 34, a + b * 32, acc1);\n"
		    "\t\tacc2 = st_q8block(p + 2 * rb + b * 34, a + b * 32, acc2);\n"
		    "\t\tacc3 = st_q8block(p + 3 * rb + b * 34, a + b * 32, acc3);\n"
		    "\t}\n"
		    "\td[0] = _mm512_reduce_add_ps(acc0), d[1] = _mm512_reduce_add_ps(acc1);\n"
		    "\td[2] = _mm512_reduce_add_ps(acc2), d[3] = _mm512_reduce_add_ps(acc3);\n"
		    "}\n#elif defined(ST_SIMD)\n"
		    /* AVX2: four 8-lane vectors a block. */
		    "static inline float st_qdot(const uint8_t *p, const float *a, int64_t K)\n{\n"
		    "\t__m256 acc = _mm256_setzero_ps();\n"
		    "\tfor (int64_t b = 0; b < K / 32; b++, p += 34, a += 32) {\n"
		    "\t\t__m256 dot = _mm256_setzero_ps();\n"
		    "\t\tfor (int k = 0; k < 4; k++)\n"
		    "\t\t\tdot = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(\n"
		    "\t\t\t\t(const __m128i *)(p + 2 + 8 * k)))), _mm256_loadu_ps(a + 8 * k), dot);\n"
		    "\t\tacc = _mm256_fmadd_ps(dot, _mm256_set1_ps(st_half_at(p)), acc);\n"
		    "\t}\n"
		    "\treturn st_sum8(acc);\n}\n"
		    "static inline void st_qdot4(const uint8_t *p, int64_t rb, const float *a, int64_t K, float d[4])\n{\n"
		    "\tfor (int q = 0; q < 4; q++)\n\t\td[q] = st_qdot(p + q * rb, a, K);\n}\n#endif\n\n");
}

/*
 * Decode with block formats on AVX-512 VNNI, exact to f32 rounding.  Each
 * block of the row of a is scaled to 23-bit integers (22 bits and sign;
 * 21 bits for Q8_0, whose weights are wider) and written as three signed
 * 8-bit digits, so that a block's dot product
 * with the nibbles is three integer multiply-add instructions (64 products
 * each, two blocks at a time), chained by 8-bit shifts, and exact: the
 * only rounding is a's to 2^-22 of its block's largest value, below f32's
 * own on such sums.  Two blocks share a 512-bit register, their nibbles
 * low then high: the digits are laid out per pair in that order (b's low
 * 16, b+1's low 16, b's high 16, b+1's high 16).  An odd last block pairs
 * with nothing: its partner's loads are masked off.
 */
static void emit_digit_dot(struct emitter *e, enum strata_dtype t)
{
	bool q41 = t == STRATA_DTYPE_Q4_1, q8 = t == STRATA_DTYPE_Q8_0;
	int bs = q8 ? 34 : q41 ? 20 : 18, qoff = q41 ? 4 : 2;
	/* Where element j of block b goes within its pair's 64 bytes: nibble
	 * order for 4 bits (low halves, then high), plain order for Q8_0. */
	const char *base = q8 ? "(b & 1) * 32" : "(b & 1) * 16", *half = q8 ? "16" : "32";
	/* The offset term's factor: Q4_1 m·Σa; Q4_0 d·(−8Σa); Q8_0, whose
	 * signed weights pass as unsigned (w + 128), d·(−128·da·Σv). */
	const char *g = q8 ? "-128.0f * da * (float)_mm512_reduce_add_epi32(_mm512_add_epi32(sv[0], sv[1]))"
			   : q41 ? "s" : "-8.0f * s";

	st_text_add(&e->t,
		    "#if defined(ST_SIMD) && defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)\n"
		    "#define ST_DIGITS 1\n"
		    /* The largest |value|: a lane sums four products of it with
		     * weights up to 15 (nibbles) or 255 (Q8_0 made unsigned), and
		     * must fit 31 bits. */
		    "#define ST_VMAX %d\n"
		    "typedef int8_t st_qa_t;\n#define ST_QA_LEN(K) (((K) + 32) * 3)\n"
		    "static inline void st_prep_row(const float *a, int64_t K, int8_t *xd, float *ds)\n{\n"
		    "\tconst __m512i r128 = _mm512_set1_epi32(128), m255 = _mm512_set1_epi32(255);\n"
		    "\tconst __m512i hi = _mm512_set1_epi32(ST_VMAX), lo = _mm512_set1_epi32(-ST_VMAX);\n"
		    "\tif (K / 32 & 1) /* the odd block's partner: zero digits */\n"
		    "\t\tmemset(xd + (K / 32 - 1) * 96, 0, 192);\n"
		    "\tfor (int64_t b = 0; b < K / 32; b++) {\n"
		    "\t\tconst __m512 v0 = _mm512_loadu_ps(a + b * 32), v1 = _mm512_loadu_ps(a + b * 32 + 16);\n"
		    "\t\tconst float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));\n"
		    "\t\tconst float s = _mm512_reduce_add_ps(_mm512_add_ps(v0, v1));\n"
		    "\t\tconst float da = amax / (float)ST_VMAX, inv = da > 0 ? 1.0f / da : 0.0f;\n"
		    "\t\tint8_t *x = xd + (b & ~(int64_t)1) * 96 + %s;\n"
		    "\t\t__m512i sv[2];\n"
		    "\t\tfor (int h = 0; h < 2; h++) {\n"
		    "\t\t\t__m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(h ? v1 : v0, _mm512_set1_ps(inv)));\n"
		    "\t\t\tv = sv[h] = _mm512_min_epi32(_mm512_max_epi32(v, lo), hi);\n"
		    "\t\t\t/* balanced base-256 digits, each in [-128, 127] */\n"
		    "\t\t\tconst __m512i d0 = _mm512_sub_epi32(_mm512_and_si512(_mm512_add_epi32(v, r128), m255), r128);\n"
		    "\t\t\tconst __m512i w = _mm512_srai_epi32(_mm512_sub_epi32(v, d0), 8);\n"
		    "\t\t\tconst __m512i d1 = _mm512_sub_epi32(_mm512_and_si512(_mm512_add_epi32(w, r128), m255), r128);\n"
		    "\t\t\tconst __m512i d2 = _mm512_srai_epi32(_mm512_sub_epi32(w, d1), 8);\n"
		    "\t\t\t_mm_storeu_si128((__m128i *)(x + h * %s), _mm512_cvtepi32_epi8(d2));\n"
		    "\t\t\t_mm_storeu_si128((__m128i *)(x + h * %s + 64), _mm512_cvtepi32_epi8(d1));\n"
		    "\t\t\t_mm_storeu_si128((__m128i *)(x + h * %s + 128), _mm512_cvtepi32_epi8(d0));\n"
		    "\t\t}\n"
		    "\t\tds[2 * b] = da, ds[2 * b + 1] = %s;\n"
		    "\t\t(void)s, (void)sv;\n"
		    "\t}\n}\n",
		    q8 ? (1 << 20) - 1 : (1 << 22) - 1, base, half, half, half, g);
	/* One pair of blocks of one row of b: the pair's scales (raw: d, and
	 * m for Q4_1, of both blocks as f32) and its 32 nibble bytes. */
	st_text_add(&e->t,
		    "static inline void st_qpair(const uint8_t *blk, int two, __m512i x2, __m512i x1, __m512i x0,\n"
		    "\t\t\t    __m128 f, __m128 g, __m512 *acc, __m128 *e)\n{\n");
	if (q8)
		st_text_add(&e->t,
			    "\tconst __m512i sel = _mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0);\n"
			    "\tconst __m512i q = _mm512_xor_si512(_mm512_inserti64x4(\n"
			    "\t\t_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(blk + 2))),\n"
			    "\t\t_mm256_maskz_loadu_epi8(two ? 0xffffffffu : 0, blk + 36), 1), _mm512_set1_epi8(-128));\n");
	else
		st_text_add(&e->t,
			    "\tconst __m512i sel = _mm512_set_epi32(2, 2, 2, 2, 0, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0);\n"
			    "\tconst __m256i both = _mm256_inserti128_si256(\n"
			    "\t\t_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(blk + %d))),\n"
			    "\t\t_mm_maskz_loadu_epi8(two ? 0xffff : 0, blk + %d + %d), 1);\n"
			    "\tconst __m512i q = _mm512_and_si512(_mm512_srlv_epi64(_mm512_broadcast_i64x4(both),\n"
			    "\t\t_mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0)), _mm512_set1_epi8(15));\n",
			    qoff, bs, qoff);
	st_text_add(&e->t, "\t__m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, x2);\n"
			   "\ts = _mm512_dpbusd_epi32(_mm512_slli_epi32(s, 8), q, x1);\n"
			   "\ts = _mm512_dpbusd_epi32(_mm512_slli_epi32(s, 8), q, x0);\n");
	if (q41)
		st_text_add(&e->t, "\tint32_t w0, w1 = 0;\n\tmemcpy(&w0, blk, 4);\n\tif (two)\n\t\tmemcpy(&w1, blk + 20, 4);\n"
				   "\tconst __m128 raw = _mm_cvtph_ps(_mm_set_epi32(0, 0, w1, w0));\n"
				   "\tconst __m128 dm = _mm_mul_ps(raw, f);\n"
				   "\t(void)g;\n\t*e = _mm_add_ps(*e, dm);\n");
	else
		st_text_add(&e->t, "\tuint16_t w0, w1 = 0;\n\tmemcpy(&w0, blk, 2);\n\tif (two)\n\t\tmemcpy(&w1, blk + %d, 2);\n"
				   "\tconst __m128 raw = _mm_cvtph_ps(_mm_set_epi32(0, 0, w1, w0));\n"
				   "\tconst __m128 dm = _mm_mul_ps(raw, f);\n"
				   "\t*e = _mm_fmadd_ps(raw, g, *e);\n",
			    bs);
	st_text_add(&e->t,
		    "\t*acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_permutexvar_ps(sel, _mm512_castps128_ps512(dm)), *acc);\n"
		    "}\n"
		    "/* The pair's factors from ds: f scales the integer sums, g the offset. */\n"
		    "static inline void st_factors(const float *ds, int two, __m128 *f, __m128 *g)\n{\n"
		    "\tconst __m128 v = _mm_maskz_loadu_ps(two ? 15 : 3, ds);\n"
		    "%s"
		    "}\n"
		    "static inline float st_qdot_q(const uint8_t *p, const int8_t *xd, const float *ds, int64_t K)\n{\n"
		    "\t__m512 acc = _mm512_setzero_ps();\n\t__m128 e = _mm_setzero_ps(), f, g;\n"
		    "\tfor (int64_t b = 0; b < K / 32; b += 2) {\n"
		    "\t\tconst int two = b + 1 < K / 32;\n"
		    "\t\tconst int8_t *x = xd + b * 96;\n"
		    "\t\tst_factors(ds + 2 * b, two, &f, &g);\n"
		    "\t\tst_qpair(p + b * %d, two, _mm512_loadu_si512(x), _mm512_loadu_si512(x + 64),\n"
		    "\t\t\t _mm512_loadu_si512(x + 128), f, g, &acc, &e);\n"
		    "\t}\n"
		    "\treturn _mm512_reduce_add_ps(acc) + %s;\n}\n"
		    "static inline void st_qdot4_q(const uint8_t *p, int64_t rb, const int8_t *xd, const float *ds, int64_t K,\n"
		    "\t\t\t      float out[4])\n{\n"
		    "\t__m512 acc[4] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps() };\n"
		    "\t__m128 e[4] = { _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps() }, f, g;\n"
		    "\tfor (int64_t b = 0; b < K / 32; b += 2) {\n"
		    "\t\tconst int two = b + 1 < K / 32;\n"
		    "\t\tconst int8_t *x = xd + b * 96;\n"
		    "\t\tconst __m512i x2 = _mm512_loadu_si512(x), x1 = _mm512_loadu_si512(x + 64), x0 = _mm512_loadu_si512(x + 128);\n"
		    "\t\tst_factors(ds + 2 * b, two, &f, &g);\n"
		    "\t\tst_sweep(p, 4 * b * %d, 8 * %d);\n"
		    "\t\tfor (int r = 0; r < 4; r++)\n"
		    "\t\t\tst_qpair(p + r * rb + b * %d, two, x2, x1, x0, f, g, &acc[r], &e[r]);\n"
		    "\t}\n"
		    "\tfor (int r = 0; r < 4; r++) {\n"
		    "\t\tconst __m128 er = e[r];\n\t\tout[r] = _mm512_reduce_add_ps(acc[r]) + %s;\n\t}\n}\n"
		    "#else\n#define ST_DIGITS 0\n#endif\n",
		    /* Q4_1: f = {da, Σa} per block (both used, lanes 0-3); Q4_0: f =
		     * {da, 0}, g = {−8Σa, 0}. */
		    q41 ? "\t*f = v;\n\t*g = v;\n"
			: "\t*f = _mm_mask_blend_ps(5, _mm_setzero_ps(), v);\n"
			  "\t*g = _mm_maskz_permute_ps(5, v, _MM_SHUFFLE(3, 3, 1, 1));\n",
		    bs, q41 ? "e[1] + e[3]" : "e[0] + e[2]", bs, bs, bs, q41 ? "er[1] + er[3]" : "er[0] + er[2]");
}

/*
 * Decode with 4-bit blocks, in f32 throughout (the result matches an f32
 * reference to rounding, so greedy decoding picks the same tokens).
 *
 * Port 5 (shuffles, zero-extensions, broadcasts from registers) bounds such
 * loops on Intel cores, so nibbles are widened without it: a broadcast
 * *load* puts 8 bytes of the block in every 64-bit lane (4 bytes in every
 * 32-bit lane with AVX2), a variable shift and a mask leave one nibble per
 * 32-bit lane, and a conversion makes floats.  The nibbles come out in an
 * interleaved order, so the row of a is permuted once into that order
 * (st_prep_row), with its block sums alongside for the offset term: per
 * block ds[] = {1, Σa} for Q4_1 (times m), {1, −8·Σa} for Q4_0 (times d).
 */
static void emit_nibble_dot(struct emitter *e, enum strata_dtype t)
{
	bool q41 = t == STRATA_DTYPE_Q4_1;

	emit_digit_dot(e, t);
	st_text_add(&e->t,
		    "#if defined(ST_SIMD) && !ST_DIGITS\n"
		    "typedef float st_qa_t;\n#define ST_QA_LEN(K) (K)\n"
		    "#ifdef __AVX512F__\n"
		    "/* Lane order of a 64-bit broadcast shifted by 0,0,4,4,…,28,28 (bytes\n"
		    " * 0-7 of the block, then 8-15): element numbers within the block. */\n"
		    "static const int8_t st_perm[32] = { 0, 4, 16, 20, 1, 5, 17, 21, 2, 6, 18, 22, 3, 7, 19, 23,\n"
		    "\t\t\t\t     8, 12, 24, 28, 9, 13, 25, 29, 10, 14, 26, 30, 11, 15, 27, 31 };\n"
		    "typedef __m512 st_vec;\n"
		    "#define ST_LANES 16\n"
		    "static inline st_vec st_nib(const uint8_t *p)\n{\n"
		    "\tint64_t v;\n\tmemcpy(&v, p, 8);\n"
		    "\treturn _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srlv_epi32(_mm512_set1_epi64(v),\n"
		    "\t\t_mm512_set_epi32(28, 28, 24, 24, 20, 20, 16, 16, 12, 12, 8, 8, 4, 4, 0, 0)), _mm512_set1_epi32(15)));\n"
		    "}\n"
		    "#define st_vload _mm512_loadu_ps\n#define st_vmul _mm512_mul_ps\n#define st_vfma _mm512_fmadd_ps\n"
		    "#define st_vbcast _mm512_broadcastss_ps\n#define st_vsum _mm512_reduce_add_ps\n"
		    "#define st_vzero _mm512_setzero_ps\n"
		    "#else\n"
		    "/* Lane order of a 32-bit broadcast shifted by 0, 4, …, 28 (bytes 4g…4g+3). */\n"
		    "static const int8_t st_perm[32] = { 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,\n"
		    "\t\t\t\t     8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31 };\n"
		    "typedef __m256 st_vec;\n"
		    "#define ST_LANES 8\n"
		    "static inline st_vec st_nib(const uint8_t *p)\n{\n"
		    "\tint32_t v;\n\tmemcpy(&v, p, 4);\n"
		    "\treturn _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(v),\n"
		    "\t\t_mm256_set_epi32(28, 24, 20, 16, 12, 8, 4, 0)), _mm256_set1_epi32(15)));\n"
		    "}\n"
		    "#define st_vload _mm256_loadu_ps\n#define st_vmul _mm256_mul_ps\n#define st_vfma _mm256_fmadd_ps\n"
		    "#define st_vbcast _mm256_broadcastss_ps\n#define st_vzero _mm256_setzero_ps\n#define st_vsum st_sum8\n"
		    "#endif\n"
		    "/* The row of a in nibble order, and per block {1, offset factor}. */\n"
		    "static inline void st_prep_row(const float *a, int64_t K, float *ap, float *ds)\n{\n"
		    "\tfor (int64_t b = 0; b < K / 32; b++) {\n"
		    "\t\tfloat s = 0;\n"
		    "\t\tfor (int j = 0; j < 32; j++) {\n"
		    "\t\t\tap[b * 32 + j] = a[b * 32 + st_perm[j]];\n"
		    "\t\t\ts += a[b * 32 + j];\n\t\t}\n"
		    "\t\tds[2 * b] = 1.0f, ds[2 * b + 1] = %s;\n"
		    "\t}\n}\n"
		    "/* Σ nibble · a over one block (its 16 bytes at @nib). */\n"
		    "static inline st_vec st_qblock(const uint8_t *nib, const float *ap)\n{\n"
		    "\tst_vec acc = st_vmul(st_nib(nib), st_vload(ap));\n"
		    "\tfor (int k = 1; k < 32 / ST_LANES; k++)\n"
		    "\t\tacc = st_vfma(st_nib(nib + k * ST_LANES / 2), st_vload(ap + k * ST_LANES), acc);\n"
		    "\treturn acc;\n}\n",
		    q41 ? "s" : "-8.0f * s");
	/* st_scale(): {d, offset term} of one block from its f16 scale(s). */
	if (q41)
		st_text_add(&e->t, "static inline __m128 st_scale(const uint8_t *p, const float *ds)\n{\n"
				   "\tint32_t dm;\n\tdouble f;\n\tmemcpy(&dm, p, 4), memcpy(&f, ds, 8);\n"
				   "\treturn _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(dm)), _mm_castpd_ps(_mm_set_sd(f)));\n"
				   "}\n#define ST_OFFSET(e, dm, ds) _mm_add_ps((e), (dm))\n#define ST_OFFSET_LANE 1\n");
	else
		st_text_add(&e->t, "static inline __m128 st_scale(const uint8_t *p, const float *ds)\n{\n"
				   "\tuint16_t d;\n\tmemcpy(&d, p, 2);\n\t(void)ds;\n"
				   "\treturn _mm_cvtph_ps(_mm_cvtsi32_si128(d));\n"
				   "}\n#define ST_OFFSET(e, dm, ds) _mm_add_ss((e), _mm_mul_ss((dm), _mm_load_ss((ds) + 1)))\n"
				   "#define ST_OFFSET_LANE 0\n");
	st_text_add(&e->t,
		    "static inline float st_qdot_q(const uint8_t *p, const float *ap, const float *ds, int64_t K)\n{\n"
		    "\tst_vec acc = st_vzero();\n\t__m128 e = _mm_setzero_ps();\n"
		    "\tfor (int64_t b = 0; b < K / 32; b++, p += %d) {\n"
		    "\t\tconst __m128 dm = st_scale(p, ds + 2 * b);\n"
		    "\t\tacc = st_vfma(st_qblock(p + %d, ap + b * 32), st_vbcast(dm), acc);\n"
		    "\t\te = ST_OFFSET(e, dm, ds + 2 * b);\n"
		    "\t}\n"
		    "\treturn st_vsum(acc) + e[ST_OFFSET_LANE];\n}\n"
		    "/* Four rows of b against one of a: a's block loaded once (from L1),\n"
		    " * four streams of b in flight. */\n"
		    "static inline void st_qdot4_q(const uint8_t *p, int64_t rb, const float *ap, const float *ds, int64_t K,\n"
		    "\t\t\t      float out[4])\n{\n"
		    "\tst_vec acc[4] = { st_vzero(), st_vzero(), st_vzero(), st_vzero() };\n"
		    "\t__m128 e[4] = { _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps(), _mm_setzero_ps() };\n"
		    "\tfor (int64_t b = 0; b < K / 32; b++) {\n"
		    "\t\tst_sweep(p, 4 * b * %d, 4 * %d);\n"
		    "\t\tfor (int r = 0; r < 4; r++) {\n"
		    "\t\t\tconst uint8_t *blk = p + r * rb + b * %d;\n"
		    "\t\t\tconst __m128 dm = st_scale(blk, ds + 2 * b);\n"
		    "\t\t\tacc[r] = st_vfma(st_qblock(blk + %d, ap + b * 32), st_vbcast(dm), acc[r]);\n"
		    "\t\t\te[r] = ST_OFFSET(e[r], dm, ds + 2 * b);\n"
		    "\t\t}\n\t}\n"
		    "\tfor (int r = 0; r < 4; r++)\n\t\tout[r] = st_vsum(acc[r]) + e[r][ST_OFFSET_LANE];\n}\n"
		    "#endif\n\n",
		    q41 ? 20 : 18, q41 ? 4 : 2, q41 ? 20 : 18, q41 ? 20 : 18, q41 ? 20 : 18, q41 ? 4 : 2);
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
	st_text_add(&e->t, "#if defined(__AVX2__) && defined(__F16C__)\n#include <immintrin.h>\n#define ST_SIMD 1\n"
			   "/* The sum of eight lanes, the one every AVX2 dot product ends with. */\n"
			   "static inline float st_sum8(__m256 v)\n{\n"
			   "\t__m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));\n"
			   "\tq = _mm_add_ps(q, _mm_movehl_ps(q, q));\n"
			   "\treturn _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));\n}\n"
			   "#endif\n"
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
	case STRATA_DTYPE_BF16: /* the f32 is the 16 bits shifted up */
		st_text_add(&e->t, "\tint64_t k = 0;\n"
				   "#ifdef ST_SIMD\n"
				   "\tfor (; k + 8 <= K; k += 8)\n"
				   "\t\t_mm256_storeu_si256((__m256i *)(w + k), _mm256_slli_epi32(_mm256_cvtepu16_epi32(\n"
				   "\t\t\t_mm_loadu_si128((const __m128i *)(p + 2 * k))), 16));\n"
				   "#endif\n"
				   "\tfor (; k < K; k++) {\n\t\tuint16_t h;\n\t\tmemcpy(&h, p + 2 * k, 2);\n"
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

/*
 * Decode with 16-bit weights: four rows of b converted in registers and
 * dotted with the row of a, with no unpacked copy to write and read back
 * (which would cost more than the weights' own bytes).
 */
static void emit_half_dot(struct emitter *e, enum strata_dtype t)
{
	bool f16 = t == STRATA_DTYPE_F16;

	st_text_add(&e->t,
		    "#if defined(ST_SIMD) && defined(__AVX512F__)\n"
		    "typedef __m512 st_hv;\n#define ST_HL 16\n"
		    "static inline st_hv st_hload(const uint8_t *p)\n{\n"
		    "\tconst __m256i h = _mm256_loadu_si256((const __m256i *)p);\n"
		    "\treturn %s;\n}\n"
		    "#define st_hfma _mm512_fmadd_ps\n#define st_hzero _mm512_setzero_ps\n#define st_hsum16 _mm512_reduce_add_ps\n"
		    "#define st_hloada _mm512_loadu_ps\n"
		    "#elif defined(ST_SIMD)\n"
		    "typedef __m256 st_hv;\n#define ST_HL 8\n"
		    "static inline st_hv st_hload(const uint8_t *p)\n{\n"
		    "\tconst __m128i h = _mm_loadu_si128((const __m128i *)p);\n"
		    "\treturn %s;\n}\n"
		    "#define st_hfma _mm256_fmadd_ps\n#define st_hzero _mm256_setzero_ps\n#define st_hloada _mm256_loadu_ps\n"
		    "#define st_hsum16 st_sum8\n"
		    "#endif\n"
		    "#ifdef ST_SIMD\n"
		    "static inline void st_hdot4(const uint8_t *p, int64_t rb, const float *a, int64_t K, float d[4])\n{\n"
		    "\tst_hv s0 = st_hzero(), s1 = s0, s2 = s0, s3 = s0;\n"
		    "\tint64_t k = 0;\n"
		    "\tfor (; k + ST_HL <= K; k += ST_HL) {\n"
		    "\t\tconst st_hv av = st_hloada(a + k);\n"
		    "\t\tst_sweep(p, 8 * k, 8 * ST_HL);\n"
		    "\t\ts0 = st_hfma(st_hload(p + 2 * k), av, s0);\n"
		    "\t\ts1 = st_hfma(st_hload(p + rb + 2 * k), av, s1);\n"
		    "\t\ts2 = st_hfma(st_hload(p + 2 * rb + 2 * k), av, s2);\n"
		    "\t\ts3 = st_hfma(st_hload(p + 3 * rb + 2 * k), av, s3);\n"
		    "\t}\n"
		    "\td[0] = st_hsum16(s0), d[1] = st_hsum16(s1), d[2] = st_hsum16(s2), d[3] = st_hsum16(s3);\n"
		    "\tfor (; k < K; k++)\n"
		    "\t\tfor (int r = 0; r < 4; r++) {\n"
		    "\t\t\tuint16_t h;\n\t\t\tmemcpy(&h, p + r * rb + 2 * k, 2);\n"
		    "\t\t\td[r] += %s * a[k];\n\t\t}\n"
		    "}\n"
		    "static inline float st_hdot(const uint8_t *p, const float *a, int64_t K)\n{\n"
		    "\tst_hv s = st_hzero();\n\tint64_t k = 0;\n"
		    "\tfor (; k + ST_HL <= K; k += ST_HL)\n"
		    "\t\ts = st_hfma(st_hload(p + 2 * k), st_hloada(a + k), s);\n"
		    "\tfloat d = st_hsum16(s);\n"
		    "\tfor (; k < K; k++) {\n\t\tuint16_t h;\n\t\tmemcpy(&h, p + 2 * k, 2);\n\t\td += %s * a[k];\n\t}\n"
		    "\treturn d;\n}\n#endif\n\n",
		    f16 ? "_mm512_cvtph_ps(h)" : "_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16))",
		    f16 ? "_mm256_cvtph_ps(h)" : "_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16))",
		    f16 ? "st_half(h)" : "st_bf16(h)", f16 ? "st_half(h)" : "st_bf16(h)");
}

/* st_unpack() and the dot products over blocks that decode uses. */
static void emit_unpack(struct emitter *e, enum strata_dtype t)
{
	st_emit_unpack(e, t);
	if (t == STRATA_DTYPE_F16 || t == STRATA_DTYPE_BF16)
		emit_half_dot(e, t);
	if (t == STRATA_DTYPE_Q8_0) {
		emit_digit_dot(e, t);
		emit_q8_dot(e);
	}
	if (t == STRATA_DTYPE_Q4_0 || t == STRATA_DTYPE_Q4_1)
		emit_nibble_dot(e, t);
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
		    "\t\t\t     const float *w3, int64_t K, const void *pf, float d[4])\n{\n"
		    "\tvf s0, s1, s2, s3;\n\tint64_t k = 0;\n"
		    "\tmemset(&s0, 0, sizeof(s0)), s1 = s2 = s3 = s0;\n"
		    "\tfor (; k + VL <= K; k += VL) {\n"
		    "\t\tconst vf av = st_load(a + k);\n"
		    "\t\tif (pf)\n\t\t\tst_sweep(pf, 16 * k, 16 * VL);\n"
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

/*
 * Decode (a has fewer than four rows): four rows of b at a time with
 * @dot4 (writing out[4]), the tile's last few with @dot1; the results
 * gather in res and pass through the epilogue a row at a time.  With
 * @prep, a's rows are prepared (st_prep_row) once per batch a chunk meets.
 */
static void emit_decode(struct emitter *e, bool prep, const char *dot4, const char *dot1)
{
	st_text_add(&e->t, "\t\tif (M < 4) {\n\t\t\tfloat res[4][NB];\n");
	if (prep)
		st_text_add(&e->t, "\t\t\tif (bi != qbi) {\n"
				   "\t\t\t\tfor (int64_t m = 0; m < M; m++)\n"
				   "\t\t\t\t\tst_prep_row(A + m * K, K, qa[m], qs[m]);\n"
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

/*
 * Decode on a packed weight (emit_packed.c): the tile is packed if this
 * is its first run, then on AVX-512 VNNI sixteen rows of b at a time.
 * The prefill path below widens rows of the packed copy.
 */
static void emit_packed_decode(struct emitter *e)
{
	unsigned pi = 1 + e->k->nargs;

	st_text_add(&e->t,
		    "\t\tconst uint8_t *P = (const uint8_t *)t[%u];\n"
		    "\t\t{\n\t\t\tconst int err = st_ensure_packed(B, (uint8_t *)t[%u], (uint32_t *)t[%u], it %% nblk, n0, n1, K);\n"
		    "\t\t\tif (err)\n\t\t\t\treturn err;\n\t\t}\n"
		    "#if ST_PDIGITS\n"
		    "\t\tif (M < 4) {\n\t\t\tfloat res[4][NB];\n"
		    "\t\t\tif (bi != qbi) {\n"
		    "\t\t\t\tfor (int64_t m = 0; m < M; m++)\n"
		    "\t\t\t\t\tst_prep_packed(A + m * K, K, px[m], pda[m], pso[m], pcorr[m]);\n"
		    "\t\t\t\tqbi = bi;\n\t\t\t}\n"
		    "\t\t\tfor (; n < n1; n += 16)\n"
		    "\t\t\t\tfor (int64_t m = 0; m < M; m++)\n"
		    "\t\t\t\t\tst_pdot16(P + n / 16 * (K / 32) * ST_PGB, px[m], pda[m], pso[m], pcorr[m], K,\n"
		    "\t\t\t\t\t\t  &res[m][n - n0]);\n"
		    "\t\t\tfor (int64_t m = 0; m < M; m++)\n"
		    "\t\t\t\tst_store_row(t, seq, bi * M + m, n0, n1 - n0, res[m], C + m * N + n0);\n"
		    "\t\t\tcontinue;\n\t\t}\n#endif\n",
		    pi, pi, pi + 1);
}

/* b transposed: four columns at a time, against four rows of a at a time. */
static void emit_trans(struct emitter *e, enum strata_dtype bt)
{
	bool f32 = bt == STRATA_DTYPE_F32;
	const char *unpack = "ST_ROW";
	static const char qdot4[] = "st_qdot4_q(B + n * RB, RB, qa[m], qs[m], K, out)",
			  qdot1[] = "st_qdot_q(B + n * RB, qa[m], qs[m], K)";

	st_text_add(&e->t, "\t\tint64_t n = n0;\n");
	if (e->k->packed) {
		emit_packed_decode(e);
		bt = STRATA_DTYPE_UNKNOWN; /* no other decode path */
	}
	switch (bt) {
	case STRATA_DTYPE_F32:
		emit_decode(e, false,
			    "st_dot1x4(A + m * K, (const float *)(B + n * RB), (const float *)(B + (n + 1) * RB),\n"
			    "\t\t\t\t\t\t  (const float *)(B + (n + 2) * RB), (const float *)(B + (n + 3) * RB), K,\n"
			    "\t\t\t\t\t\t  B + n * RB, out)",
			    "st_dot(A + m * K, (const float *)(B + n * RB), K)");
		break;
	case STRATA_DTYPE_F16:
	case STRATA_DTYPE_BF16:
		st_text_add(&e->t, "#ifdef ST_SIMD\n");
		emit_decode(e, false, "st_hdot4(B + n * RB, RB, A + m * K, K, out)", "st_hdot(B + n * RB, A + m * K, K)");
		st_text_add(&e->t, "#endif\n");
		break;
	case STRATA_DTYPE_Q8_0:
		st_text_add(&e->t, "#if ST_DIGITS\n");
		emit_decode(e, true, qdot4, qdot1);
		st_text_add(&e->t, "#elif defined(ST_SIMD)\n");
		emit_decode(e, false, "st_qdot4(B + n * RB, RB, A + m * K, K, out)", "st_qdot(B + n * RB, A + m * K, K)");
		st_text_add(&e->t, "#endif\n");
		break;
	case STRATA_DTYPE_Q4_0:
	case STRATA_DTYPE_Q4_1:
		st_text_add(&e->t, "#ifdef ST_SIMD\n");
		emit_decode(e, true, qdot4, qdot1);
		st_text_add(&e->t, "#endif\n");
		break;
	default: break;
	}
	if (!f32)
		st_text_add(&e->t, "\t\tfloat wbuf[4][K];\n#define ST_ROW(row, w) %s\n",
			    e->k->packed ? "st_unpack_packed(P, (row), (w), K)" : "st_unpack(B + (row) * RB, (w), K)");
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
		    "\t\t\t\tst_dot4x4(A + m * K, K, w0, w1, w2, w3, K, d);\n"
		    "\t\t\t\tfor (int i = 0; i < 4; i++)\n"
		    "\t\t\t\t\tfor (int q = 0; q < 4; q++)\n"
		    "\t\t\t\t\t\tst_store(t, seq, bi * M + m + i, n + q, d[i][q], C + (m + i) * N + n + q);\n"
		    "\t\t\t}\n"
		    "\t\t\tfor (; m < M; m++) {\n"
		    "\t\t\t\tfloat d[4];\n"
		    "\t\t\t\tst_dot1x4(A + m * K, w0, w1, w2, w3, K, NULL, d);\n"
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
	struct pad4 pa = st_emit_pad(&a->shape), pb = st_emit_pad(&b->shape);
	char batch[48], m[48], kk[48], n[48], rb[64];

	if (trans)
		emit_sweep(e);
	/* b as is is f32 (fold.c widens any other storage). */
	if (k->packed) {
		st_emit_unpack(e, b->dtype);
		st_emit_packed(e, b->dtype);
	} else if (trans && b->dtype != STRATA_DTYPE_F32) {
		emit_unpack(e, b->dtype);
	}
	if (trans)
		emit_dot_kernels(e);
	emit_store(e);
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
		    "%s"
		    "\tfor (int64_t it = lo; it < hi; it++) {\n"
		    "\t\tconst int64_t bi = it / nblk, n0 = (it %% nblk) * NB, n1 = n0 + NB < N ? n0 + NB : N;\n"
		    "\t\tconst float *A = (const float *)t[%d] + bi * M * K;\n"
		    "\t\tconst uint8_t *B = (const uint8_t *)t[%d] + %s;\n"
		    "\t\tfloat *C = (float *)t[0] + bi * M * N;\n",
		    m, kk, n, NB, trans ? row_bytes(b->dtype, "K", rb, sizeof(rb)) : "(N * 4)", batch,
		    k->packed ? "#if ST_PDIGITS\n"
				"\t/* a's rows as digits, made once per batch a chunk meets */\n"
				"\tint8_t px[4][3 * K] __attribute__((aligned(64)));\n"
				"\tfloat pda[4][K / 32], pso[4][K / 32];\n"
				"\tint32_t pcorr[4][K / 32];\n"
				"\tint64_t qbi = -1;\n"
				"#endif\n"
		    : trans && (b->dtype == STRATA_DTYPE_Q4_0 || b->dtype == STRATA_DTYPE_Q4_1 || b->dtype == STRATA_DTYPE_Q8_0)
			    ? "#if defined(ST_SIMD) && (ST_DIGITS || !ST_Q8)\n"
			      "\t/* a's rows in nibble order, made once per batch a chunk meets */\n"
			      "\tst_qa_t qa[4][ST_QA_LEN(K)] __attribute__((aligned(64)));\n"
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
