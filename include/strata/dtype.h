/* SPDX-License-Identifier: MIT */
/*
 * strata/dtype.h — element types and the largest rank of a tensor.
 *
 * What a tensor's elements are and how they are stored, shared by the
 * model files (strata/io.h) and the graph compiler (strata/graph.h), so
 * that a program which only builds graphs need not see the I/O API.
 */
#ifndef STRATA_DTYPE_H
#define STRATA_DTYPE_H

#include <stdint.h>

#include <strata/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The most dimensions a tensor has anywhere in the API (a model's tensors,
 * raw layouts); arrays of this many sizes hold any shape strata reports.
 * The graph compiler takes fewer (strata/graph.h says how many). */
#define STRATA_MAX_DIMS 8

/* Element types.  Values are stable: they are part of the ABI. */
enum strata_dtype {
	STRATA_DTYPE_UNKNOWN = 0,
	/* Plain element types (the safetensors set). */
	STRATA_DTYPE_BOOL,
	STRATA_DTYPE_U8,
	STRATA_DTYPE_I8,
	STRATA_DTYPE_U16,
	STRATA_DTYPE_I16,
	STRATA_DTYPE_U32,
	STRATA_DTYPE_I32,
	STRATA_DTYPE_U64,
	STRATA_DTYPE_I64,
	STRATA_DTYPE_F16,
	STRATA_DTYPE_BF16,
	STRATA_DTYPE_F32,
	STRATA_DTYPE_F64,
	STRATA_DTYPE_C64,
	STRATA_DTYPE_F8_E5M2,
	STRATA_DTYPE_F8_E4M3,
	STRATA_DTYPE_F8_E8M0,
	STRATA_DTYPE_F8_E4M3FNUZ,
	STRATA_DTYPE_F8_E5M2FNUZ,
	STRATA_DTYPE_F4,
	STRATA_DTYPE_F6_E2M3,
	STRATA_DTYPE_F6_E3M2,
	/* GGML block-quantized types (GGUF). */
	STRATA_DTYPE_Q4_0,
	STRATA_DTYPE_Q4_1,
	STRATA_DTYPE_Q5_0,
	STRATA_DTYPE_Q5_1,
	STRATA_DTYPE_Q8_0,
	STRATA_DTYPE_Q8_1,
	STRATA_DTYPE_Q2_K,
	STRATA_DTYPE_Q3_K,
	STRATA_DTYPE_Q4_K,
	STRATA_DTYPE_Q5_K,
	STRATA_DTYPE_Q6_K,
	STRATA_DTYPE_Q8_K,
	STRATA_DTYPE_IQ2_XXS,
	STRATA_DTYPE_IQ2_XS,
	STRATA_DTYPE_IQ3_XXS,
	STRATA_DTYPE_IQ1_S,
	STRATA_DTYPE_IQ4_NL,
	STRATA_DTYPE_IQ3_S,
	STRATA_DTYPE_IQ2_S,
	STRATA_DTYPE_IQ4_XS,
	STRATA_DTYPE_IQ1_M,
	STRATA_DTYPE_TQ1_0,
	STRATA_DTYPE_TQ2_0,
	STRATA_DTYPE_MXFP4,
	STRATA_DTYPE_COUNT
};

/* Storage of a type: @block_elems elements take @block_bytes bytes (1 and
 * the element size for plain types; 2 and 1 for F4; 32 and 34 for Q8_0). */
struct strata_dtype_info {
	const char *name; /* "F16", "Q4_K", ... */
	uint32_t block_elems;
	uint32_t block_bytes;
};

/*
 * strata_dtype_info() - the name and storage of type @dtype.
 * @out: receives a description whose name is a static string.
 * Return: 0; -EINVAL for an unknown type or a NULL @out.
 * Thread safety: any thread.
 */
STRATA_API int strata_dtype_info(enum strata_dtype dtype, struct strata_dtype_info *out);

/*
 * strata_dtype_from_name() - look a type up by the name strata_dtype_info()
 * gives ("F16", "Q4_K"; case matters).
 * Return: 0 and *@out; -ENOENT for an unknown name; -EINVAL for NULL
 * arguments.
 * Thread safety: any thread.
 */
STRATA_API int strata_dtype_from_name(const char *name, enum strata_dtype *out);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_DTYPE_H */
