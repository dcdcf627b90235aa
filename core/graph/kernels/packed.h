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
 * being row r (emit_packed.c's dot product).  A group's blocks follow each
 * other.  A format is named by its block bytes @bs: 34 Q8_0, 18 Q4_0,
 * 20 Q4_1; the functions are inline so that a constant @bs folds away.
 */
#ifndef STRATA_KERNELS_PACKED_H
#define STRATA_KERNELS_PACKED_H

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

#endif /* STRATA_KERNELS_PACKED_H */
