/* SPDX-License-Identifier: MIT */
/*
 * io/dtype.c — element types: names and storage sizes.
 *
 * Plain types store one element in a whole number of bytes, except the
 * sub-byte floats (F4: two per byte; F6: four in three bytes).  GGML's
 * quantized types store blocks: 32 or 256 elements in a fixed number of
 * bytes (block layouts from ggml's type traits).
 */
#include <errno.h>
#include <string.h>

#include <strata/dtype.h>

#include "io/io_int.h"

static const struct strata_dtype_info dtypes[STRATA_DTYPE_COUNT] = {
	[STRATA_DTYPE_BOOL] = { "BOOL", 1, 1 },
	[STRATA_DTYPE_U8] = { "U8", 1, 1 },
	[STRATA_DTYPE_I8] = { "I8", 1, 1 },
	[STRATA_DTYPE_U16] = { "U16", 1, 2 },
	[STRATA_DTYPE_I16] = { "I16", 1, 2 },
	[STRATA_DTYPE_U32] = { "U32", 1, 4 },
	[STRATA_DTYPE_I32] = { "I32", 1, 4 },
	[STRATA_DTYPE_U64] = { "U64", 1, 8 },
	[STRATA_DTYPE_I64] = { "I64", 1, 8 },
	[STRATA_DTYPE_F16] = { "F16", 1, 2 },
	[STRATA_DTYPE_BF16] = { "BF16", 1, 2 },
	[STRATA_DTYPE_F32] = { "F32", 1, 4 },
	[STRATA_DTYPE_F64] = { "F64", 1, 8 },
	[STRATA_DTYPE_C64] = { "C64", 1, 8 },
	[STRATA_DTYPE_F8_E5M2] = { "F8_E5M2", 1, 1 },
	[STRATA_DTYPE_F8_E4M3] = { "F8_E4M3", 1, 1 },
	[STRATA_DTYPE_F8_E8M0] = { "F8_E8M0", 1, 1 },
	[STRATA_DTYPE_F8_E4M3FNUZ] = { "F8_E4M3FNUZ", 1, 1 },
	[STRATA_DTYPE_F8_E5M2FNUZ] = { "F8_E5M2FNUZ", 1, 1 },
	[STRATA_DTYPE_F4] = { "F4", 2, 1 },
	[STRATA_DTYPE_F6_E2M3] = { "F6_E2M3", 4, 3 },
	[STRATA_DTYPE_F6_E3M2] = { "F6_E3M2", 4, 3 },
	[STRATA_DTYPE_Q4_0] = { "Q4_0", 32, 18 },
	[STRATA_DTYPE_Q4_1] = { "Q4_1", 32, 20 },
	[STRATA_DTYPE_Q5_0] = { "Q5_0", 32, 22 },
	[STRATA_DTYPE_Q5_1] = { "Q5_1", 32, 24 },
	[STRATA_DTYPE_Q8_0] = { "Q8_0", 32, 34 },
	[STRATA_DTYPE_Q8_1] = { "Q8_1", 32, 36 },
	[STRATA_DTYPE_Q2_K] = { "Q2_K", 256, 84 },
	[STRATA_DTYPE_Q3_K] = { "Q3_K", 256, 110 },
	[STRATA_DTYPE_Q4_K] = { "Q4_K", 256, 144 },
	[STRATA_DTYPE_Q5_K] = { "Q5_K", 256, 176 },
	[STRATA_DTYPE_Q6_K] = { "Q6_K", 256, 210 },
	[STRATA_DTYPE_Q8_K] = { "Q8_K", 256, 292 },
	[STRATA_DTYPE_IQ2_XXS] = { "IQ2_XXS", 256, 66 },
	[STRATA_DTYPE_IQ2_XS] = { "IQ2_XS", 256, 74 },
	[STRATA_DTYPE_IQ3_XXS] = { "IQ3_XXS", 256, 98 },
	[STRATA_DTYPE_IQ1_S] = { "IQ1_S", 256, 50 },
	[STRATA_DTYPE_IQ4_NL] = { "IQ4_NL", 32, 18 },
	[STRATA_DTYPE_IQ3_S] = { "IQ3_S", 256, 110 },
	[STRATA_DTYPE_IQ2_S] = { "IQ2_S", 256, 82 },
	[STRATA_DTYPE_IQ4_XS] = { "IQ4_XS", 256, 136 },
	[STRATA_DTYPE_IQ1_M] = { "IQ1_M", 256, 56 },
	[STRATA_DTYPE_TQ1_0] = { "TQ1_0", 256, 54 },
	[STRATA_DTYPE_TQ2_0] = { "TQ2_0", 256, 66 },
	[STRATA_DTYPE_MXFP4] = { "MXFP4", 32, 17 },
};

