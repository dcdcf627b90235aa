/* SPDX-License-Identifier: MIT */
/*
 * core/graph/kernels/packed.h — block-quantized weights packed sixteen
 * rows to a block: the layout, packing a tile of rows, and reading a row's
 * blocks back.  Generated kernels pack and read with it (embedded as text,
 * as elementwise.h), the interpreter reads a lent weight's packed tiles
 * with it, and strata_graph_weight_lend() starts every tile as
 * SK_TILE_STORED.
 *
 * In GGUF's layout a row's blocks follow each other.  Packed, block b of
 * rows 16g … 16g + 15 is one piece of 16 × (block bytes): the 16 rows'
 * scales (f16, then Q4_1's minimums), then the quants a 32-bit word per
 * row, word j of every row next to each other:
 *
 *   Q4_1  d[16] m[16] | q[4][16] (bytes 4j … 4j + 3 of each row's 16)  320 bytes
 *   Q4_0  d[16]       | q[4][16]                                         288
 *   Q8_0  d[16]       | q[8][16] (made unsigned: q + 128, as q ^ 0x80)  544
 *
 * so that a 512-bit load holds four weights of each of 16 rows, lane r
 * being row r (sk_pdot16 below).  A group's blocks follow each other, so
 * a tile of rows is one stream.  A format is named by its block bytes @bs: 34 Q8_0, 18 Q4_0,
 * 20 Q4_1; the functions are inline so that a constant @bs folds away.
 */
#ifndef STRATA_KERNELS_PACKED_H
#define STRATA_KERNELS_PACKED_H

/* In a generated kernel these come pasted before this file; compiled as
 * itself (the library, the tests) it includes them. */
#ifndef STRATA_KERNELS_FORMAT_H
#include "core/graph/kernels/format.h"
#endif
#ifndef STRATA_KERNELS_UNPACK_H
#include "core/graph/kernels/unpack.h"
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SK_GROUP_ROWS 16 /* rows packed side by side */
#define SK_TILE_ROWS 32 /* rows packed at once, with one state */

/* The state of a tile of SK_TILE_ROWS rows, a uint32_t read and written
 * atomically: packing happens once, by the first reader to claim it. */
enum sk_tile_state {
	SK_TILE_STORED = 0, /* in the stored layout */
	SK_TILE_PACKING = 1, /* being packed: wait */
	SK_TILE_PACKED = 2, /* in the packed layout */
};

/* Where a row's block keeps its quants (after d, and Q4_1's m). */
static inline int sk_quant_offset(int bs) { return bs == 20 ? 4 : 2; }

/* Block @b of group @g (16 rows at @B, @nb blocks a row) packed into @o. */
static inline void sk_pack_group_block(const uint8_t *B, uint8_t *o, int64_t g, int64_t b, int64_t nb, int bs)
{
	const int qoff = sk_quant_offset(bs);

	for (int r = 0; r < SK_GROUP_ROWS; r++) {
		const uint8_t *s = B + ((g * SK_GROUP_ROWS + r) * nb + b) * bs;

		memcpy(o + 2 * r, s, 2);
		if (bs == 20)
			memcpy(o + 32 + 2 * r, s + 2, 2);
		if (bs == 34)
			for (int j = 0; j < 32; j++)
				o[32 + 64 * (j / 4) + 4 * r + j % 4] = s[2 + j] ^ 0x80;
		else
			for (int j = 0; j < 4; j++)
				memcpy(o + qoff * 16 + 64 * j + 4 * r, s + qoff + 4 * j, 4);
	}
}

/* Rows @n0 … @n1 - 1 (whole groups) of @B, rows of @K elements, packed into
 * @P a group at a time through a buffer: a group's rows take the bytes its
 * packed form does, so @P may be @B itself (a lent weight).
 * Return: 0; -12 (-ENOMEM). */
static inline int sk_pack_tile(const uint8_t *B, uint8_t *P, int64_t n0, int64_t n1, int64_t K, int bs)
{
	const int64_t nb = K / 32, gb = (int64_t)SK_GROUP_ROWS * bs;
	uint8_t *tmp = (uint8_t *)malloc((size_t)(nb * gb));

	if (!tmp)
		return -12;
	for (int64_t g = n0 / SK_GROUP_ROWS; g < n1 / SK_GROUP_ROWS; g++) {
		for (int64_t b = 0; b < nb; b++)
			sk_pack_group_block(B, tmp + b * gb, g, b, nb, bs);
		memcpy(P + g * nb * gb, tmp, (size_t)(nb * gb));
	}
	free(tmp);
	return 0;
}

/* Whether row @n's tile is packed. */
static inline bool sk_tile_packed(const uint32_t *state, int64_t n)
{
	return __atomic_load_n(&state[n / SK_TILE_ROWS], __ATOMIC_ACQUIRE) == SK_TILE_PACKED;
}

