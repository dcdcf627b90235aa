/* SPDX-License-Identifier: MIT */
/*
 * core/graph/kernels/gemm_block.h — the blocked loop around prefill's
 * micro-kernels: a block of columns of C, in passes over K, each pass
 * packing B's micro-panels once and sweeping A's tiles across them.  The
 * tiles are f32 (gemm_f32.h) or, with A's rows in bf16 and B a bf16
 * weight, AVX512_BF16 dot products (gemm_bf16.h).
 * (Embedded as text into generated kernels; include after gemm_bf16.h.)
 */
#ifndef STRATA_KERNELS_GEMM_BLOCK_H
#define STRATA_KERNELS_GEMM_BLOCK_H

#ifndef STRATA_KERNELS_GEMM_BF16_H
#include "core/graph/kernels/gemm_bf16.h"
#endif

#include <stdint.h>
#include <string.h>

/* What runs on C's rows once their last pass is done (a kernel's
 * epilogue): row @r, columns [n0, n0 + n) at @c, in place. */
typedef void sk_gemm_rows_fn(void *const *t, int64_t seq, int64_t r, int64_t n0, int64_t n, float *c);

/* One tile (gemm_f32.h's, or with @bf16 gemm_bf16.h's) holding @rows
 * rows, picked from a few constants so the compiler unrolls each: all
 * SK_MR, or for M's last rows a third or two. */
SK_INLINE void sk_gemm_tiles(int bf16, const float *xa, int mr, const float *bp, int64_t kc, float *c, int64_t ldc,
			     int nr, int add)
{
	const int rows = mr > 2 * SK_MR / 3 ? SK_MR : mr > SK_MR / 3 ? 2 * SK_MR / 3 : SK_MR / 3;

#if SK_BF16DOT
	if (bf16) {
		if (rows == SK_MR)
			sk_bgemm_tile(SK_MR, (const uint32_t *)xa, mr, (const uint32_t *)bp, kc, c, ldc, nr, add);
		else if (rows == 2 * SK_MR / 3)
			sk_bgemm_tile(2 * SK_MR / 3, (const uint32_t *)xa, mr, (const uint32_t *)bp, kc, c, ldc, nr, add);
		else
			sk_bgemm_tile(SK_MR / 3, (const uint32_t *)xa, mr, (const uint32_t *)bp, kc, c, ldc, nr, add);
		return;
	}
#endif
	(void)bf16;
	if (rows == SK_MR)
		sk_gemm_tile(SK_MR, xa, mr, bp, kc, c, ldc, nr, add);
	else if (rows == 2 * SK_MR / 3)
		sk_gemm_tile(2 * SK_MR / 3, xa, mr, bp, kc, c, ldc, nr, add);
	else
		sk_gemm_tile(SK_MR / 3, xa, mr, bp, kc, c, ldc, nr, add);
}

/* How sk_gemm_block() finds A. */
enum sk_a_form {
	SK_A_ROWS, /* f32 [M, K] as is: each pass packs each tile (sk_pack_a) */
	SK_A_TILED, /* f32 packed once, whole (sk_prep_f32) */
	SK_A_BF16, /* rounded to bf16 and packed once (sk_prep_bf16; SK_BF16DOT) */
};

/*
 * C = A · Bᵀ on rows [0, M) and columns [n0, n1) (C [M, N], @B the rows
 * n0 … n1 − 1 of [N, K] stored as @f: f32, f16 or bf16; all dense), A
 * found as @form says, in passes of at most @kcmax steps of K (at least
 * 32; whole groups of A's tiles); C holds the partial sums between
 * passes.  @bp holds
 * ⌈(n1 − n0) / SK_NR⌉ micro-panels of @kcmax steps (SK_A_BF16: bf16 B,
 * K even, paired, half the words); @at, SK_MR rows of @kcmax, holds
 * SK_A_ROWS's packed tile (@kcmax rounded down to whole groups).  @done (not NULL) runs on each row, numbered
 * from @r0, after its last pass.
 */
SK_INLINE void sk_gemm_block(const void *A, enum sk_a_form form, const void *B, enum sk_fmt f, float *C, int64_t M,
			     int64_t K, int64_t N, int64_t n0, int64_t n1, int64_t kcmax, float *bp, float *at,
			     sk_gemm_rows_fn *done, void *const *t, int64_t seq, int64_t r0)
{
	const int bf16 = form == SK_A_BF16;
	/* Values per group of A's packed tiles, and words (floats, or bf16
	 * pairs) a tile holds per group of each of its rows. */
	const int64_t gv = bf16 ? 32 : SK_AG, gw = 16, groups = (K + gv - 1) / gv, most = kcmax / gv * gv;
	/* Passes of equal length, not a short last one, in whole groups. */
	const int64_t passes = (K + most - 1) / most, even = ((K + passes - 1) / passes + gv - 1) / gv * gv;
	const int64_t kstep = even < most ? even : most;

	for (int64_t pc = 0; pc < K; pc += kstep) {
		const int64_t kc = K - pc < kstep ? K - pc : kstep;

		for (int64_t j = n0; j < n1; j += SK_NR) {
			const int nr = n1 - j < SK_NR ? (int)(n1 - j) : SK_NR;
			const char *rows = (const char *)B + ((j - n0) * K + pc) * sk_value_bytes(f);

			/* bf16: each pair of values is one word to move */
			if (bf16)
				sk_pack_b(rows, K / 2, SK_F32, nr, kc / 2, bp + (j - n0) * kc / 2);
			else
				sk_pack_b(rows, K, f, nr, kc, bp + (j - n0) * kc);
		}
		for (int64_t m = 0; m < M; m += SK_MR) {
			const int mr = M - m < SK_MR ? (int)(M - m) : SK_MR;
			const float *xa = at;

			/* The next tile, towards L2 while this one computes: M's rows
			 * beyond L2 come from L3, and short streams of 12 rows apart do
			 * not train the hardware's prefetcher. */
			if (form == SK_A_ROWS) {
				const float *a = (const float *)A + m * K + pc;

				for (int i = 0; m + SK_MR < M && i < SK_MR && m + SK_MR + i < M; i++)
					for (int64_t k = 0; k < kc; k += 16)
						__builtin_prefetch(a + (SK_MR + i) * K + k, 0, 2);
				sk_pack_a(a, K, mr, kc, at);
			} else {
				/* packed whole: this pass's groups of the tile, one block */
				xa = (const float *)A + m * groups * gw + pc / gv * SK_MR * gw;
				for (int64_t w = 0; m + SK_MR < M && w < SK_MR * kc / gv * gw; w += 16)
					__builtin_prefetch(xa + SK_MR * groups * gw + w, 0, 2);
			}
			for (int64_t j = n0; j < n1; j += SK_NR) {
				const int nr = n1 - j < SK_NR ? (int)(n1 - j) : SK_NR;
				float *c = C + m * N + j;
				/* bf16: the panels hold pairs, half the words */
				sk_gemm_tiles(bf16, xa, mr, bp + (j - n0) * kc / (bf16 ? 2 : 1), kc, c, N, nr, pc > 0);
			}
			for (int i = 0; done && pc + kc == K && i < mr; i++)
				done(t, seq, r0 + m + i, n0, n1 - n0, C + (m + i) * N + n0);
		}
	}
}

#endif /* STRATA_KERNELS_GEMM_BLOCK_H */