/* GGML type numbers (ggml.h; gaps are removed types) to ours. */
static const enum strata_dtype ggml_types[] = {
	[0] = STRATA_DTYPE_F32,	     [1] = STRATA_DTYPE_F16,	  [2] = STRATA_DTYPE_Q4_0,    [3] = STRATA_DTYPE_Q4_1,
	[6] = STRATA_DTYPE_Q5_0,     [7] = STRATA_DTYPE_Q5_1,	  [8] = STRATA_DTYPE_Q8_0,    [9] = STRATA_DTYPE_Q8_1,
	[10] = STRATA_DTYPE_Q2_K,    [11] = STRATA_DTYPE_Q3_K,	  [12] = STRATA_DTYPE_Q4_K,   [13] = STRATA_DTYPE_Q5_K,
	[14] = STRATA_DTYPE_Q6_K,    [15] = STRATA_DTYPE_Q8_K,	  [16] = STRATA_DTYPE_IQ2_XXS, [17] = STRATA_DTYPE_IQ2_XS,
	[18] = STRATA_DTYPE_IQ3_XXS, [19] = STRATA_DTYPE_IQ1_S,	  [20] = STRATA_DTYPE_IQ4_NL, [21] = STRATA_DTYPE_IQ3_S,
	[22] = STRATA_DTYPE_IQ2_S,   [23] = STRATA_DTYPE_IQ4_XS,  [24] = STRATA_DTYPE_I8,     [25] = STRATA_DTYPE_I16,
	[26] = STRATA_DTYPE_I32,     [27] = STRATA_DTYPE_I64,	  [28] = STRATA_DTYPE_F64,    [29] = STRATA_DTYPE_IQ1_M,
	[30] = STRATA_DTYPE_BF16,    [34] = STRATA_DTYPE_TQ1_0,	  [35] = STRATA_DTYPE_TQ2_0,  [39] = STRATA_DTYPE_MXFP4,
};

int strata_dtype_info(enum strata_dtype dtype, struct strata_dtype_info *out)
{
	if ((unsigned)dtype >= STRATA_DTYPE_COUNT || !dtypes[dtype].name || !out)
		return -EINVAL;
	*out = dtypes[dtype];
	return 0;
}

int strata_dtype_from_name(const char *name, enum strata_dtype *out)
{
	unsigned i;

	if (!name || !out)
		return -EINVAL;
	for (i = 1; i < STRATA_DTYPE_COUNT; i++)
		if (strcmp(dtypes[i].name, name) == 0) {
			*out = (enum strata_dtype)i;
			return 0;
		}
	return -ENOENT;
}

enum strata_dtype st_dtype_from_ggml(uint32_t type)
{
	return type < sizeof(ggml_types) / sizeof(ggml_types[0]) ? ggml_types[type] : STRATA_DTYPE_UNKNOWN;
}

int st_dtype_bytes(enum strata_dtype dtype, const uint64_t *shape, uint32_t ndim, uint64_t *bytes)
{
	uint64_t elems = 1, blocks;
	uint32_t i;

	if ((unsigned)dtype >= STRATA_DTYPE_COUNT || !dtypes[dtype].name)
		return -EINVAL;
	for (i = 0; i < ndim; i++)
		if (__builtin_mul_overflow(elems, shape[i], &elems))
			return -EOVERFLOW;
	if (elems % dtypes[dtype].block_elems)
		return -EDOM; /* not a whole number of blocks (or bytes) */
	blocks = elems / dtypes[dtype].block_elems;
	if (__builtin_mul_overflow(blocks, (uint64_t)dtypes[dtype].block_bytes, bytes))
		return -EOVERFLOW;
	return 0;
}