/* Tile @tile (rows @n0 … @n1 - 1) packed once: the first caller to meet it
 * packs it, any other waits (a batch meets the same tile in several
 * chunks; a lent weight's tiles are shared by its graph's programs).
 * Return: 0; -12 when packing could not allocate (the tile stays stored). */
static inline int sk_ensure_packed(const uint8_t *B, uint8_t *P, uint32_t *state, int64_t tile, int64_t n0,
				   int64_t n1, int64_t K, int bs)
{
	for (;;) {
		uint32_t s = __atomic_load_n(&state[tile], __ATOMIC_ACQUIRE);

		if (s == SK_TILE_PACKED)
			return 0;
		if (s == SK_TILE_STORED && __atomic_compare_exchange_n(&state[tile], &s, SK_TILE_PACKING, 0,
								       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			const int err = sk_pack_tile(B, P, n0, n1, K, bs);

			__atomic_store_n(&state[tile], err ? SK_TILE_STORED : SK_TILE_PACKED, __ATOMIC_RELEASE);
			return err;
		}
	}
}

/* Block @b of row @n put back together from packed @P, as stored: @bs
 * bytes into @blk. */
static inline void sk_packed_block(const uint8_t *P, int64_t n, int64_t b, int64_t K, int bs, uint8_t *blk)
{
	const int64_t nb = K / 32, r = n % SK_GROUP_ROWS;
	const int qoff = sk_quant_offset(bs);
	const uint8_t *g = P + ((n / SK_GROUP_ROWS) * nb + b) * SK_GROUP_ROWS * bs;

	memcpy(blk, g + 2 * r, 2);
	if (bs == 20)
		memcpy(blk + 2, g + 32 + 2 * r, 2);
	for (int j = 0; j < (bs == 34 ? 8 : 4); j++) {
		uint32_t v;

		memcpy(&v, g + qoff * 16 + 64 * j + 4 * r, 4);
		if (bs == 34)
			v ^= 0x80808080u;
		memcpy(blk + qoff + 4 * j, &v, 4);
	}
}

/* Row @n of packed @P widened (the prefill path, any CPU): each block put
 * back together and given to sk_unpack(), so the values are its own. */
SK_INLINE void sk_unpack_packed(const uint8_t *P, int64_t n, float *w, int64_t K, enum sk_fmt f)
{
	uint8_t blk[128]; /* a block is at most 34 bytes; the room of 32 f32 keeps sk_unpack's other paths in bounds */

	for (int64_t b = 0; b < K / 32; b++) {
		sk_packed_block(P, n, b, K, sk_block_bytes(f), blk);
		sk_unpack(blk, w + 32 * b, 32, f);
	}
}

/*
 * Decode on packed rows, AVX-512 VNNI: a 512-bit load holds four weights
 * of each of 16 rows, lane r being row r, so the multiply-adds need no
 * horizontal step, a's values come broadcast from memory, and one
 * conversion and one multiply-add per block apply the 16 rows' scales
 * (about 50 instructions for 512 weights; GGUF's layout took 19 for 64).
 *
 * a's row is cut into three 8-bit digits per value as in dot_digits.h, in
 * natural order, one array per digit.  A row's block sum must fit 31 bits
 * (the arithmetic in between wraps and comes back): 32 · 15 · 2^22 for 4
 * bits, 32 · 128 · 2^19 for Q8_0, so Q8_0's values keep 20 bits (the
 * relative rounding 2^-20 of the block's largest, below f32's own on a
 * 32-term sum). 
 */
#if SK_VNNI
/* Row @a of @K as three digit arrays x[0 … K), x[K …), x[2K …) (most
 * significant first), and per block: its scale @da, the offset term's
 * factor @so, and (Q8_0) what the unsigned weights add, @corr = 128 · Σv. */
SK_INLINE void sk_prep_packed(const float *a, int64_t K, int8_t *x, float *da, float *so, int32_t *corr, int bs)
{
	const int vmax = bs == 34 ? (1 << 19) - 1 : (1 << 22) - 1;
	const __m512i r128 = _mm512_set1_epi32(128), m255 = _mm512_set1_epi32(255);
	const __m512i hi = _mm512_set1_epi32(vmax), lo = _mm512_set1_epi32(-vmax);

	for (int64_t b = 0; b < K / 32; b++) {
		const __m512 v0 = _mm512_loadu_ps(a + b * 32), v1 = _mm512_loadu_ps(a + b * 32 + 16);
		const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
		const float s = _mm512_reduce_add_ps(_mm512_add_ps(v0, v1));
		const float d = amax / (float)vmax, inv = d > 0 ? 1.0f / d : 0.0f;
		__m512i sum = _mm512_setzero_si512();

		for (int h = 0; h < 2; h++) {
			__m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(h ? v1 : v0, _mm512_set1_ps(inv)));

			v = _mm512_min_epi32(_mm512_max_epi32(v, lo), hi);
			sum = _mm512_add_epi32(sum, v);
			const __m512i d0 = _mm512_sub_epi32(_mm512_and_si512(_mm512_add_epi32(v, r128), m255), r128);
			const __m512i w = _mm512_srai_epi32(_mm512_sub_epi32(v, d0), 8);
			const __m512i d1 = _mm512_sub_epi32(_mm512_and_si512(_mm512_add_epi32(w, r128), m255), r128);
			const __m512i d2 = _mm512_srai_epi32(_mm512_sub_epi32(w, d1), 8);

			_mm_storeu_si128((__m128i *)(x + b * 32 + h * 16), _mm512_cvtepi32_epi8(d2));
			_mm_storeu_si128((__m128i *)(x + K + b * 32 + h * 16), _mm512_cvtepi32_epi8(d1));
			_mm_storeu_si128((__m128i *)(x + 2 * K + b * 32 + h * 16), _mm512_cvtepi32_epi8(d0));
		}
		da[b] = d;
		so[b] = bs == 20 ? s : bs == 18 ? -8.0f * s : 0;
		corr[b] = bs == 34 ? 128 * _mm512_reduce_add_epi32(sum) : 0;
	}
}

