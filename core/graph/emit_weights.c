/* SPDX-License-Identifier: MIT */
/*
 * core/graph/emit_weights.c — C source that reads weights in the layout
 * they are stored in: st_unpack() widens a row of f16, bf16 or GGUF blocks
 * to f32 (prefill and the embedding), and decode's dot products work on
 * the stored rows without unpacking them: f16/bf16 converted in registers,
 * Q8_0 and 4-bit blocks against a's row cut into 8-bit digits (AVX-512
 * VNNI) or in f32 (AVX2).  Decode on weights packed sixteen rows to a
 * block is emit_packed.c's.  st_sweep() is the prefetch every decode dot
 * product uses.
 */
#include "core/graph/emit_int.h"

/*
 * Decode streams its weights from memory once, in groups of four rows
 * that lie next to each other, and the hardware prefetcher alone does not
 * keep enough of them in flight (a Q4_1 GEMV ran at 0.55 of its in-cache
 * speed).  st_sweep() prefetches the group's bytes [from, from + len)
 * ST_AHEAD bytes early: a dot product over four rows that has done a
 * fraction f of them has done f of the group's bytes, so calling it with
 * from = 4 x (the offset within a row) sweeps the weight linearly.
 */
void st_emit_sweep(struct emitter *e)
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
		    "\treturn _mm512_fmadd_ps(dot, _mm512_set1_ps(sk_half_at(p)), acc);\n}\n"
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
		    "\t\tacc = _mm256_fmadd_ps(dot, _mm256_set1_ps(sk_half_at(p)), acc);\n"
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
	if (t == STRATA_DTYPE_F32) {
		st_text_add(&e->t, "\tmemcpy(w, p, (size_t)K * 4);\n");
	} else if (t == STRATA_DTYPE_F16) {
		st_text_add(&e->t, "\tint64_t k = 0;\n"
				   "#ifdef ST_SIMD\n"
				   "\tfor (; k + 8 <= K; k += 8)\n"
				   "\t\t_mm256_storeu_ps(w + k, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 2 * k))));\n"
				   "#endif\n"
				   "\tfor (; k < K; k++)\n\t\tw[k] = sk_half_at(p + 2 * k);\n");
	} else if (t == STRATA_DTYPE_BF16) { /* the f32 is the 16 bits shifted up */
		st_text_add(&e->t, "\tint64_t k = 0;\n"
				   "#ifdef ST_SIMD\n"
				   "\tfor (; k + 8 <= K; k += 8)\n"
				   "\t\t_mm256_storeu_si256((__m256i *)(w + k), _mm256_slli_epi32(_mm256_cvtepu16_epi32(\n"
				   "\t\t\t_mm_loadu_si128((const __m128i *)(p + 2 * k))), 16));\n"
				   "#endif\n"
				   "\tfor (; k < K; k++) {\n\t\tuint16_t h;\n\t\tmemcpy(&h, p + 2 * k, 2);\n"
				   "\t\tw[k] = sk_bf16(h);\n\t}\n");
	} else if (t == STRATA_DTYPE_Q8_0) {
		st_text_add(&e->t, "\tfor (int64_t b = 0; b < K / 32; b++, p += 34, w += 32) {\n"
				   "\t\tconst float d = sk_half_at(p);\n"
				   "#ifdef ST_SIMD\n"
				   "\t\tconst __m256 dv = _mm256_set1_ps(d);\n"
				   "\t\tfor (int j = 0; j < 32; j += 8)\n"
				   "\t\t\t_mm256_storeu_ps(w + j, _mm256_mul_ps(dv, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(\n"
				   "\t\t\t\t_mm_loadl_epi64((const __m128i *)(p + 2 + j))))));\n"
				   "#else\n"
				   "\t\tfor (int j = 0; j < 32; j++)\n\t\t\tw[j] = (float)(int8_t)p[2 + j] * d;\n"
				   "#endif\n\t}\n");
	} else { /* Q4_0, Q4_1 */
		st_text_add(&e->t,
			    "\tfor (int64_t b = 0; b < K / 32; b++, p += %d, w += 32) {\n"
			    "\t\tconst float d = sk_half_at(p), m = %s;\n\t\tconst uint8_t *q = p + %d;\n"
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
			    t == STRATA_DTYPE_Q4_1 ? 20 : 18, t == STRATA_DTYPE_Q4_1 ? "sk_half_at(p + 2)" : "-8.0f * d",
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
		    f16 ? "sk_half(h)" : "sk_bf16(h)", f16 ? "sk_half(h)" : "sk_bf16(h)");
}

void st_emit_stored_dots(struct emitter *e, enum strata_dtype t)
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