/* Four bytes at @p in every 32-bit lane. */
static inline __m512i sk_bc4(const int8_t *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return _mm512_set1_epi32(v);
}

/* Rows 16g … 16g + 15 (their group at @P) dotted with a's prepared row:
 * out[16].  @digits: 3 as sk_prep_packed() makes them; 1, a row rounded
 * to 8 bits (gemm_packed.h's sk_prep_q8()). */
SK_INLINE void sk_pdot16(const uint8_t *P, const int8_t *x, const float *da, const float *so, const int32_t *corr,
			 int64_t K, float *out, int bs, int digits)
{
	const int64_t gb = (int64_t)SK_GROUP_ROWS * bs;
	const int qoff = sk_quant_offset(bs);
	__m512 acc = _mm512_setzero_ps(), e = _mm512_setzero_ps();
	const __m512i low = _mm512_set1_epi8(15);

	for (int64_t b = 0; b < K / 32; b++, P += gb) {
		const int8_t *xb = x + b * 32;
		__m512i a2 = _mm512_setzero_si512(), a1 = a2, a0 = a2;

		sk_sweep(P, 0, gb);
		if (bs == 34) {
			for (int j = 0; j < 8; j++) {
				const __m512i w = _mm512_loadu_si512(P + 32 + 64 * j);

				a2 = _mm512_dpbusd_epi32(a2, w, sk_bc4(xb + 4 * j));
				if (digits == 3) {
					a1 = _mm512_dpbusd_epi32(a1, w, sk_bc4(xb + K + 4 * j));
					a0 = _mm512_dpbusd_epi32(a0, w, sk_bc4(xb + 2 * K + 4 * j));
				}
			}
		} else {
			for (int j = 0; j < 4; j++) {
				const __m512i w = _mm512_loadu_si512(P + qoff * 16 + 64 * j);
				const __m512i wl = _mm512_and_si512(w, low), wh = _mm512_and_si512(_mm512_srli_epi16(w, 4), low);

				a2 = _mm512_dpbusd_epi32(a2, wl, sk_bc4(xb + 4 * j));
				a2 = _mm512_dpbusd_epi32(a2, wh, sk_bc4(xb + 16 + 4 * j));
				if (digits == 3) {
					a1 = _mm512_dpbusd_epi32(a1, wl, sk_bc4(xb + K + 4 * j));
					a0 = _mm512_dpbusd_epi32(a0, wl, sk_bc4(xb + 2 * K + 4 * j));
					a1 = _mm512_dpbusd_epi32(a1, wh, sk_bc4(xb + K + 16 + 4 * j));
					a0 = _mm512_dpbusd_epi32(a0, wh, sk_bc4(xb + 2 * K + 16 + 4 * j));
				}
			}
		}
		__m512i s = a2;

		if (digits == 3) {
			s = _mm512_add_epi32(_mm512_slli_epi32(s, 8), a1);
			s = _mm512_add_epi32(_mm512_slli_epi32(s, 8), a0);
		}
		const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)P));

		if (bs == 34)
			s = _mm512_sub_epi32(s, _mm512_set1_epi32(corr[b]));
		acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(d, _mm512_set1_ps(da[b])), acc);
		if (bs == 20)
			e = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(P + 32))), _mm512_set1_ps(so[b]),
					    e);
		else if (bs == 18)
			e = _mm512_fmadd_ps(d, _mm512_set1_ps(so[b]), e);
	}
	_mm512_storeu_ps(out, _mm512_add_ps(acc, e));
}
#endif /* SK_VNNI */

#endif /* STRATA_KERNELS_PACKED_H */
